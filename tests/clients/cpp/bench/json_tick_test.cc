// The json-tick payloads of herald-bench: valid JSON of about 320 bytes, distinct per message,
// their stamp read back, any changed byte caught; and the fast reader of the broker's text
// envelope against the general parser.
#include "clients/cpp/bench/json_tick.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <array>
#include <set>
#include <string>

namespace herald::bench {
namespace {

std::string tick(uint64_t counter, int64_t sent_ns) {
  std::array<char, kJsonTickBytesMax> buffer;
  return {buffer.data(), write_json_tick(counter, sent_ns, buffer)};
}

TEST(JsonTick, ValidJsonOfAbout320BytesEachDistinct) {
  simdjson::dom::parser parser;
  std::set<std::string> seen;
  size_t smallest = kJsonTickBytesMax;
  size_t largest = 0;
  for (uint64_t counter = 0; counter < 20000; ++counter) {
    const std::string text = tick(counter, 123456789);
    smallest = std::min(smallest, text.size());
    largest = std::max(largest, text.size());
    simdjson::dom::element element;
    ASSERT_EQ(parser.parse(text).get(element), simdjson::SUCCESS) << text;
    ASSERT_TRUE(element.is_object()) << text;
    double price = 0;
    ASSERT_EQ(element["px"].get(price), simdjson::SUCCESS) << text;
    EXPECT_GT(price, 0) << text;
    // Distinct even without the id and time: the numbers differ per message.
    seen.insert(text.substr(text.find("\"sym\"")));
  }
  EXPECT_GE(smallest, 290u);
  EXPECT_LE(largest, 350u);
  EXPECT_GT(seen.size(), 19990u);
  // Reproducible: the same message number gives the same tick.
  EXPECT_EQ(tick(42, 7), tick(42, 7));
}

TEST(JsonTick, TheStampReadsBack) {
  for (const auto& [counter, sent_ns] : {std::pair<uint64_t, int64_t>{0, 0},
                                         {1, 1},
                                         {123456789, 987654321012345},
                                         {UINT64_MAX / 2, INT64_MAX}}) {
    const std::optional<TickStamp> stamp = read_json_tick(tick(counter, sent_ns));
    ASSERT_TRUE(stamp.has_value());
    EXPECT_EQ(stamp->counter, counter);
    EXPECT_EQ(stamp->sent_ns, sent_ns);
  }
}

TEST(JsonTick, EveryChangedByteIsCaught) {
  const std::string good = tick(77, 5555);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(read_json_tick(bad).has_value()) << "byte " << i;
  }
  EXPECT_FALSE(read_json_tick(good.substr(0, good.size() - 1)).has_value());
  EXPECT_FALSE(read_json_tick("").has_value());
  EXPECT_FALSE(read_json_tick("{\"id\":\"1\"}").has_value());
}

TEST(TextDelivery, ReadsTheBrokersEnvelopeOnly) {
  const std::string data = tick(3, 4);
  const std::string frame =
      R"({"type":"msg","topic":"bench.fanout","seq":9001,"data":)" + data + "}";
  const std::optional<TextDelivery> delivery = read_text_delivery(frame, "bench.fanout");
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->seq, 9001u);
  EXPECT_EQ(delivery->data, data);
  EXPECT_FALSE(read_text_delivery(frame, "bench.other").has_value());
  EXPECT_FALSE(read_text_delivery(frame, "bench.fan").has_value());
  EXPECT_FALSE(read_text_delivery(R"({"type":"ack","id":"1"})", "bench.fanout").has_value());
  EXPECT_FALSE(read_text_delivery(R"({"type":"msg","topic":"bench.fanout","seq":x,"data":1})",
                                  "bench.fanout")
                   .has_value());
}

}  // namespace
}  // namespace herald::bench
