// What every backend hands back: a Completion per operation result, and the identity packed in
// each operation's user_data (kind, generation, slot) so a completion finds the object that
// issued it and can assert it is still that object.
#pragma once

#include <time.h>

#include <cassert>
#include <cstdint>

namespace herald::broker::io {

// A completion copied out of the backend, so handlers may issue operations while a batch is
// being processed. The flag bits have io_uring's CQE values, so that backend copies them as
// they are; the others set the same bits.
struct Completion {
  static constexpr uint32_t kBufferFlag = 1u << 0;  // IORING_CQE_F_BUFFER
  static constexpr uint32_t kMoreFlag = 1u << 1;    // IORING_CQE_F_MORE
  static constexpr unsigned kBufferShift = 16;      // IORING_CQE_BUFFER_SHIFT

  uint64_t user_data = 0;
  int32_t res = 0;
  uint32_t flags = 0;

  // False on the last completion of a multishot operation (and on every single-shot one):
  // the operation is over and its owner may re-arm or release it.
  [[nodiscard]] bool more() const { return (flags & kMoreFlag) != 0; }
  [[nodiscard]] bool has_buffer() const { return (flags & kBufferFlag) != 0; }
  [[nodiscard]] uint16_t buffer_id() const {
    assert(has_buffer());
    return static_cast<uint16_t>(flags >> kBufferShift);
  }
};

// Layout-compatible with struct __kernel_timespec. Must stay valid until the completion.
struct Timespec {
  int64_t tv_sec = 0;
  long long tv_nsec = 0;
};

// CLOCK_MONOTONIC in nanoseconds: the clock of timeouts and of the loop's busy time.
inline uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000 + static_cast<uint64_t>(now.tv_nsec);
}

// An operation's identity in its user_data: 8 bits of kind (the issuer's own enum), 24 bits of
// generation (the slot's reuse count) and 32 bits of slot. Backends never interpret it.
struct OpTag {
  static constexpr uint32_t kGenerationMask = (uint32_t{1} << 24) - 1;

  uint8_t kind = 0;
  uint32_t generation = 0;
  uint32_t slot = 0;

  [[nodiscard]] constexpr uint64_t pack() const {
    return (uint64_t{kind} << 56) | (uint64_t{generation & kGenerationMask} << 32) | slot;
  }
  [[nodiscard]] static constexpr OpTag unpack(uint64_t user_data) {
    return OpTag{static_cast<uint8_t>(user_data >> 56),
                 static_cast<uint32_t>(user_data >> 32) & kGenerationMask,
                 static_cast<uint32_t>(user_data)};
  }
};

}  // namespace herald::broker::io
