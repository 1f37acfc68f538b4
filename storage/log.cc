// What every log shares: epochs.
#include "storage/log.h"

#include <cstdint>
#include <random>

namespace herald::storage {

uint64_t new_epoch() {
  // std::random_device reads the OS's random source on Linux: two processes started in the
  // same millisecond still get different epochs, which a clock-seeded generator would not.
  static thread_local std::random_device device;
  for (;;) {
    uint64_t epoch = (uint64_t{device()} << 32) | device();
    if (epoch != 0) return epoch;  // 0 means "no history"
  }
}

int64_t oldest_kept_ms(int64_t now_ms, uint64_t age_ms_max) {
  if (age_ms_max > static_cast<uint64_t>(INT64_MAX)) return INT64_MIN;
  int64_t oldest = 0;
  if (__builtin_sub_overflow(now_ms, static_cast<int64_t>(age_ms_max), &oldest)) return INT64_MIN;
  return oldest;
}

}  // namespace herald::storage
