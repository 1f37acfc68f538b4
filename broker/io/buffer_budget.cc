// The budget's arithmetic: grow fast on a burst, shrink slowly (once a quiet second).
#include "broker/io/buffer_budget.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace herald::broker::io {

BufferBudget::BufferBudget(uint32_t count)
    : count_(count), floor_(floor_for(count)), target_(floor_) {
  assert(count > 0 && std::has_single_bit(count));
}

uint32_t BufferBudget::floor_for(uint32_t count) {
  return std::min(count, std::max<uint32_t>(count / 8, 16));
}

void BufferBudget::on_tick(uint32_t taken, bool starved) {
  peak_taken_ = std::max(peak_taken_, taken);
  starved_ = starved_ || starved;
  if (!starved && uint64_t{taken} * 2 <= target_) return;
  // Twice what the tick took keeps the next such tick under half the ring.
  const uint64_t wanted = std::max<uint64_t>(uint64_t{target_} * 2, uint64_t{taken} * 2);
  target_ = static_cast<uint32_t>(std::min<uint64_t>(count_, std::bit_ceil(wanted)));
}

bool BufferBudget::on_trim(uint64_t now_ms) {
  if (!decided_) {
    decided_ = true;
    decided_ms_ = now_ms;
    return false;
  }
  if (now_ms - decided_ms_ < kShrinkIntervalMs) return false;
  const uint32_t peak = peak_taken_;
  const bool starved = starved_;
  decided_ms_ = now_ms;
  peak_taken_ = 0;
  starved_ = false;
  if (starved || uint64_t{peak} * 4 >= target_ || target_ == floor_) return false;
  // A quiet second: straight down to where the busiest tick takes a quarter, so that an idle
  // worker reaches the floor in one step and growth does not follow at once.
  const uint32_t fits = std::bit_ceil(std::max<uint32_t>(peak, 1) * 4);
  target_ = std::max(floor_, std::min(target_ / 2, fits));
  return true;
}

}  // namespace herald::broker::io
