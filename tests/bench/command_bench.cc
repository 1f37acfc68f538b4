// Cost per command of the pub/sub codec's hot path: parsing a text publish with 64 bytes of
// data, encoding the shared message frame, and parsing a binary publish.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"
#include "protocol/pubsub/encode.h"

namespace herald::protocol::pubsub {
namespace {

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// 64 bytes of JSON data, shaped like a price update.
const std::string kData = R"({"bid":189.30,"ask":189.40,"last":189.35,"volume":1234567,"x":1})";

void BM_ParseTextPublish(benchmark::State& state) {
  const std::string text = encode_publish("prices.nasdaq.AAPL", kData, "7");
  CommandParser parser;
  for (auto _ : state) {
    ParseResult result = parser.parse_text(bytes(text));
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseTextPublish);

void BM_EncodeMessageFrame(benchmark::State& state) {
  const bool binary = state.range(0) != 0;
  std::vector<uint8_t> out(message_frame_bytes("prices.nasdaq.AAPL", kData.size(), binary));
  uint64_t seq = 1;
  for (auto _ : state) {
    const size_t written =
        encode_message_frame(out.data(), "prices.nasdaq.AAPL", seq++, bytes(kData), binary);
    benchmark::DoNotOptimize(written);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_EncodeMessageFrame)->Arg(0)->Arg(1);

void BM_ParseBinaryPublish(benchmark::State& state) {
  const std::vector<uint8_t> frame =
      encode_binary_publish("prices.nasdaq.AAPL", bytes(kData), true, 7);
  CommandParser parser;
  for (auto _ : state) {
    ParseResult result = parser.parse_binary(frame);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_ParseBinaryPublish);

}  // namespace
}  // namespace herald::protocol::pubsub
