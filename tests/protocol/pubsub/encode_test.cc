// Server encoders (PROTOCOL.md sections 4 and 5) byte for byte: message frames with their
// WebSocket headers at each length encoding, acks, errors and gaps.
#include "protocol/pubsub/encode.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/pubsub/notice.h"

namespace herald::protocol::pubsub {
namespace {

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string frame(std::string_view topic, uint64_t seq, std::string_view data, bool binary) {
  const size_t bound = message_frame_bytes(topic, data.size(), binary);
  // Poison the buffer so that any byte left unwritten shows.
  std::string out(bound + 16, '\xee');
  const size_t written =
      encode_message_frame(reinterpret_cast<uint8_t*>(out.data()), topic, seq, bytes(data), binary);
  EXPECT_LE(written, bound);
  EXPECT_EQ(written, message_frame_bytes(topic, seq, data.size(), binary));
  EXPECT_EQ(out.substr(bound), std::string(16, '\xee')) << "wrote past the bound";
  out.resize(written);
  return out;
}

TEST(EncodeTest, WritesATextMessageFrame) {
  const std::string payload =
      R"({"type":"msg","topic":"prices.nasdaq.AAPL","seq":42,"data":{"bid":189.3,"ask":189.4}})";
  ASSERT_LE(payload.size(), 125u);
  const std::string expected = std::string("\x81") + static_cast<char>(payload.size()) + payload;
  EXPECT_EQ(frame("prices.nasdaq.AAPL", 42, R"({"bid":189.3,"ask":189.4})", false), expected);
}

TEST(EncodeTest, CopiesDataByteForByte) {
  const std::string data = "[ 1 ,\n \"\\u00e9\" ]";
  const std::string out = frame("t", 0, data, false);
  EXPECT_EQ(out.substr(2), R"({"type":"msg","topic":"t","seq":0,"data":)" + data + "}");
  const std::string max_seq = frame("t", UINT64_MAX, "null", false);
  EXPECT_EQ(max_seq.substr(2),
            R"({"type":"msg","topic":"t","seq":18446744073709551615,"data":null})");
  // With 20 seq digits the bound is exact.
  EXPECT_EQ(max_seq.size(), message_frame_bytes("t", 4, false));
}

TEST(EncodeTest, UsesEachHeaderLengthEncoding) {
  // The text payload around data is 40 bytes plus topic and seq digits.
  const std::string small = frame("t", 1, std::string(125 - 40 - 2, '1'), false);
  ASSERT_EQ(small.size(), 2u + 125u);
  EXPECT_EQ(static_cast<uint8_t>(small[1]), 125);
  const std::string medium = frame("t", 1, std::string(126 - 40 - 2, '1'), false);
  ASSERT_EQ(medium.size(), 4u + 126u);
  EXPECT_EQ(medium.substr(0, 4), std::string("\x81\x7e\x00\x7e", 4));
  const std::string big = frame("t", 1, std::string(70000, '1'), false);
  ASSERT_EQ(big.size(), 10u + 70000u + 40u + 2u);
  EXPECT_EQ(big.substr(0, 10), std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x9a", 10));
  EXPECT_EQ(big.back(), '}');
}

TEST(EncodeTest, KeepsTheBoundAtTheHeaderEdge) {
  // A seq with few digits may need a shorter header than the bound assumes.
  for (size_t data_bytes = 50; data_bytes < 140; ++data_bytes) {
    for (const uint64_t seq : {uint64_t{1}, uint64_t{123456789}, UINT64_MAX}) {
      const std::string data(data_bytes, '7');
      const std::string out = frame("a.b", seq, data, false);
      EXPECT_EQ(out.substr(out.size() - data_bytes - 1), data + "}");
    }
  }
}

TEST(EncodeTest, WritesABinaryMessageFrame) {
  const std::string payload("\x00\xff\x01", 3);
  const std::string out = frame("a.b", 0x0102030405060708, payload, true);
  const std::string expected = std::string("\x82\x10\x02\x03", 4) + "a.b" +
                               std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8) + payload;
  EXPECT_EQ(out, expected);
  EXPECT_EQ(message_frame_bytes("a.b", 3, true), expected.size());
  EXPECT_EQ(frame("t", 1, "", true), std::string("\x82\x0b\x02\x01t\0\0\0\0\0\0\0\x01", 13));
}

TEST(EncodeTest, FramesLongBinaryMessages) {
  const std::string topic(255, 'x');
  const std::string payload(1 << 17, 'p');
  const std::string out = frame(topic, 5, payload, true);
  ASSERT_EQ(out.size(), 10u + 10u + 255u + payload.size());
  EXPECT_EQ(static_cast<uint8_t>(out[1]), 127);
  EXPECT_EQ(static_cast<uint8_t>(out[10]), kBinaryMessageKind);
  EXPECT_EQ(static_cast<uint8_t>(out[11]), 255);
  EXPECT_EQ(out.substr(12, 255), topic);
  EXPECT_EQ(out.substr(12 + 255, 8), std::string("\0\0\0\0\0\0\0\x05", 8));
}

TEST(EncodeTest, WritesAcks) {
  EXPECT_EQ(encode_notice(Ack{R"("s1")", false, 0}), R"({"type":"ack","id":"s1"})");
  EXPECT_EQ(encode_notice(Ack{"7", true, 42}), R"({"type":"ack","id":7,"seq":42})");
  EXPECT_EQ(encode_notice(Ack{"0", true, UINT64_MAX}),
            R"({"type":"ack","id":0,"seq":18446744073709551615})");
  EXPECT_EQ(encode_notice(Ack{R"("a\"b")", true, 0}), R"({"type":"ack","id":"a\"b","seq":0})");
}

TEST(EncodeTest, WritesErrors) {
  EXPECT_EQ(encode_notice(Error{R"("s1")", ErrorCode::kBadTopic, "empty token in topic"}),
            R"({"type":"error","id":"s1","code":"bad_topic","text":"empty token in topic"})");
  EXPECT_EQ(encode_notice(Error{"", ErrorCode::kBadJson, "invalid JSON"}),
            R"({"type":"error","code":"bad_json","text":"invalid JSON"})");
  EXPECT_EQ(encode_notice(Error{"3", ErrorCode::kTooManyTopics, "say \"hi\"\\\n\x01"}),
            R"({"type":"error","id":3,"code":"too_many_topics","text":"say \"hi\"\\\n\u0001"})");
}

TEST(EncodeTest, WritesGaps) {
  EXPECT_EQ(encode_notice(Gap{"prices.nasdaq.AAPL", 12}),
            R"({"type":"gap","topic":"prices.nasdaq.AAPL","missed":12})");
  EXPECT_EQ(encode_notice(Gap{"t", 0}), R"({"type":"gap","topic":"t","missed":0})");
}

}  // namespace
}  // namespace herald::protocol::pubsub
