// The client codec: command encoders byte for byte, ServerMessageParser on every message kind,
// and round trips client encode -> server parse and server encode -> client parse.
#include "protocol/pubsub/client_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/pubsub/encode.h"
#include "protocol/pubsub/notice.h"

namespace herald::protocol::pubsub {
namespace {

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(ClientCodecTest, EncodesSubscribe) {
  EXPECT_EQ(encode_subscribe("prices.*"), R"({"op":"sub","topic":"prices.*"})");
  EXPECT_EQ(encode_subscribe("prices.*", R"("s1")", Policy::kConflate),
            R"({"op":"sub","topic":"prices.*","id":"s1","policy":"conflate"})");
  EXPECT_EQ(encode_subscribe(">", "", Policy::kDrop),
            R"({"op":"sub","topic":">","policy":"drop"})");
  EXPECT_EQ(encode_subscribe("a", "5", Policy::kDisconnect),
            R"({"op":"sub","topic":"a","id":5,"policy":"disconnect"})");
}

TEST(ClientCodecTest, EncodesUnsubscribe) {
  EXPECT_EQ(encode_unsubscribe("prices.*", R"("u1")"),
            R"({"op":"unsub","topic":"prices.*","id":"u1"})");
  EXPECT_EQ(encode_unsubscribe("a.>"), R"({"op":"unsub","topic":"a.>"})");
}

TEST(ClientCodecTest, EncodesPublish) {
  EXPECT_EQ(encode_publish("prices.nasdaq.AAPL", R"({"bid":189.3,"ask":189.4})", "7"),
            R"({"op":"pub","topic":"prices.nasdaq.AAPL","data":{"bid":189.3,"ask":189.4},"id":7})");
  EXPECT_EQ(encode_publish("t", "null"), R"({"op":"pub","topic":"t","data":null})");
  EXPECT_EQ(encode_publish("t", "[1]", "", false),
            R"({"op":"pub","topic":"t","data":[1],"echo":false})");
  // A topic that would break the JSON is escaped; the server then refuses it as bad_topic.
  EXPECT_EQ(encode_publish("a\"b", "1"), R"({"op":"pub","topic":"a\"b","data":1})");
}

TEST(ClientCodecTest, EncodesBinaryPublish) {
  const std::string payload("\x00\x01", 2);
  EXPECT_EQ(encode_binary_publish("a.b", bytes(payload)),
            (std::vector<uint8_t>{0x01, 0x00, 0x03, 'a', '.', 'b', 0x00, 0x01}));
  EXPECT_EQ(encode_binary_publish("t", {}, true, 0x01020304, false),
            (std::vector<uint8_t>{0x01, 0x03, 0x01, 't', 0x01, 0x02, 0x03, 0x04}));
  EXPECT_EQ(encode_binary_publish("t", bytes("x"), false, 99, false),
            (std::vector<uint8_t>{0x01, 0x02, 0x01, 't', 'x'}));
  EXPECT_TRUE(encode_binary_publish("", bytes("x")).empty());
  EXPECT_TRUE(encode_binary_publish(std::string(256, 'a'), bytes("x")).empty());
  EXPECT_EQ(encode_binary_publish(std::string(255, 'a'), {}).size(), 3u + 255u);
}

class ServerMessageParserTest : public ::testing::Test {
 protected:
  bool parse(std::string_view text) { return parser_.parse_text(bytes(text), message_); }
  bool parse_binary(const std::vector<uint8_t>& frame) {
    return parser_.parse_binary(frame, message_);
  }
  ServerMessageParser parser_;
  ServerMessage message_;
};

TEST_F(ServerMessageParserTest, ParsesMessages) {
  ASSERT_TRUE(parse(
      R"({"type":"msg","topic":"prices.nasdaq.AAPL","seq":42,"data":{"bid":189.3,"ask":189.4}})"));
  EXPECT_EQ(message_.kind, ServerMessage::Kind::kMessage);
  EXPECT_EQ(message_.topic, "prices.nasdaq.AAPL");
  EXPECT_EQ(message_.seq, 42u);
  EXPECT_TRUE(message_.has_seq);
  EXPECT_FALSE(message_.binary);
  EXPECT_EQ(message_.data, R"({"bid":189.3,"ask":189.4})");
  // Any field order and whitespace; data of every type, kept raw.
  for (const char* data :
       {"1", "-2.5e3", "\"s\\\"\"", "true", "false", "null", "[ 1, 2 ]", "{ \"a\" : { } }"}) {
    const std::string text = std::string("{ \"data\" : ") + data +
                             " , \"seq\" : 18446744073709551615 , "
                             "\"topic\" : \"t\" , \"type\" : \"msg\" }";
    ASSERT_TRUE(parse(text)) << text;
    EXPECT_EQ(message_.data, data);
    EXPECT_EQ(message_.seq, UINT64_MAX);
  }
}

TEST_F(ServerMessageParserTest, ParsesAcks) {
  ASSERT_TRUE(parse(R"({"type":"ack","id":"s1"})"));
  EXPECT_EQ(message_.kind, ServerMessage::Kind::kAck);
  EXPECT_EQ(message_.id, R"("s1")");
  EXPECT_FALSE(message_.has_seq);
  ASSERT_TRUE(parse(R"({"type":"ack","id":7,"seq":42})"));
  EXPECT_EQ(message_.id, "7");
  EXPECT_TRUE(message_.has_seq);
  EXPECT_EQ(message_.seq, 42u);
}

TEST_F(ServerMessageParserTest, ParsesErrors) {
  ASSERT_TRUE(
      parse(R"({"type":"error","id":"s1","code":"bad_topic","text":"empty token in topic"})"));
  EXPECT_EQ(message_.kind, ServerMessage::Kind::kError);
  EXPECT_EQ(message_.id, R"("s1")");
  EXPECT_EQ(message_.code, "bad_topic");
  EXPECT_EQ(message_.text, "empty token in topic");
  ASSERT_TRUE(parse(R"({"type":"error","code":"bad_json","text":"a \"b\"\n\u00e9"})"));
  EXPECT_TRUE(message_.id.empty());
  EXPECT_EQ(message_.text, "a \"b\"\n\xc3\xa9");
}

TEST_F(ServerMessageParserTest, ParsesGaps) {
  ASSERT_TRUE(parse(R"({"type":"gap","topic":"prices.nasdaq.AAPL","missed":12})"));
  EXPECT_EQ(message_.kind, ServerMessage::Kind::kGap);
  EXPECT_EQ(message_.topic, "prices.nasdaq.AAPL");
  EXPECT_EQ(message_.missed, 12u);
}

TEST_F(ServerMessageParserTest, ParsesRecoveriesAndCompleteAcks) {
  ASSERT_TRUE(parse(R"({"type":"recovery","topic":"T","epoch":"9f2c4e1a0b3d5c7e","first":5,)"
                    R"("from":121,"next":130,"complete":false})"));
  EXPECT_EQ(message_.kind, ServerMessage::Kind::kRecovery);
  EXPECT_EQ(message_.topic, "T");
  EXPECT_EQ(message_.epoch, "9f2c4e1a0b3d5c7e");
  EXPECT_EQ(message_.first, 5u);
  EXPECT_EQ(message_.from, 121u);
  EXPECT_EQ(message_.next, 130u);
  EXPECT_FALSE(message_.complete);
  EXPECT_FALSE(parse(R"({"type":"recovery","topic":"T","epoch":"e","first":5,"from":1})"));
  ASSERT_TRUE(parse(R"({"type":"ack","id":"s1","complete":true})"));
  EXPECT_EQ(message_.kind, ServerMessage::Kind::kAck);
  EXPECT_TRUE(message_.has_complete);
  EXPECT_TRUE(message_.complete);
  ASSERT_TRUE(parse(R"({"type":"ack","id":"s1"})"));
  EXPECT_FALSE(message_.has_complete);
  EXPECT_FALSE(parse(R"({"type":"ack","id":"s1","complete":1})"));
}

TEST_F(ServerMessageParserTest, IgnoresUnknownFields) {
  ASSERT_TRUE(parse(R"({"type":"ack","id":1,"later":{"x":[1,2]}})"));
  EXPECT_EQ(message_.id, "1");
}

TEST_F(ServerMessageParserTest, RefusesMalformedText) {
  const char* texts[] = {
      "",
      "[]",
      R"({"type":"msg"})",
      R"({"type":"msg","topic":"t","seq":1})",
      R"({"type":"msg","topic":"t","data":1})",
      R"({"type":"msg","seq":1,"data":1})",
      R"({"type":"msg","topic":"t","seq":-1,"data":1})",
      R"({"type":"msg","topic":"t","seq":1.5,"data":1})",
      R"({"type":"msg","topic":"t","seq":18446744073709551616,"data":1})",
      R"({"type":"msg","topic":"t","seq":1,"data":tru})",
      R"({"type":"msg","topic":"t","seq":1,"data":[1,]})",
      R"({"type":"msg","topic":1,"seq":1,"data":1})",
      R"({"type":"error","code":"x"})",
      R"({"type":"error","text":"x"})",
      R"({"type":"gap","topic":"t"})",
      R"({"type":"ack","id":[1]})",
      R"({"type":"other"})",
      R"({"topic":"t"})",
      R"({"type":"ack"} {})",
      R"({"type":"ack","x":nul})",
  };
  for (const char* text : texts) EXPECT_FALSE(parse(text)) << text;
}

TEST_F(ServerMessageParserTest, ParsesBinaryMessages) {
  // Views point into the frame, so it outlives the checks.
  const std::vector<uint8_t> frame = {0x02, 0x03, 'a', '.',  'b',  0,   0, 0,
                                      0,    0,    0,   0x01, 0x00, 'x', 0};
  ASSERT_TRUE(parse_binary(frame));
  EXPECT_EQ(message_.kind, ServerMessage::Kind::kMessage);
  EXPECT_TRUE(message_.binary);
  EXPECT_EQ(message_.topic, "a.b");
  EXPECT_EQ(message_.seq, 256u);
  EXPECT_EQ(message_.data, std::string_view("x\0", 2));
  const std::vector<uint8_t> empty = {0x02, 0x01, 't',  0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff};
  ASSERT_TRUE(parse_binary(empty));
  EXPECT_EQ(message_.seq, UINT64_MAX);
  EXPECT_TRUE(message_.data.empty());
  EXPECT_FALSE(parse_binary({}));
  EXPECT_FALSE(parse_binary({0x02}));
  EXPECT_FALSE(parse_binary({0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_FALSE(parse_binary({0x02, 0x01, 't', 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_FALSE(parse_binary({0x01, 0x01, 't', 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(ClientServerRoundTripTest, CommandsReachTheServerIntact) {
  CommandParser parser;
  ParseResult result = parser.parse_text(bytes(encode_subscribe("a.*", R"("x")", Policy::kDrop)));
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.op, Op::kSubscribe);
  EXPECT_EQ(result.command.topic, "a.*");
  EXPECT_EQ(result.command.id, R"("x")");
  EXPECT_EQ(result.command.policy, Policy::kDrop);
  result = parser.parse_text(bytes(encode_unsubscribe("a.*", "12")));
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.op, Op::kUnsubscribe);
  EXPECT_EQ(result.command.id, "12");
  const std::string data = R"({"k": [1, "two", null]})";
  result = parser.parse_text(bytes(encode_publish("a.b", data, "9", false)));
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.data, data);
  EXPECT_FALSE(result.command.echo);
  const std::vector<uint8_t> binary = encode_binary_publish("a.b", bytes("xyz"), true, 77, false);
  result = parser.parse_binary(binary);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.id, "77");
  EXPECT_EQ(result.command.data, "xyz");
  EXPECT_FALSE(result.command.echo);
}

TEST(ClientServerRoundTripTest, ServerMessagesReachTheClientIntact) {
  ServerMessageParser parser;
  ServerMessage message;
  for (const bool binary : {false, true}) {
    const std::string data = binary ? std::string("\x00\xff", 2) : R"({"a" : [ 1 ]})";
    std::vector<uint8_t> frame(message_frame_bytes("p.q", data.size(), binary));
    frame.resize(encode_message_frame(frame.data(), "p.q", 31, bytes(data), binary));
    // Strip the 2-byte WebSocket header: the client parses payloads.
    ASSERT_EQ(frame[1], frame.size() - 2);
    const std::span<const uint8_t> payload(frame.data() + 2, frame.size() - 2);
    ASSERT_TRUE(binary ? parser.parse_binary(payload, message)
                       : parser.parse_text(payload, message));
    EXPECT_EQ(message.topic, "p.q");
    EXPECT_EQ(message.seq, 31u);
    EXPECT_EQ(message.data, data);
    EXPECT_EQ(message.binary, binary);
  }
  ASSERT_TRUE(parser.parse_text(bytes(encode_notice(Ack{R"("id")", true, 5})), message));
  EXPECT_EQ(message.id, R"("id")");
  EXPECT_EQ(message.seq, 5u);
  ASSERT_TRUE(
      parser.parse_text(bytes(encode_notice(Error{"3", ErrorCode::kBadRequest, "x\"y"})), message));
  EXPECT_EQ(message.code, "bad_request");
  EXPECT_EQ(message.text, "x\"y");
  ASSERT_TRUE(parser.parse_text(bytes(encode_notice(Gap{"g", 4})), message));
  EXPECT_EQ(message.kind, ServerMessage::Kind::kGap);
  EXPECT_EQ(message.missed, 4u);
}

}  // namespace
}  // namespace herald::protocol::pubsub
