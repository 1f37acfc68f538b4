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

void MessagePage::reserve(size_t messages, size_t payload_bytes) {
  messages_.reserve(messages);
  bytes_.reserve(payload_bytes);
}

void MessagePage::add(uint64_t seq, int64_t time_ms, bool binary, std::string_view payload) {
  const size_t at = bytes_.size();
  const char* before = bytes_.data();
  bytes_.insert(bytes_.end(), payload.begin(), payload.end());
  if (bytes_.data() != before) {
    // The buffer moved: point every earlier payload into the new one. Payloads lie back to
    // back in order, so their offsets are running sums of their sizes.
    size_t offset = 0;
    for (StoredMessage& message : messages_) {
      message.payload = std::string_view(bytes_.data() + offset, message.payload.size());
      offset += message.payload.size();
    }
  }
  messages_.push_back(
      StoredMessage{seq, time_ms, binary, std::string_view(bytes_.data() + at, payload.size())});
}

void MessagePage::clear() {
  messages_.clear();
  bytes_.clear();
}

}  // namespace herald::storage
