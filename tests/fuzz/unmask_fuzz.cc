// Differential fuzzing of every unmasking kernel, and of unmask() across a payload split,
// against the scalar reference (RFC 6455 §5.3). Traps on any difference or stray write.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "protocol/websocket/unmask.h"

namespace herald::protocol::websocket {
namespace {

// Input layout: key (4 bytes, wire order), offset (1), alignment (1), split (2), payload.
constexpr size_t kHeaderBytes = 8;
constexpr size_t kAlignmentsMax = 64;
constexpr size_t kGuardBytes = 64;
constexpr uint8_t kGuardByte = 0x5a;

// A payload placed `alignment` bytes past a 64-byte boundary, fenced by guard bytes.
class GuardedBuffer {
 public:
  GuardedBuffer(const uint8_t* payload, size_t size, size_t alignment)
      : storage_(2 * kAlignmentsMax + size + kGuardBytes, kGuardByte), size_(size) {
    const auto base = reinterpret_cast<uintptr_t>(storage_.data());
    start_ = (kAlignmentsMax - base % kAlignmentsMax) % kAlignmentsMax + kAlignmentsMax + alignment;
    if (size > 0) std::memcpy(data(), payload, size);
  }
  uint8_t* data() { return storage_.data() + start_; }
  // Traps unless the payload equals `expected` and every guard byte is intact.
  void check(const uint8_t* expected) const {
    if (size_ > 0 && std::memcmp(storage_.data() + start_, expected, size_) != 0) {
      __builtin_trap();
    }
    for (size_t i = 0; i < storage_.size(); ++i) {
      if ((i < start_ || i >= start_ + size_) && storage_[i] != kGuardByte) __builtin_trap();
    }
  }

 private:
  std::vector<uint8_t> storage_;
  size_t start_ = 0;
  size_t size_ = 0;
};

void check_input(const uint8_t* input, size_t input_size) {
  uint8_t header[kHeaderBytes] = {};
  if (input_size > 0) std::memcpy(header, input, std::min(input_size, kHeaderBytes));
  const uint8_t* payload = input + (input_size < kHeaderBytes ? input_size : kHeaderBytes);
  const size_t size = input_size - static_cast<size_t>(payload - input);

  uint32_t key;
  std::memcpy(&key, header, sizeof(key));
  // Values of the offset byte above 127 land past 4 GiB, where a 32-bit offset would wrap.
  const uint64_t offset = header[4] < 128 ? header[4] : (uint64_t{1} << 32) + header[4];
  const size_t alignment = header[5] % kAlignmentsMax;
  const size_t split = (size_t{header[6]} | size_t{header[7]} << 8) % (size + 1);

  // The scalar reference, itself checked against the byte-by-byte definition.
  std::vector<uint8_t> expected(payload, payload + size);
  unmask_kernel(UnmaskKernel::kScalar)(expected.data(), size, rotate_mask_key(key, offset));
  for (size_t i = 0; i < size; ++i) {
    const uint8_t key_byte = header[(offset + i) % 4];
    if (expected[i] != (payload[i] ^ key_byte)) __builtin_trap();
  }

  for (UnmaskKernel kernel : available_unmask_kernels()) {
    const UnmaskFn fn = unmask_kernel(kernel);
    GuardedBuffer whole(payload, size, alignment);
    fn(whole.data(), size, rotate_mask_key(key, offset));
    whole.check(expected.data());

    GuardedBuffer parts(payload, size, alignment);
    fn(parts.data(), split, rotate_mask_key(key, offset));
    fn(parts.data() + split, size - split, rotate_mask_key(key, offset + split));
    parts.check(expected.data());
  }

  GuardedBuffer dispatched(payload, size, alignment);
  unmask(dispatched.data(), split, key, offset);
  unmask(dispatched.data() + split, size - split, key, offset + split);
  dispatched.check(expected.data());
}

}  // namespace
}  // namespace herald::protocol::websocket

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  herald::protocol::websocket::check_input(data, size);
  return 0;
}
