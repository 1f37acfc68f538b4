// Every unmasking kernel against a byte-at-a-time model of RFC 6455 §5.3 written from the wire
// key bytes, over lengths, alignments, mask phases and payload splits. Seeds are printed.
#include "protocol/websocket/unmask.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/test_seed.h"

namespace herald::protocol::websocket {
namespace {

constexpr size_t kAlignmentsMax = 64;
constexpr size_t kGuardBytes = 64;
constexpr uint8_t kGuardByte = 0xa5;

using WireKey = std::array<uint8_t, 4>;

uint32_t load_key(const WireKey& wire) {
  uint32_t key;
  std::memcpy(&key, wire.data(), sizeof(key));
  return key;
}

// The model: payload byte at position p is XORed with wire key byte p % 4. Deliberately
// independent of rotate_mask_key and of the uint32_t key convention.
std::vector<uint8_t> model_unmask(std::vector<uint8_t> bytes, const WireKey& wire,
                                  uint64_t offset) {
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] ^= wire[(offset + i) % 4];
  return bytes;
}

using test_support::test_seed;

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t size) {
  std::vector<uint8_t> bytes(size);
  for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(rng());
  return bytes;
}

WireKey random_key(std::mt19937_64& rng) {
  const uint32_t bits = static_cast<uint32_t>(rng());
  WireKey wire;
  std::memcpy(wire.data(), &bits, sizeof(bits));
  return wire;
}

// A buffer whose payload starts `alignment` bytes past a 64-byte boundary, fenced by guards.
class GuardedBuffer {
 public:
  GuardedBuffer(const std::vector<uint8_t>& payload, size_t alignment)
      : storage_(kAlignmentsMax + kAlignmentsMax + payload.size() + kGuardBytes, kGuardByte),
        size_(payload.size()) {
    const auto base = reinterpret_cast<uintptr_t>(storage_.data());
    const size_t to_boundary = (kAlignmentsMax - base % kAlignmentsMax) % kAlignmentsMax;
    start_ = to_boundary + kAlignmentsMax + alignment;
    if (size_ > 0) std::memcpy(data(), payload.data(), size_);
  }
  uint8_t* data() { return storage_.data() + start_; }
  const uint8_t* data() const { return storage_.data() + start_; }
  bool guards_intact() const {
    const auto is_guard = [](uint8_t byte) { return byte == kGuardByte; };
    return std::all_of(storage_.begin(), storage_.begin() + static_cast<ptrdiff_t>(start_),
                       is_guard) &&
           std::all_of(storage_.begin() + static_cast<ptrdiff_t>(start_ + size_), storage_.end(),
                       is_guard);
  }

 private:
  std::vector<uint8_t> storage_;
  size_t start_ = 0;
  size_t size_ = 0;
};

::testing::AssertionResult kernel_matches_model(UnmaskKernel kernel,
                                                const std::vector<uint8_t>& input,
                                                const std::vector<uint8_t>& expected,
                                                const WireKey& wire, uint64_t phase,
                                                size_t alignment) {
  GuardedBuffer buffer(input, alignment);
  unmask_kernel(kernel)(buffer.data(), input.size(), rotate_mask_key(load_key(wire), phase));
  const uint8_t* actual = buffer.data();
  const auto failure = [&] {
    return ::testing::AssertionFailure()
           << unmask_kernel_name(kernel) << " size " << input.size() << " alignment " << alignment
           << " phase " << phase << " seed " << test_seed() << ": ";
  };
  if (!buffer.guards_intact()) return failure() << "wrote outside the payload";
  if (input.empty() || std::memcmp(actual, expected.data(), input.size()) == 0) {
    return ::testing::AssertionSuccess();
  }
  for (size_t i = 0; i < input.size(); ++i) {
    if (actual[i] != expected[i]) {
      return failure() << "byte " << i << " is " << int{actual[i]} << ", expected "
                       << int{expected[i]};
    }
  }
  return ::testing::AssertionSuccess();
}

void check_all_kernels(const std::vector<size_t>& sizes, std::mt19937_64& rng) {
  for (size_t size : sizes) {
    const std::vector<uint8_t> input = random_bytes(rng, size);
    const WireKey wire = random_key(rng);
    for (uint64_t phase = 0; phase < 4; ++phase) {
      const std::vector<uint8_t> expected = model_unmask(input, wire, phase);
      for (UnmaskKernel kernel : available_unmask_kernels()) {
        for (size_t alignment = 0; alignment < kAlignmentsMax; ++alignment) {
          ASSERT_TRUE(kernel_matches_model(kernel, input, expected, wire, phase, alignment));
        }
      }
    }
  }
}

TEST(UnmaskTest, Rfc6455MaskedHelloExample) {
  // RFC 6455 §5.7: a single-frame masked text message containing "Hello".
  const WireKey wire = {0x37, 0xfa, 0x21, 0x3d};
  const std::vector<uint8_t> masked = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  for (UnmaskKernel kernel : available_unmask_kernels()) {
    std::vector<uint8_t> bytes = masked;
    unmask_kernel(kernel)(bytes.data(), bytes.size(), load_key(wire));
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "Hello") << unmask_kernel_name(kernel);
  }
  std::vector<uint8_t> bytes = masked;
  unmask(bytes.data(), bytes.size(), load_key(wire), 0);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "Hello");
}

