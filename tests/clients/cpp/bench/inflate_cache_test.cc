// herald-bench's InflateCache: the same compressed bytes inflate once, different bytes miss,
// and a corrupt or oversized stream is refused (the parser then fails the connection).
#include "clients/cpp/bench/inflate_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/websocket/deflate.h"

namespace herald::bench {
namespace {

namespace ws = protocol::websocket;

std::vector<uint8_t> compress(std::string_view text) {
  ws::Deflater deflater(1);
  std::vector<uint8_t> out(ws::Deflater::compressed_bytes_max(text.size()));
  out.resize(deflater.compress({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, out));
  return out;
}

TEST(InflateCacheTest, InflatesEachDistinctFrameOnce) {
  InflateCache cache;
  const std::string a(500, 'a');
  const std::string b = "{\"sym\":\"AAPL\",\"px\":187.25}";
  const std::vector<uint8_t> ca = compress(a);
  const std::vector<uint8_t> cb = compress(b);
  for (int i = 0; i < 3; ++i) {
    const std::string* got = cache.inflate(ca, 1 << 20);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, a);
  }
  const std::string* got = cache.inflate(cb, 1 << 20);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(*got, b);
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.hits(), 2u);
}

TEST(InflateCacheTest, RefusesCorruptAndOversizedStreams) {
  InflateCache cache;
  const std::vector<uint8_t> corrupt = {0xff, 0xff, 0xff, 0xff};
  EXPECT_EQ(cache.inflate(corrupt, 1 << 20), nullptr);
  const std::vector<uint8_t> big = compress(std::string(4096, 'x'));
  EXPECT_EQ(cache.inflate(big, 4095), nullptr);
  ASSERT_NE(cache.inflate(big, 4096), nullptr);
  EXPECT_EQ(cache.inflate(big, 4096)->size(), 4096u);
}

}  // namespace
}  // namespace herald::bench
