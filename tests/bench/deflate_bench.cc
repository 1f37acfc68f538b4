// Compressing one broadcast for permessage-deflate (RFC 7692 §7.2.1): zlib through Deflater
// (a reused stream, reset per message, written as a whole frame) against libdeflate's
// whole-buffer compressor, on ~300-byte JSON ticks and 16 KiB payloads at levels 1 and 6.
// Reports input throughput (bytes_per_second) and ratio (compressed / input bytes).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/websocket/deflate.h"

#if defined(HERALD_BENCH_LIBDEFLATE)
#include <libdeflate.h>
#endif

namespace herald::protocol::websocket {
namespace {

// A price tick as a dashboard feed sends it, ~300 bytes. Prices, sizes, volume and time come
// from a small LCG seeded by `seq`, so a 16 KiB batch of ticks is not one tick repeated.
std::string json_tick(uint32_t seq) {
  uint32_t state = seq * 2654435761u + 1;
  auto next = [&state](uint32_t bound) {
    state = state * 1103515245u + 12345u;
    return std::to_string((state >> 8) % bound);
  };
  const std::string cents = next(100);
  return R"({"type":"msg","topic":"prices.nasdaq.AAPL","seq":)" + std::to_string(seq) +
         R"(,"data":{"symbol":"AAPL","exchange":"NASDAQ","bid":189.)" + cents + R"(,"ask":189.)" +
         next(100) + R"(,"bid_size":)" + next(5000) + R"(,"ask_size":)" + next(5000) +
         R"(,"last":189.)" + next(100) + R"(,"volume":)" + next(90000000) +
         R"(,"open":187.9,"high":190.12,"low":187.55,"change_pct":0.)" + next(100) +
         R"(,"ts":"2026-12-07T11:32:)" + next(60) + "." + next(1000000) +
         R"(Z","venue":"XNAS","currency":"USD"}})";
}

std::string payload_of(size_t bytes) {
  std::string out;
  for (uint32_t seq = 1; out.size() < bytes; ++seq) out += json_tick(seq);
  out.resize(bytes);
  return out;
}

std::string payload_for(int64_t bytes) {
  return bytes <= 512 ? json_tick(4242) : payload_of(static_cast<size_t>(bytes));
}

void report(benchmark::State& state, size_t input_bytes, size_t output_bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input_bytes));
  state.counters["ratio"] = static_cast<double>(output_bytes) / static_cast<double>(input_bytes);
  state.counters["input_bytes"] = static_cast<double>(input_bytes);
}

// Args: {payload bytes (<= 512: one JSON tick), level}.
void BM_ZlibDeflater(benchmark::State& state) {
  const std::string payload = payload_for(state.range(0));
  Deflater deflater(static_cast<int>(state.range(1)));
  std::vector<uint8_t> frame(Deflater::frame_bytes_max(payload.size()));
  const std::span<const uint8_t> input(reinterpret_cast<const uint8_t*>(payload.data()),
                                       payload.size());
  size_t size = 0;
  for (auto _ : state) {
    size = deflater.write_frame(frame, Opcode::kText, input);
    benchmark::DoNotOptimize(frame.data());
  }
  if (size == 0) state.SkipWithError("zlib failed");
  report(state, payload.size(), size);
}

#if defined(HERALD_BENCH_LIBDEFLATE)
// libdeflate writes a final block; a permessage-deflate frame would add one 0x00 byte (§7.2.1's
// empty block, its last 4 bytes removed) and the frame header, both left out here.
void BM_Libdeflate(benchmark::State& state) {
  const std::string payload = payload_for(state.range(0));
  libdeflate_compressor* compressor = libdeflate_alloc_compressor(static_cast<int>(state.range(1)));
  std::vector<uint8_t> out(libdeflate_deflate_compress_bound(compressor, payload.size()));
  size_t size = 0;
  for (auto _ : state) {
    size = libdeflate_deflate_compress(compressor, payload.data(), payload.size(), out.data(),
                                       out.size());
    benchmark::DoNotOptimize(out.data());
  }
  libdeflate_free_compressor(compressor);
  if (size == 0) state.SkipWithError("libdeflate failed");
  report(state, payload.size(), size);
}
BENCHMARK(BM_Libdeflate)->ArgsProduct({{300, 16 << 10}, {1, 6}});
#endif

BENCHMARK(BM_ZlibDeflater)->ArgsProduct({{300, 16 << 10}, {1, 6}});

}  // namespace
}  // namespace herald::protocol::websocket
