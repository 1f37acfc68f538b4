// Masking and unmasking of payload bytes (RFC 6455 §5.3), in place, with SIMD kernels.
// The scalar kernel is the specification; SSE2 and AVX2 kernels must equal it for every length,
// alignment and mask phase. The kernel is chosen once, by CPUID, on first use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace herald::protocol::websocket {

// `key` holds the four mask bytes in wire order, loaded with memcpy (so on little-endian
// x86 byte 0 of the key is the low byte). `offset` is the position of data[0] within the
// payload: a payload split across reads resumes with the key rotated by offset % 4.
void unmask(uint8_t* data, size_t size, uint32_t key, uint64_t offset);

// The key as it applies to the byte at payload position `offset`.
[[nodiscard]] uint32_t rotate_mask_key(uint32_t key, uint64_t offset);

enum class UnmaskKernel : uint8_t { kScalar, kSse2, kAvx2 };

// One kernel, applied from phase 0 of `key` (rotate the key first for other phases).
using UnmaskFn = void (*)(uint8_t* data, size_t size, uint32_t key);

// Kernels this CPU can run, scalar first. Tests and benchmarks iterate over them.
[[nodiscard]] std::span<const UnmaskKernel> available_unmask_kernels();
[[nodiscard]] UnmaskFn unmask_kernel(UnmaskKernel kernel);
[[nodiscard]] const char* unmask_kernel_name(UnmaskKernel kernel);

// The kernel unmask() uses: the best available, unless the environment variable
// HERALD_UNMASK=scalar|sse2|avx2 forces one (read once, at first use).
[[nodiscard]] UnmaskKernel active_unmask_kernel();

}  // namespace herald::protocol::websocket
