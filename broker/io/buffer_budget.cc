// The budget's arithmetic: grow at once on a burst, shrink after a quiet second.
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

void BufferBudget::on_tick(uint32_t taken, bool starved, uint64_t now_ms) {
  if (!starved && uint64_t{taken} * 4 < target_) {
    quiet_peak_ = std::max(quiet_peak_, taken);
    return;
  }
  busy_ms_ = now_ms;
  quiet_peak_ = 0;
  if (!starved && uint64_t{taken} * 2 <= target_) return;
  // Twice what the tick took keeps the next such tick under half the ring.
  const uint64_t wanted = std::max<uint64_t>(uint64_t{target_} * 2, uint64_t{taken} * 2);
  target_ = static_cast<uint32_t>(std::min<uint64_t>(count_, std::bit_ceil(wanted)));
}

bool BufferBudget::on_trim(uint64_t now_ms) {
  // The busiest quiet tick since the last call (about a second ago): what a smaller target
  // must still hold.
  const uint32_t peak = quiet_peak_;
  quiet_peak_ = 0;
  if (target_ == floor_ || now_ms < busy_ms_ + kShrinkIntervalMs ||
      now_ms < shrunk_ms_ + kShrinkIntervalMs) {
    return false;
  }
  // Straight down to where that tick takes at most a quarter, not by halves: an idle worker
  // reaches the floor (and gives back the ring's surplus) a second after a storm, and a tick
  // like that one neither counts as busy nor grows the target again.
  const uint32_t fits = std::max(floor_, std::bit_ceil(std::max<uint32_t>(peak, 1) * 4));
  if (fits >= target_) return false;
  target_ = fits;
  shrunk_ms_ = now_ms;
  return true;
}

}  // namespace herald::broker::io
