// Throughput of UTF-8 validation (RFC 3629) of text messages: is_valid_utf8 whole, and
// Utf8Validator fed in 1 KiB pieces, against a plain byte-at-a-time validator as baseline.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol/websocket/utf8.h"

namespace herald::protocol::websocket {
namespace {

constexpr size_t kPieceBytes = 1024;
constexpr size_t kStreamBytes = size_t{1} << 20;

// The baseline: one byte per step, with the second-byte ranges of RFC 3629 §4 that exclude
// overlong forms, surrogates and code points above U+10FFFF. No ASCII shortcut, on purpose.
bool is_valid_utf8_bytewise(std::span<const uint8_t> bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const uint8_t lead = bytes[i];
    size_t length = 0;
    uint8_t low = 0x80;
    uint8_t high = 0xBF;
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (bytes.size() - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      const uint8_t byte = bytes[i + k];
      if (k == 1 ? (byte < low || byte > high) : (byte & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

enum class Text { kAscii, kMixed };

// Exactly `size` bytes of valid UTF-8. Mixed text cycles through 1-, 2-, 3- and 4-byte code
// points (Latin, Cyrillic, CJK, emoji), as chat messages in several languages do.
std::vector<uint8_t> make_text(Text text, size_t size) {
  const std::string sample = text == Text::kAscii
                                 ? "The quick brown fox jumps over the lazy dog. 0123456789\n"
                                 : "Grüße, Привет, 你好世界, こんにちは 🎉🚀 naïve café ∑≠∞ ";
  std::vector<uint8_t> bytes;
  bytes.reserve(size);
  for (size_t i = 0; bytes.size() < size; i = (i + 1) % sample.size()) {
    // Cut only at a code point boundary, then pad with ASCII to the exact size.
    const auto byte = static_cast<uint8_t>(sample[i]);
    if ((byte & 0xC0) != 0x80) {
      size_t length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4;
      if (bytes.size() + length > size) {
        bytes.resize(size, ' ');
        break;
      }
    }
    bytes.push_back(byte);
  }
  return bytes;
}

template <typename Validate>
void run(benchmark::State& state, Text text, Validate validate) {
  const std::vector<uint8_t> bytes = make_text(text, static_cast<size_t>(state.range(0)));
  if (!is_valid_utf8_bytewise(bytes)) {
    state.SkipWithError("benchmark text is not valid UTF-8");
    return;
  }
  for (auto _ : state) {
    bool valid = validate(std::span<const uint8_t>(bytes));
    benchmark::DoNotOptimize(valid);
    if (!valid) {
      state.SkipWithError("validator rejected valid UTF-8");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes.size()));
}

void BM_Utf8Bytewise(benchmark::State& state, Text text) {
  run(state, text, is_valid_utf8_bytewise);
}

void BM_Utf8IsValid(benchmark::State& state, Text text) {
  run(state, text, [](std::span<const uint8_t> bytes) { return is_valid_utf8(bytes); });
}

// A 1 MiB text message arriving in 1 KiB reads: most pieces end inside a code point in mixed
// text, so this also measures the carry across piece boundaries.
void BM_Utf8ValidatorFeed(benchmark::State& state, Text text) {
  run(state, text, [](std::span<const uint8_t> bytes) {
    Utf8Validator validator;
    bool valid = true;
    for (size_t at = 0; at < bytes.size() && valid; at += kPieceBytes) {
      valid = validator.feed(bytes.subspan(at, std::min(kPieceBytes, bytes.size() - at)));
    }
    return valid && validator.at_boundary();
  });
}

void text_sizes(benchmark::internal::Benchmark* bench) {
  bench->ArgName("bytes");
  for (int64_t size : {125, 1024, 65536, 1048576}) bench->Arg(size);
}

BENCHMARK_CAPTURE(BM_Utf8Bytewise, ascii, Text::kAscii)->Apply(text_sizes);
BENCHMARK_CAPTURE(BM_Utf8Bytewise, mixed, Text::kMixed)->Apply(text_sizes);
BENCHMARK_CAPTURE(BM_Utf8IsValid, ascii, Text::kAscii)->Apply(text_sizes);
BENCHMARK_CAPTURE(BM_Utf8IsValid, mixed, Text::kMixed)->Apply(text_sizes);
BENCHMARK_CAPTURE(BM_Utf8ValidatorFeed, ascii, Text::kAscii)
    ->ArgName("bytes")
    ->Arg(static_cast<int64_t>(kStreamBytes));
BENCHMARK_CAPTURE(BM_Utf8ValidatorFeed, mixed, Text::kMixed)
    ->ArgName("bytes")
    ->Arg(static_cast<int64_t>(kStreamBytes));

}  // namespace
}  // namespace herald::protocol::websocket
