// Throughput of each unmasking kernel and of the unmask() dispatch (RFC 6455 §5.3), against
// the scalar byte-at-a-time kernel, on buffers placed as a receive buffer places payloads.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "protocol/websocket/unmask.h"

namespace herald::protocol::websocket {
namespace {

constexpr size_t kBufferAlignment = 64;
constexpr uint32_t kKey = 0x3d21fa37;  // RFC 6455 §5.7's example key, in wire order

// Where a client frame's payload starts in a 64-byte-aligned receive buffer: after the
// 2-byte header, the extended length (RFC 6455 §5.2) and the 4-byte masking key.
size_t payload_offset_after_header(size_t payload_bytes) {
  if (payload_bytes <= 125) return 2 + 4;
  if (payload_bytes <= 0xFFFF) return 2 + 2 + 4;
  return 2 + 8 + 4;
}

struct AlignedFree {
  void operator()(uint8_t* bytes) const { ::operator delete[](bytes, std::align_val_t{64}); }
};

// state.range(0): payload bytes; state.range(1): 0 for a 64-byte-aligned payload, 1 for the
// payload where it lands after a frame header.
template <typename Unmask>
void run(benchmark::State& state, Unmask unmask_bytes) {
  const auto size = static_cast<size_t>(state.range(0));
  const size_t offset = state.range(1) == 0 ? 0 : payload_offset_after_header(size);
  std::unique_ptr<uint8_t[], AlignedFree> buffer(new (std::align_val_t{kBufferAlignment})
                                                     uint8_t[size + offset]);
  for (size_t i = 0; i < size + offset; ++i) buffer[i] = static_cast<uint8_t>(i * 131);
  uint8_t* payload = buffer.get() + offset;
  for (auto _ : state) {
    unmask_bytes(payload, size);
    benchmark::DoNotOptimize(payload);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size));
  state.SetLabel("payload at +" + std::to_string(offset));
}

void BM_UnmaskKernel(benchmark::State& state, UnmaskKernel kernel) {
  bool available = false;
  for (UnmaskKernel candidate : available_unmask_kernels()) available |= candidate == kernel;
  if (!available) {
    state.SkipWithError("kernel not supported by this CPU");
    return;
  }
  const UnmaskFn fn = unmask_kernel(kernel);
  run(state, [fn](uint8_t* data, size_t size) { fn(data, size, kKey); });
}

void BM_UnmaskDispatch(benchmark::State& state) {
  state.SetLabel(unmask_kernel_name(active_unmask_kernel()));
  // A mid-payload offset, as when a frame resumes in the next read.
  run(state, [](uint8_t* data, size_t size) { unmask(data, size, kKey, 3); });
}

void payload_sizes(benchmark::internal::Benchmark* bench) {
  bench->ArgNames({"bytes", "after_header"});
  for (int64_t size : {16, 125, 1024, 65536, 1048576}) {
    bench->Args({size, 0});
    bench->Args({size, 1});
  }
}

BENCHMARK_CAPTURE(BM_UnmaskKernel, scalar, UnmaskKernel::kScalar)->Apply(payload_sizes);
BENCHMARK_CAPTURE(BM_UnmaskKernel, sse2, UnmaskKernel::kSse2)->Apply(payload_sizes);
BENCHMARK_CAPTURE(BM_UnmaskKernel, avx2, UnmaskKernel::kAvx2)->Apply(payload_sizes);
BENCHMARK(BM_UnmaskDispatch)->Apply(payload_sizes);

}  // namespace
}  // namespace herald::protocol::websocket
