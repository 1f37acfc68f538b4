// A token bucket for per-connection publish rates: `rate_per_s` tokens a second, holding at
// most `burst`. Clock-free (the caller passes monotonic milliseconds) so tests are exact.
// Integer arithmetic in milli-tokens: no drift, no floating point on the hot path.
#pragma once

#include <algorithm>
#include <cstdint>

namespace herald::broker::auth {

class TokenBucket {
 public:
  TokenBucket() = default;
  // Starts full. A rate of 0 means unlimited: take() always succeeds.
  TokenBucket(uint64_t rate_per_s, uint64_t burst, uint64_t now_ms)
      : rate_per_s_(rate_per_s),
        capacity_milli_(burst * 1000),
        milli_(burst * 1000),
        last_ms_(now_ms) {}

  // Takes one token if there is one.
  [[nodiscard]] bool take(uint64_t now_ms) {
    if (rate_per_s_ == 0) return true;
    if (now_ms > last_ms_) {
      // rate tokens/s = rate milli-tokens/ms. Past the time that fills the bucket the answer
      // is "full", which also keeps elapsed * rate far from wrapping.
      const uint64_t elapsed_ms = now_ms - last_ms_;
      const uint64_t fill_ms = (capacity_milli_ - milli_) / rate_per_s_ + 1;
      milli_ = elapsed_ms >= fill_ms ? capacity_milli_
                                     : std::min(capacity_milli_, milli_ + elapsed_ms * rate_per_s_);
      last_ms_ = now_ms;
    }
    if (milli_ < 1000) return false;
    milli_ -= 1000;
    return true;
  }

 private:
  uint64_t rate_per_s_ = 0;
  uint64_t capacity_milli_ = 0;
  uint64_t milli_ = 0;
  uint64_t last_ms_ = 0;
};

}  // namespace herald::broker::auth