TEST(UnmaskTest, RotateMaskKeyStartsAtTheOffsetKeyByte) {
  const WireKey wire = {0x01, 0x02, 0x03, 0x04};
  const uint32_t key = load_key(wire);
  const std::array<WireKey, 4> rotated = {
      WireKey{0x01, 0x02, 0x03, 0x04}, WireKey{0x02, 0x03, 0x04, 0x01},
      WireKey{0x03, 0x04, 0x01, 0x02}, WireKey{0x04, 0x01, 0x02, 0x03}};
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{4},
                          uint64_t{7}, (uint64_t{1} << 33) + 1, ~uint64_t{0}}) {
    EXPECT_EQ(rotate_mask_key(key, offset), load_key(rotated[offset % 4])) << offset;
  }
}

TEST(UnmaskTest, EveryKernelMatchesTheModelForShortPayloads) {
  std::mt19937_64 rng(test_seed());
  std::vector<size_t> sizes;
  for (size_t size = 0; size <= 300; ++size) sizes.push_back(size);
  check_all_kernels(sizes, rng);
}

TEST(UnmaskTest, EveryKernelMatchesTheModelForLargePayloads) {
  std::mt19937_64 rng(test_seed() + 1);
  check_all_kernels({4095, 4096, 65536 + 7, (size_t{1} << 20) + 3}, rng);
}

TEST(UnmaskTest, SplitAtEveryPositionEqualsOneCall) {
  constexpr size_t kPayloadBytes = 67;
  std::mt19937_64 rng(test_seed() + 2);
  const std::vector<uint8_t> input = random_bytes(rng, kPayloadBytes);
  const WireKey wire = random_key(rng);
  const uint32_t key = load_key(wire);
  // A frame may resume at any payload position, including ones past 4 GiB.
  for (uint64_t start :
       {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{3}, (uint64_t{1} << 32) + 5}) {
    const std::vector<uint8_t> expected = model_unmask(input, wire, start);
    std::vector<uint8_t> whole = input;
    unmask(whole.data(), whole.size(), key, start);
    ASSERT_EQ(whole, expected) << "start " << start << " seed " << test_seed();
    for (size_t split = 0; split <= kPayloadBytes; ++split) {
      std::vector<uint8_t> parts = input;
      unmask(parts.data(), split, key, start);
      unmask(parts.data() + split, kPayloadBytes - split, key, start + split);
      ASSERT_EQ(parts, expected) << "start " << start << " split " << split;
      for (UnmaskKernel kernel : available_unmask_kernels()) {
        std::vector<uint8_t> kernel_parts = input;
        const UnmaskFn fn = unmask_kernel(kernel);
        fn(kernel_parts.data(), split, rotate_mask_key(key, start));
        fn(kernel_parts.data() + split, kPayloadBytes - split, rotate_mask_key(key, start + split));
        ASSERT_EQ(kernel_parts, expected)
            << unmask_kernel_name(kernel) << " start " << start << " split " << split;
      }
    }
  }
}

TEST(UnmaskTest, MaskingTwiceRestoresTheInput) {
  std::mt19937_64 rng(test_seed() + 3);
  for (size_t size : {size_t{0}, size_t{1}, size_t{31}, size_t{129}, size_t{4099}}) {
    const std::vector<uint8_t> input = random_bytes(rng, size);
    const uint32_t key = static_cast<uint32_t>(rng());
    for (UnmaskKernel kernel : available_unmask_kernels()) {
      std::vector<uint8_t> bytes = input;
      unmask_kernel(kernel)(bytes.data(), bytes.size(), key);
      if (size >= 4 && key != 0) {
        EXPECT_NE(bytes, input) << unmask_kernel_name(kernel);
      }
      unmask_kernel(kernel)(bytes.data(), bytes.size(), key);
      EXPECT_EQ(bytes, input) << unmask_kernel_name(kernel) << " size " << size;
    }
  }
}

TEST(UnmaskTest, AvailableKernelsStartWithScalarAndIncludeTheActiveOne) {
  const auto kernels = available_unmask_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(kernels.front(), UnmaskKernel::kScalar);
  bool active_listed = false;
  for (UnmaskKernel kernel : kernels) active_listed |= kernel == active_unmask_kernel();
  EXPECT_TRUE(active_listed) << unmask_kernel_name(active_unmask_kernel());
  EXPECT_STREQ(unmask_kernel_name(UnmaskKernel::kScalar), "scalar");
  EXPECT_STREQ(unmask_kernel_name(UnmaskKernel::kSse2), "sse2");
  EXPECT_STREQ(unmask_kernel_name(UnmaskKernel::kAvx2), "avx2");
}

// The choice is made once per process, so each case runs in a freshly executed child
// ("threadsafe" death tests re-run the binary) that sets HERALD_UNMASK before first use.
TEST(UnmaskTest, EnvironmentForcesTheKernel) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (UnmaskKernel kernel : available_unmask_kernels()) {
    EXPECT_EXIT(
        {
          setenv("HERALD_UNMASK", unmask_kernel_name(kernel), 1);
          std::exit(active_unmask_kernel() == kernel ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "")
        << unmask_kernel_name(kernel);
  }
  const UnmaskKernel best = available_unmask_kernels().back();
  EXPECT_EXIT(
      {
        setenv("HERALD_UNMASK", "no-such-kernel", 1);
        std::exit(active_unmask_kernel() == best ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace herald::protocol::websocket
