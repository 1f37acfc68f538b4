// How many receive buffers the kernel's provided-buffer ring should hold: enough for a tick's
// burst, few when idle, so an idle worker keeps few buffers' pages resident. Numbers in,
// decisions out; it touches no ring and no memory.
#pragma once

#include <cstdint>

namespace herald::broker::io {

// Owned by one loop thread. The target is a power of two in [floor, count].
class BufferBudget {
 public:
  // How long a quiet spell must last before the target shrinks.
  static constexpr uint64_t kShrinkIntervalMs = 1000;

  // `count` buffers exist (a power of two); the target starts at floor_for(count).
  explicit BufferBudget(uint32_t count);

  // An eighth of the buffers, at least 16 (or all of them when there are fewer).
  [[nodiscard]] static uint32_t floor_for(uint32_t count);

  [[nodiscard]] uint32_t target() const { return target_; }
  [[nodiscard]] uint32_t floor() const { return floor_; }

  // The end of a loop tick: `taken` buffers were handed out by receives since the last tick,
  // and `starved` says a receive found the ring empty (-ENOBUFS). Grows the target, at once,
  // to at least double (or twice what was taken) when the tick took more than half of it.
  void on_tick(uint32_t taken, bool starved);

  // Called about once a second. When kShrinkIntervalMs have passed since the last decision
  // and no tick since then took a quarter of the target, shrinks it to the smallest power of
  // two that is four times the busiest tick (at most half, at least the floor). Returns
  // whether it shrank.
  bool on_trim(uint64_t now_ms);

 private:
  uint32_t count_;
  uint32_t floor_;
  uint32_t target_;
  uint32_t peak_taken_ = 0;  // the busiest tick since the last decision
  bool starved_ = false;     // a receive ran dry since the last decision
  uint64_t decided_ms_ = 0;
  bool decided_ = false;  // decided_ms_ is set
};

}  // namespace herald::broker::io
