// The scalar unmasking kernel (the specification of RFC 6455 §5.3 masking) and the run-time
// choice of kernel. SIMD kernels live in unmask_x86.cc; nothing here may assume their ISA.
#include "protocol/websocket/unmask.h"

#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "protocol/websocket/unmask_kernels.h"

namespace herald::protocol::websocket {
namespace internal {

// The reference every other kernel is tested against, and the benchmark baseline, so it must
// stay a byte-at-a-time loop. Optimizers turn loops like this into SIMD (clang 14 -O3 does for
// the equivalent `key >> (8 * (i % 4))` form; GCC's -O3 vectorizer may on other versions),
// which would make the reference share code paths with what it checks and the baseline
// dishonest. So vectorization is switched off for this one function, for both compilers.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
void unmask_scalar(uint8_t* data, size_t size, uint32_t key) {
  uint8_t key_bytes[4];
  std::memcpy(key_bytes, &key, sizeof(key));
#if defined(__clang__)
#pragma clang loop vectorize(disable) interleave(disable)
#endif
  for (size_t i = 0; i < size; ++i) {
    data[i] ^= key_bytes[i % 4];
  }
}

}  // namespace internal

namespace {

struct KernelSet {
  std::array<UnmaskKernel, 3> kernels{};
  size_t count = 0;
};

// CPUID is asked once; __builtin_cpu_init makes this safe even from static initializers.
const KernelSet& detected_kernels() {
  static const KernelSet set = [] {
    KernelSet result;
    result.kernels[result.count++] = UnmaskKernel::kScalar;
#ifdef HERALD_UNMASK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse2")) result.kernels[result.count++] = UnmaskKernel::kSse2;
    if (__builtin_cpu_supports("avx2")) result.kernels[result.count++] = UnmaskKernel::kAvx2;
#endif
    return result;
  }();
  return set;
}

bool is_available(UnmaskKernel kernel) {
  for (UnmaskKernel candidate : available_unmask_kernels()) {
    if (candidate == kernel) return true;
  }
  return false;
}

// HERALD_UNMASK forces a kernel for tests and for comparing kernels in production; a kernel
// the CPU lacks (or an unknown name) falls back to the best one available rather than crash.
UnmaskKernel choose_kernel() {
  const UnmaskKernel best = available_unmask_kernels().back();
  const char* forced = std::getenv("HERALD_UNMASK");
  if (forced == nullptr) return best;
  for (UnmaskKernel kernel : {UnmaskKernel::kScalar, UnmaskKernel::kSse2, UnmaskKernel::kAvx2}) {
    if (std::string_view(forced) == unmask_kernel_name(kernel) && is_available(kernel)) {
      return kernel;
    }
  }
  return best;
}

UnmaskFn active_kernel_fn() {
  static const UnmaskFn fn = unmask_kernel(active_unmask_kernel());
  return fn;
}

}  // namespace

void unmask(uint8_t* data, size_t size, uint32_t key, uint64_t offset) {
  active_kernel_fn()(data, size, rotate_mask_key(key, offset));
}

uint32_t rotate_mask_key(uint32_t key, uint64_t offset) {
  // Key byte k (wire order) must move to position (k - offset) mod 4. Wire byte 0 is the low
  // byte on little-endian and the high byte on big-endian, hence the two directions.
  const int shift = static_cast<int>(offset % 4) * 8;
  if constexpr (std::endian::native == std::endian::little) {
    return std::rotr(key, shift);
  } else {
    return std::rotl(key, shift);
  }
}

std::span<const UnmaskKernel> available_unmask_kernels() {
  const KernelSet& set = detected_kernels();
  return {set.kernels.data(), set.count};
}

// A kernel the CPU cannot run maps to the scalar one: a stray call must not be SIGILL.
UnmaskFn unmask_kernel(UnmaskKernel kernel) {
  if (!is_available(kernel)) return internal::unmask_scalar;
  switch (kernel) {
#ifdef HERALD_UNMASK_X86
    case UnmaskKernel::kSse2:
      return internal::unmask_sse2;
    case UnmaskKernel::kAvx2:
      return internal::unmask_avx2;
#endif
    default:
      return internal::unmask_scalar;
  }
}

const char* unmask_kernel_name(UnmaskKernel kernel) {
  switch (kernel) {
    case UnmaskKernel::kScalar:
      return "scalar";
    case UnmaskKernel::kSse2:
      return "sse2";
    case UnmaskKernel::kAvx2:
      return "avx2";
  }
  return "unknown";
}

UnmaskKernel active_unmask_kernel() {
  static const UnmaskKernel kernel = choose_kernel();
  return kernel;
}

}  // namespace herald::protocol::websocket
