// How many receive buffers the kernel's provided-buffer ring should hold: enough for a tick's
// burst, few when idle, so an idle worker keeps few buffers' pages resident. Numbers in,
// decisions out; it touches no ring and no memory.
#pragma once

#include <cstdint>

namespace herald::broker::io {

// Owned by one loop thread. The target is a power of two in [floor, count]. A tick is busy
// when a receive ran dry or it took at least a quarter of the target.
class BufferBudget {
 public:
  // How long no tick may be busy before the target shrinks, and the least time between two
  // shrinks.
  static constexpr uint64_t kShrinkIntervalMs = 1000;

  // `count` buffers exist (a power of two); the target starts at floor_for(count).
  explicit BufferBudget(uint32_t count);

  // An eighth of the buffers, at least 16 (or all of them when there are fewer).
  [[nodiscard]] static uint32_t floor_for(uint32_t count);

  [[nodiscard]] uint32_t target() const { return target_; }
  [[nodiscard]] uint32_t floor() const { return floor_; }

  // The end of a loop tick at `now_ms` (monotonic): `taken` buffers were handed out by
  // receives since the last tick, and `starved` says a receive found the ring empty. Grows
  // the target at once, to at least double (or twice what was taken), when the tick took more
  // than half of it or starved.
  void on_tick(uint32_t taken, bool starved, uint64_t now_ms);

  // Called about once a second. When no tick was busy for kShrinkIntervalMs, nor has the
  // target shrunk in that time, shrinks it to the smallest power of two that is at least four
  // times the busiest tick since the previous call (and at least the floor). Returns whether
  // it shrank.
  bool on_trim(uint64_t now_ms);

 private:
  uint32_t count_;
  uint32_t floor_;
  uint32_t target_;
  uint32_t quiet_peak_ = 0;  // the busiest tick since the last busy one or on_trim()
  uint64_t busy_ms_ = 0;     // the last busy tick
  uint64_t shrunk_ms_ = 0;   // the last shrink
};

}  // namespace herald::broker::io
