// Private to unmask.cc and unmask_x86.cc: the per-ISA unmasking kernels behind the dispatch.
// Callers outside protocol/websocket use unmask.h; the x86 kernels exist only on x86 builds.
#pragma once

#include <cstddef>
#include <cstdint>

namespace herald::protocol::websocket::internal {

// Each XORs data[i] with wire key byte (i % 4), in place; any size, any alignment of data.
void unmask_scalar(uint8_t* data, size_t size, uint32_t key);

#if defined(__x86_64__) || defined(__i386__)
#define HERALD_UNMASK_X86 1
// Callers must have checked __builtin_cpu_supports for the ISA first.
void unmask_sse2(uint8_t* data, size_t size, uint32_t key);
void unmask_avx2(uint8_t* data, size_t size, uint32_t key);
#endif

}  // namespace herald::protocol::websocket::internal
