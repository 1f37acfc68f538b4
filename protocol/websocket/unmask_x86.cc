// SSE2 and AVX2 unmasking kernels (RFC 6455 §5.3). Each function carries its own target
// attribute, so this file builds without -mavx2 and the binary runs on any x86-64; only the
// dispatch in unmask.cc, after CPUID, may call them.
#include "protocol/websocket/unmask_kernels.h"

#ifdef HERALD_UNMASK_X86

#include <immintrin.h>

#include <bit>
#include <cstring>

namespace herald::protocol::websocket::internal {
namespace {

// From this size on, the kernels align their run (see unmask_sse2). Below it the extra vector
// costs more than the few stores that straddle a cache line (measured: 125-byte payloads got
// slower, 1 KiB ones no faster).
constexpr size_t kAlignRunBytesMin = 256;

// The key as it applies `bytes` further into the payload (x86 is little-endian).
inline uint32_t advance_key(uint32_t key, size_t bytes) {
  return std::rotr(key, static_cast<int>(bytes % 4) * 8);
}

// Fewer than 16 bytes, from phase 0: words while they fit, then bytes. Every word is a
// multiple of 4 bytes, so the key phase never changes.
inline void unmask_tail(uint8_t* data, size_t size, uint32_t key) {
  const uint64_t key64 = (uint64_t{key} << 32) | key;
  if (size >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    word ^= key64;
    std::memcpy(data, &word, 8);
    data += 8;
    size -= 8;
  }
  if (size >= 4) {
    uint32_t word;
    std::memcpy(&word, data, 4);
    word ^= key;
    std::memcpy(data, &word, 4);
    data += 4;
    size -= 4;
  }
  for (size_t i = 0; i < size; ++i) {
    data[i] ^= static_cast<uint8_t>(key >> (8 * i));
  }
}

// Bytes from `data` to the next multiple of `alignment`.
inline size_t bytes_to_boundary(const uint8_t* data, size_t alignment) {
  return (alignment - reinterpret_cast<uintptr_t>(data) % alignment) % alignment;
}

__attribute__((target("sse2"))) inline void xor_16(uint8_t* data, __m128i key) {
  __m128i* p = reinterpret_cast<__m128i*>(data);
  _mm_storeu_si128(p, _mm_xor_si128(_mm_loadu_si128(p), key));
}

__attribute__((target("avx2"))) inline void xor_32(uint8_t* data, __m256i key) {
  __m256i* p = reinterpret_cast<__m256i*>(data);
  _mm256_storeu_si256(p, _mm256_xor_si256(_mm256_loadu_si256(p), key));
}

// Whole vectors, then the tail; every step is a multiple of 4 bytes until the last bytes,
// so one broadcast key serves the whole run. Four vectors per iteration are independent,
// which keeps both load ports and the store port busy.
__attribute__((target("sse2"))) void unmask_run_sse2(uint8_t* data, size_t size, uint32_t key) {
  const __m128i key128 = _mm_set1_epi32(static_cast<int>(key));
  for (; size >= 64; data += 64, size -= 64) {
    xor_16(data, key128);
    xor_16(data + 16, key128);
    xor_16(data + 32, key128);
    xor_16(data + 48, key128);
  }
  for (; size >= 16; data += 16, size -= 16) {
    xor_16(data, key128);
  }
  unmask_tail(data, size, key);
}

__attribute__((target("avx2"))) void unmask_run_avx2(uint8_t* data, size_t size, uint32_t key) {
  const __m256i key256 = _mm256_set1_epi32(static_cast<int>(key));
  for (; size >= 128; data += 128, size -= 128) {
    xor_32(data, key256);
    xor_32(data + 32, key256);
    xor_32(data + 64, key256);
    xor_32(data + 96, key256);
  }
  for (; size >= 32; data += 32, size -= 32) {
    xor_32(data, key256);
  }
  if (size >= 16) {
    xor_16(data, _mm256_castsi256_si128(key256));
    data += 16;
    size -= 16;
  }
  unmask_tail(data, size, key);
}

}  // namespace

// A payload rarely starts on a vector boundary (a client frame header is 6, 8 or 14 bytes),
// and in-place stores that straddle cache lines halve throughput. So the run starts at the
// first 16-byte boundary, and the head before it is covered by one unaligned vector computed
// from the original bytes before the run and stored after it: where the two overlap, both
// hold the same unmasked bytes.
__attribute__((target("sse2"))) void unmask_sse2(uint8_t* data, size_t size, uint32_t key) {
  if (size < kAlignRunBytesMin) {
    unmask_run_sse2(data, size, key);
    return;
  }
  __m128i* first = reinterpret_cast<__m128i*>(data);
  const __m128i head = _mm_xor_si128(_mm_loadu_si128(first), _mm_set1_epi32(static_cast<int>(key)));
  const size_t skip = bytes_to_boundary(data, 16);
  unmask_run_sse2(data + skip, size - skip, advance_key(key, skip));
  _mm_storeu_si128(first, head);
}

// As unmask_sse2, with 32-byte vectors and boundaries.
__attribute__((target("avx2"))) void unmask_avx2(uint8_t* data, size_t size, uint32_t key) {
  if (size < kAlignRunBytesMin) {
    unmask_run_avx2(data, size, key);
    return;
  }
  __m256i* first = reinterpret_cast<__m256i*>(data);
  const __m256i head =
      _mm256_xor_si256(_mm256_loadu_si256(first), _mm256_set1_epi32(static_cast<int>(key)));
  const size_t skip = bytes_to_boundary(data, 32);
  unmask_run_avx2(data + skip, size - skip, advance_key(key, skip));
  _mm256_storeu_si256(first, head);
}

}  // namespace herald::protocol::websocket::internal

#endif  // HERALD_UNMASK_X86
