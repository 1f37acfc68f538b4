// The subscribe options of PROTOCOL.md section 9 (from, epoch, last, since, snapshot) and the
// catchup policy: what each parses to, and every rule that refuses a combination.
#include <gtest/gtest.h>

#include <string>

#include "protocol/pubsub/command.h"
#include "protocol/pubsub/encode.h"
#include "protocol/pubsub/notice.h"

namespace herald::protocol::pubsub {
namespace {

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

class ReplayOptionsTest : public ::testing::Test {
 protected:
  ParseResult parse(std::string_view text) { return parser_.parse_text(bytes(text)); }

  Command parse_ok(std::string_view text) {
    const ParseResult result = parse(text);
    EXPECT_TRUE(result.ok) << text << ": " << result.error_text;
    return result.command;
  }

  void expect_bad(std::string_view text, std::string_view why,
                  ErrorCode code = ErrorCode::kBadRequest) {
    const ParseResult result = parse(text);
    EXPECT_FALSE(result.ok) << text;
    EXPECT_EQ(result.error, code) << text << ": " << result.error_text;
    EXPECT_EQ(result.error_text, why) << text;
  }

  CommandParser parser_;
};

TEST_F(ReplayOptionsTest, PlainSubscribeHasNoReplay) {
  const Command command = parse_ok(R"({"op":"sub","topic":"a"})");
  EXPECT_EQ(command.replay, Replay::kNone);
  EXPECT_TRUE(command.positions.empty());
  EXPECT_TRUE(command.epoch.empty());
}

TEST_F(ReplayOptionsTest, FromOnATopicWithAndWithoutEpoch) {
  Command command = parse_ok(R"({"op":"sub","topic":"prices.AAPL","from":121})");
  EXPECT_EQ(command.replay, Replay::kFrom);
  EXPECT_EQ(command.replay_value, 121u);
  EXPECT_TRUE(command.epoch.empty());
  command = parse_ok(R"({"op":"sub","epoch":"9f2c4e1a0b3d5c7e","topic":"a","from":0})");
  EXPECT_EQ(command.replay, Replay::kFrom);
  EXPECT_EQ(command.replay_value, 0u);
  EXPECT_EQ(command.epoch, "9f2c4e1a0b3d5c7e");
}

TEST_F(ReplayOptionsTest, FromOnAPatternJoinsEpochsToTheirTopics) {
  const Command command =
      parse_ok(R"({"op":"sub","topic":"prices.*","epoch":{"prices.MSFT":"0123456789abcdef"},)"
               R"("from":{"prices.AAPL":121,"prices.MSFT":88}})");
  EXPECT_EQ(command.replay, Replay::kFrom);
  ASSERT_EQ(command.positions.size(), 2u);
  EXPECT_EQ(command.positions[0].topic, "prices.AAPL");
  EXPECT_EQ(command.positions[0].seq, 121u);
  EXPECT_TRUE(command.positions[0].epoch.empty());
  EXPECT_EQ(command.positions[1].topic, "prices.MSFT");
  EXPECT_EQ(command.positions[1].seq, 88u);
  EXPECT_EQ(command.positions[1].epoch, "0123456789abcdef");
  // The tables are reused: a later command does not see the earlier entries.
  EXPECT_TRUE(parse_ok(R"({"op":"sub","topic":"x.*","from":{}})").positions.empty());
}

TEST_F(ReplayOptionsTest, LastSinceSnapshot) {
  Command command = parse_ok(R"({"op":"sub","topic":"a.>","last":10})");
  EXPECT_EQ(command.replay, Replay::kLast);
  EXPECT_EQ(command.replay_value, 10u);
  command = parse_ok(R"({"op":"sub","topic":"a","since":1700000000000})");
  EXPECT_EQ(command.replay, Replay::kSince);
  EXPECT_EQ(command.replay_value, 1700000000000u);
  command = parse_ok(R"({"op":"sub","topic":"a.*","snapshot":true,"policy":"catchup"})");
  EXPECT_EQ(command.replay, Replay::kSnapshot);
  EXPECT_EQ(command.policy, Policy::kCatchup);
  command = parse_ok(R"({"op":"sub","topic":"a","snapshot":false,"last":3})");
  EXPECT_EQ(command.replay, Replay::kLast);
  command = parse_ok(R"({"op":"sub","topic":"a","snapshot":false})");
  EXPECT_EQ(command.replay, Replay::kNone);
}

TEST_F(ReplayOptionsTest, RefusesCombinationsAndMisplacedOptions) {
  constexpr std::string_view kOne = "at most one of from, last, since and snapshot";
  expect_bad(R"({"op":"sub","topic":"a","from":1,"last":2})", kOne);
  expect_bad(R"({"op":"sub","topic":"a","since":1,"snapshot":true})", kOne);
  expect_bad(R"({"op":"sub","topic":"a","last":1,"since":2})", kOne);
  expect_bad(R"({"op":"sub","topic":"a","epoch":"0123456789abcdef"})",
             "epoch is only allowed with from");
  expect_bad(R"({"op":"pub","topic":"a","data":1,"last":1})",
             "replay options are only allowed in sub");
  expect_bad(R"({"op":"unsub","topic":"a","snapshot":true})",
             "replay options are only allowed in sub");
  expect_bad(R"({"op":"sub","topic":"a","from":1,"from":2})", "duplicate field");
}

TEST_F(ReplayOptionsTest, RefusesShapesThatDoNotFitTheTopic) {
  expect_bad(R"({"op":"sub","topic":"a.*","from":3})", "from for a pattern is an object of topics");
  expect_bad(R"({"op":"sub","topic":"a","from":{"a":3}})", "from for a topic is a number");
  expect_bad(R"({"op":"sub","topic":"a","from":3,"epoch":{"a":"0123456789abcdef"}})",
             "epoch for a topic is a string");
  expect_bad(R"({"op":"sub","topic":"a.*","from":{"a.b":3},"epoch":"0123456789abcdef"})",
             "epoch for a pattern is an object of topics");
  expect_bad(R"({"op":"sub","topic":"a.*","from":{"b.c":3}})",
             "from names a topic the pattern does not match");
  expect_bad(R"({"op":"sub","topic":"a.*","from":{"a.b":3},"epoch":{"a.c":"0123456789abcdef"}})",
             "epoch names a topic not in from");
  expect_bad(R"({"op":"sub","topic":"a.*","from":{"a.*":3}})", "from names an invalid topic");
  expect_bad(R"({"op":"sub","topic":"a.*","from":{"a.b":3,"a.b":4}})",
             "a topic named twice in from or epoch");
}

TEST_F(ReplayOptionsTest, RefusesBadValues) {
  expect_bad(R"({"op":"sub","topic":"a","from":-1})", "from must be an integer or an object");
  expect_bad(R"({"op":"sub","topic":"a","from":1.5})", "from must be an integer or an object");
  expect_bad(R"({"op":"sub","topic":"a","from":9007199254740992})",
             "from must be an integer or an object");
  expect_bad(R"({"op":"sub","topic":"a","from":"1"})", "from must be an integer or an object");
  expect_bad(R"({"op":"sub","topic":"a.*","from":{"a.b":"1"}})",
             "from must map topics to integers");
  expect_bad(R"({"op":"sub","topic":"a","last":true})", "last must be an integer from 0 to 2^53-1");
  expect_bad(R"({"op":"sub","topic":"a","since":"today"})", "since must be Unix milliseconds");
  expect_bad(R"({"op":"sub","topic":"a","snapshot":1})", "snapshot must be true or false");
  for (const char* epoch :
       {R"("0123456789ABCDEF")", R"("0123456789abcde")", R"("0123456789abcdef0")", "7", R"("")"}) {
    expect_bad(std::string(R"({"op":"sub","topic":"a","from":1,"epoch":)") + epoch + "}",
               "epoch must be 16 lowercase hex digits");
  }
  // Broken JSON inside an option is still bad JSON, whatever was refused before it.
  expect_bad(R"({"op":"sub","topic":"a.*","from":{"b":1,"a.c":[1,}})", "invalid JSON",
             ErrorCode::kBadJson);
}

TEST_F(ReplayOptionsTest, BoundsThePatternTable) {
  std::string text = R"({"op":"sub","topic":"t.*","from":{)";
  for (size_t i = 0; i <= kReplayTopicsMax; ++i) {
    if (i != 0) text += ',';
    text += "\"t." + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += "}}";
  expect_bad(text, "more than 256 topics in from or epoch");
  // Exactly the bound is fine.
  const size_t cut = text.rfind(",\"t.");
  const std::string at_bound = text.substr(0, cut) + "}}";
  EXPECT_EQ(parse_ok(at_bound).positions.size(), kReplayTopicsMax);
}

TEST(RecoveryEncodingTest, WritesTheSection9Shapes) {
  EXPECT_EQ(encode_notice(Recovery{"T", "9f2c4e1a0b3d5c7e", 5, 121, 130, true}),
            R"({"type":"recovery","topic":"T","epoch":"9f2c4e1a0b3d5c7e","first":5,"from":121,)"
            R"("next":130,"complete":true})");
  EXPECT_EQ(encode_notice(Recovery{"a.b", "0000000000000000", 0, 1, 1, false}),
            R"({"type":"recovery","topic":"a.b","epoch":"0000000000000000","first":0,"from":1,)"
            R"("next":1,"complete":false})");
  EXPECT_EQ(encode_notice(SubscribeAck{R"("s1")", true}),
            R"({"type":"ack","id":"s1","complete":true})");
  EXPECT_EQ(encode_notice(SubscribeAck{"7", false}), R"({"type":"ack","id":7,"complete":false})");
  EXPECT_EQ(encode_notice(SubscribeAck{"", true}), R"({"type":"ack","complete":true})");
}

}  // namespace
}  // namespace herald::protocol::pubsub
