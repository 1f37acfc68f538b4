// CommandParser (PROTOCOL.md sections 3 and 5): every op, field and error code, the exact raw
// bytes of `data` for each JSON type, id limits, and binary publish frames.
#include "protocol/pubsub/command.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/pubsub/json_text.h"
#include "protocol/pubsub/topic.h"

namespace herald::protocol::pubsub {
namespace {

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

class CommandParserTest : public ::testing::Test {
 protected:
  ParseResult parse(std::string_view text) { return parser_.parse_text(bytes(text)); }

  // Parses a publish whose data is `data_json` and returns the raw data it found.
  std::string data_of(std::string_view data_json) {
    const ParseResult result =
        parse(std::string(R"({"op":"pub","topic":"t","data":)") + std::string(data_json) + "}");
    EXPECT_TRUE(result.ok) << data_json << ": " << result.error_text;
    return std::string(result.command.data);
  }

  void expect_error(std::string_view text, ErrorCode code, std::string_view error_text = {},
                    std::string_view id = {}) {
    const ParseResult result = parse(text);
    EXPECT_FALSE(result.ok) << text;
    EXPECT_EQ(result.error, code) << text << ": " << result.error_text;
    if (!error_text.empty()) {
      EXPECT_EQ(result.error_text, error_text) << text;
    }
    EXPECT_EQ(result.error_id, id) << text;
    EXPECT_FALSE(result.error_text.empty()) << text;
  }

  CommandParser parser_;
};

TEST_F(CommandParserTest, ParsesSubscribe) {
  const ParseResult result =
      parse(R"({"op":"sub","topic":"prices.*","id":"s1","policy":"conflate"})");
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.op, Op::kSubscribe);
  EXPECT_EQ(result.command.topic, "prices.*");
  EXPECT_EQ(result.command.id, R"("s1")");
  EXPECT_EQ(result.command.policy, Policy::kConflate);
  EXPECT_TRUE(result.command.data.empty());
  EXPECT_FALSE(result.command.binary);
}

TEST_F(CommandParserTest, ParsesEveryPolicy) {
  const std::pair<const char*, Policy> policies[] = {{"disconnect", Policy::kDisconnect},
                                                     {"drop", Policy::kDrop},
                                                     {"conflate", Policy::kConflate},
                                                     {"catchup", Policy::kCatchup}};
  for (const auto& [name, policy] : policies) {
    const ParseResult result =
        parse(std::string(R"({"op":"sub","topic":">","policy":")") + name + "\"}");
    ASSERT_TRUE(result.ok) << name;
    EXPECT_EQ(result.command.policy, policy);
  }
  const ParseResult result = parse(R"({"topic":"a","op":"sub"})");
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.policy, Policy::kDefault);
  EXPECT_TRUE(result.command.id.empty());
}

TEST_F(CommandParserTest, ParsesUnsubscribe) {
  const ParseResult result = parse(R"({"op":"unsub","topic":"prices.*","id":"u1"})");
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.op, Op::kUnsubscribe);
  EXPECT_EQ(result.command.topic, "prices.*");
  EXPECT_EQ(result.command.id, R"("u1")");
}

TEST_F(CommandParserTest, ParsesPublish) {
  const ParseResult result =
      parse(R"({"op":"pub","topic":"prices.nasdaq.AAPL","data":{"bid":189.3,"ask":189.4},"id":7})");
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.op, Op::kPublish);
  EXPECT_EQ(result.command.topic, "prices.nasdaq.AAPL");
  EXPECT_EQ(result.command.data, R"({"bid":189.3,"ask":189.4})");
  EXPECT_EQ(result.command.id, "7");
  EXPECT_TRUE(result.command.echo);
  EXPECT_FALSE(result.command.binary);
}

TEST_F(CommandParserTest, ParsesEcho) {
  ParseResult result = parse(R"({"op":"pub","topic":"t","data":1,"echo":false})");
  ASSERT_TRUE(result.ok);
  EXPECT_FALSE(result.command.echo);
  result = parse(R"({"op":"pub","topic":"t","data":1,"echo":true})");
  ASSERT_TRUE(result.ok);
  EXPECT_TRUE(result.command.echo);
}

TEST_F(CommandParserTest, KeepsTheRawBytesOfEveryDataType) {
  const char* values[] = {
      R"({"bid":189.3,"ask":189.4})",
      R"({ "a" : [ 1 , 2 , { "b" : null } ] ,  "c" : "x y" })",
      R"({})",
      R"({ })",
      R"([])",
      R"([ 1, "two", [3], {"four": 4} ])",
      R"("plain")",
      R"("")",
      R"("esc\"aped\\ \/ \b\f\n\r\t \u00e9\uD83D\uDE00 }],")",
      "\"caf\xc3\xa9\"",
      "0",
      "-0",
      "42",
      "-1.5e+10",
      "6.02E23",
      "123456789012345678901234567890",
      "1e400",
      "true",
      "false",
      "null",
  };
  for (const char* value : values) EXPECT_EQ(data_of(value), value);
}

TEST_F(CommandParserTest, TrimsOnlyTheWhitespaceAroundData) {
  const char* fields[] = {"", R"(,"id":1)", R"( , "echo" : false )"};
  const char* values[] = {R"({"a":{"b":[1, 2]}})", "[1,\n2]", R"("s ")", "12", "true", "null"};
  for (const char* after : fields) {
    for (const char* value : values) {
      const std::string text =
          std::string("{ \"op\" : \"pub\" , \"topic\" : \"t\" , \"data\" :\t\r\n ") + value +
          " \n\t" + after + " }";
      const ParseResult result = parse(text);
      ASSERT_TRUE(result.ok) << text << ": " << result.error_text;
      EXPECT_EQ(result.command.data, value) << text;
    }
  }
  // data first, then the other fields.
  const ParseResult result = parse(R"({"data":[ {"x" : 1} ] ,"topic":"t","op":"pub"})");
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.data, R"([ {"x" : 1} ])");
}

TEST_F(CommandParserTest, KeepsDeeplyNestedData) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"a":[)";
  deep += "1";
  for (int i = 0; i < 200; ++i) deep += "]}";
  EXPECT_EQ(data_of(deep), deep);
}

TEST_F(CommandParserTest, RefusesInvalidData) {
  const char* values[] = {
      "tru",
      "nul",
      "falsey",
      "-",
      "01",
      "1.",
      ".5",
      "1e",
      "+1",
      "0x10",
      "NaN",
      "[1,]",
      "[,1]",
      "[1 2]",
      "{,}",
      R"({"a" 1})",
      R"({"a":1,})",
      R"({a:1})",
      R"({"a":tru})",
      R"(["\q"])",
      R"("\u12")",
      R"([1,[2,{"b":nul}]])",
      "'s'",
      "[",
      "{",
  };
  for (const char* value : values) {
    const std::string text = std::string(R"({"op":"pub","topic":"t","data":)") + value + "}";
    expect_error(text, ErrorCode::kBadJson);
  }
  expect_error("{\"op\":\"pub\",\"topic\":\"t\",\"data\":\"a\x01\"}", ErrorCode::kBadJson);
}

TEST_F(CommandParserTest, RefusesWhatIsNotOneJsonObject) {
  const char* texts[] = {
      "",
      " ",
      "[]",
      R"("op")",
      "42",
      "null",
      "{",
      "}",
      R"({"op":"sub")",
      "{}}",
      R"({"op":"sub","topic":"a"} {})",
      R"({"op":"sub","topic":"a"} x)",
      R"({"op":"sub","topic":"a"}])",
      "{} []",
  };
  for (const char* text : texts) expect_error(text, ErrorCode::kBadJson);
  // Whitespace after the object is fine.
  EXPECT_TRUE(parse("{\"op\":\"sub\",\"topic\":\"a\"} \n").ok);
}

TEST_F(CommandParserTest, AnswersInvalidJsonInAnyFieldWithBadJson) {
  expect_error(R"({"op":"sub","topic":"a","zzz":tru})", ErrorCode::kBadJson);
  expect_error(R"({"op":"sub","topic":"a","from":[1,}]})", ErrorCode::kBadJson);
  expect_error(R"({"op":"sub","topic":"a","topic":nul})", ErrorCode::kBadJson);
  expect_error(R"({"op":"sub","topic":"a\q"})", ErrorCode::kBadJson);
  expect_error(R"({"op":"sub","topic":"a","id":01})", ErrorCode::kBadJson);
  expect_error(R"({"op":"pub","topic":"a","data":1,"echo":tru})", ErrorCode::kBadJson);
}

TEST_F(CommandParserTest, ChecksOp) {
  expect_error(R"({"topic":"a"})", ErrorCode::kBadRequest, "missing op");
  expect_error(R"({"op":1,"topic":"a"})", ErrorCode::kBadRequest, "op must be a string");
  expect_error(R"({"op":"subscribe","topic":"a","id":"x"})", ErrorCode::kUnknownOp, {}, R"("x")");
  expect_error(R"({"op":"","topic":"a"})", ErrorCode::kUnknownOp);
  expect_error(R"({"op":"SUB","topic":"a"})", ErrorCode::kUnknownOp);
}

TEST_F(CommandParserTest, ChecksTopic) {
  expect_error(R"({"op":"sub"})", ErrorCode::kBadRequest, "missing topic");
  expect_error(R"({"op":"sub","topic":["a"]})", ErrorCode::kBadRequest, "topic must be a string");
  expect_error(R"({"op":"sub","topic":"a..b","id":"s1"})", ErrorCode::kBadTopic,
               "empty token in topic", R"("s1")");
  expect_error(R"({"op":"sub","topic":""})", ErrorCode::kBadTopic, "empty topic");
  expect_error(R"({"op":"pub","topic":"a.*","data":1,"id":3})", ErrorCode::kBadTopic,
               topic_error_text(TopicError::kWildcardTopic), "3");
  expect_error(R"({"op":"pub","topic":"a.>","data":1})", ErrorCode::kBadTopic);
  // Escapes are not decoded: a backslash is never in the topic alphabet.
  expect_error(R"({"op":"sub","topic":"a\u002eb"})", ErrorCode::kBadTopic,
               "invalid character in topic");
  expect_error(R"({"op":"unsub","topic":"a.>.b"})", ErrorCode::kBadTopic);
  const std::string longest(kTopicBytesMax, 't');
  EXPECT_TRUE(parse(R"({"op":"sub","topic":")" + longest + "\"}").ok);
  expect_error(R"({"op":"sub","topic":")" + longest + "t\"}", ErrorCode::kBadTopic,
               "topic longer than 255 bytes");
}

TEST_F(CommandParserTest, ChecksFieldsPerOp) {
  expect_error(R"({"op":"pub","topic":"a"})", ErrorCode::kBadRequest, "missing data");
  expect_error(R"({"op":"pub","topic":"a","data":1,"policy":"drop"})", ErrorCode::kBadRequest,
               "policy is only allowed in sub");
  expect_error(R"({"op":"unsub","topic":"a","policy":"drop"})", ErrorCode::kBadRequest);
  expect_error(R"({"op":"sub","topic":"a","echo":false,"id":1})", ErrorCode::kBadRequest,
               "echo is only allowed in pub", "1");
  expect_error(R"({"op":"sub","topic":"a","data":1})", ErrorCode::kBadRequest,
               "data is only allowed in pub");
  expect_error(R"({"op":"unsub","topic":"a","data":{}})", ErrorCode::kBadRequest);
  expect_error(R"({"op":"sub","topic":"a","policy":"fast"})", ErrorCode::kBadRequest,
               "policy must be disconnect, drop, conflate or catchup");
  expect_error(R"({"op":"sub","topic":"a","policy":""})", ErrorCode::kBadRequest);
  expect_error(R"({"op":"sub","topic":"a","policy":1})", ErrorCode::kBadRequest,
               "policy must be a string");
  expect_error(R"({"op":"pub","topic":"a","data":1,"echo":"no"})", ErrorCode::kBadRequest,
               "echo must be true or false");
  expect_error(R"({"op":"pub","topic":"a","data":1,"echo":0})", ErrorCode::kBadRequest);
}

TEST_F(CommandParserTest, RefusesUnknownAndDuplicateFields) {
  expect_error(R"({"op":"sub","topic":"a","id":"k","Topic":"b"})", ErrorCode::kBadRequest,
               "unknown field", R"("k")");
  expect_error(R"({"op":"sub","topic":"a","":1})", ErrorCode::kBadRequest, "unknown field");
  expect_error(R"({"op":"sub","topic":"a","topic":"b"})", ErrorCode::kBadRequest,
               "duplicate field");
  expect_error(R"({"op":"sub","op":"sub","topic":"a"})", ErrorCode::kBadRequest, "duplicate field");
  expect_error(R"({"op":"pub","topic":"a","data":1,"data":2})", ErrorCode::kBadRequest,
               "duplicate field");
  expect_error(R"({"id":1,"op":"sub","topic":"a","id":2})", ErrorCode::kBadRequest,
               "duplicate field", "1");
}

TEST_F(CommandParserTest, DecodesEscapedKeys) {
  const ParseResult result = parse(R"({"\u006fp":"sub","topi\u0063":"a"})");
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.topic, "a");
}

TEST_F(CommandParserTest, ChecksIds) {
  const std::string id64(kIdBytesMax, 'i');
  const char* good[] = {R"("")", R"("s1")", R"("with \"quotes\"")", "0", "7", "9007199254740991"};
  for (const char* id : good) {
    const ParseResult result = parse(std::string(R"({"op":"sub","topic":"a","id":)") + id + "}");
    ASSERT_TRUE(result.ok) << id << ": " << result.error_text;
    EXPECT_EQ(result.command.id, id);
  }
  ParseResult result = parse(R"({"op":"sub","topic":"a","id":")" + id64 + "\"}");
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.id, "\"" + id64 + "\"");
  expect_error(R"({"op":"sub","topic":"a","id":")" + id64 + "i\"}", ErrorCode::kBadRequest,
               "id longer than 64 bytes");
  const char* bad[] = {
      "9007199254740992", "18446744073709551616", "-1", "1.0", "1e3", "true", "null", "[1]",
      R"({"a":1})"};
  for (const char* id : bad) {
    expect_error(std::string(R"({"op":"sub","topic":"a","id":)") + id + "}",
                 ErrorCode::kBadRequest);
  }
  // Whitespace around an id is not part of it.
  result = parse(R"({"op":"sub","id" :  12  ,"topic":"a"})");
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.id, "12");
}

TEST_F(CommandParserTest, ViewsPointIntoItsOwnCopy) {
  std::string text = R"({"op":"pub","topic":"t","data":[1,2,3],"id":"q"})";
  const ParseResult result = parse(text);
  ASSERT_TRUE(result.ok);
  text.assign(text.size(), 'x');  // the caller's frame may go away
  EXPECT_EQ(result.command.topic, "t");
  EXPECT_EQ(result.command.data, "[1,2,3]");
  EXPECT_EQ(result.command.id, R"("q")");
}

TEST_F(CommandParserTest, ReusesTheParserAcrossSizes) {
  const std::string big_data = "\"" + std::string(100000, 'b') + "\"";
  EXPECT_EQ(data_of(big_data), big_data);
  EXPECT_EQ(data_of("1"), "1");
  EXPECT_EQ(data_of(big_data), big_data);
  for (int i = 0; i < 1000; ++i) {
    const std::string array = std::string("[").append(std::to_string(i)).append("]");
    ASSERT_EQ(data_of(array), array);
  }
}

class BinaryCommandTest : public ::testing::Test {
 protected:
  ParseResult parse(const std::vector<uint8_t>& frame) { return parser_.parse_binary(frame); }
  CommandParser parser_;
};

TEST_F(BinaryCommandTest, ParsesAPublishWithoutId) {
  const std::vector<uint8_t> frame = {0x01, 0x00, 0x03, 'a', '.', 'b', 0xde, 0xad, 0x00};
  const ParseResult result = parse(frame);
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.op, Op::kPublish);
  EXPECT_TRUE(result.command.binary);
  EXPECT_TRUE(result.command.echo);
  EXPECT_EQ(result.command.topic, "a.b");
  EXPECT_TRUE(result.command.id.empty());
  EXPECT_EQ(result.command.data, std::string_view("\xde\xad\x00", 3));
  // Views into the frame itself.
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(result.command.data.data()), frame.data() + 6);
}

TEST_F(BinaryCommandTest, ParsesIdAndNoEcho) {
  const std::vector<uint8_t> frame = {0x01, 0x03, 0x01, 't', 0x01, 0x02, 0x03, 0x04, 'p'};
  const ParseResult result = parse(frame);
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.id, "16909060");
  EXPECT_FALSE(result.command.echo);
  EXPECT_EQ(result.command.data, "p");
  EXPECT_EQ(parse({0x01, 0x01, 0x01, 't', 0xff, 0xff, 0xff, 0xff}).command.id, "4294967295");
  EXPECT_EQ(parse({0x01, 0x01, 0x01, 't', 0, 0, 0, 0}).command.id, "0");
  EXPECT_TRUE(parse({0x01, 0x01, 0x01, 't', 0, 0, 0, 0}).command.data.empty());
}

TEST_F(BinaryCommandTest, AcceptsTheLongestTopic) {
  std::vector<uint8_t> frame = {0x01, 0x00, 0xff};
  frame.insert(frame.end(), 255, 'z');
  const ParseResult result = parse(frame);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.command.topic.size(), 255u);
  EXPECT_TRUE(result.command.data.empty());
}

TEST_F(BinaryCommandTest, RefusesMalformedFrames) {
  const std::vector<std::vector<uint8_t>> frames = {
      {},
      {0x01},
      {0x01, 0x00},
      {0x01, 0x00, 0x00},                // empty topic
      {0x01, 0x00, 0x00, 'x'},           // empty topic
      {0x01, 0x00, 0x02, 'a'},           // truncated topic
      {0x01, 0x01, 0x01, 'a', 0, 0, 0},  // truncated id
      {0x01, 0x01, 0x01, 'a'},           // missing id
      {0x02, 0x00, 0x01, 'a'},           // a server message kind
      {0x00, 0x00, 0x01, 'a'},
      {0x7b, 0x00, 0x01, 'a'},
      {0x01, 0x04, 0x01, 'a'},  // reserved flag bits
      {0x01, 0x80, 0x01, 'a'},
      {0x01, 0xff, 0x01, 'a', 0, 0, 0, 0},
  };
  for (const auto& frame : frames) {
    const ParseResult result = parse(frame);
    EXPECT_FALSE(result.ok) << frame.size();
    EXPECT_EQ(result.error, ErrorCode::kBadRequest) << frame.size();
    EXPECT_TRUE(result.error_id.empty());
  }
}

TEST_F(BinaryCommandTest, RefusesBadTopicsNamingTheId) {
  ParseResult result = parse({0x01, 0x01, 0x03, 'a', '.', '*', 0, 0, 0, 9});
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, ErrorCode::kBadTopic);
  EXPECT_EQ(result.error_text, topic_error_text(TopicError::kWildcardTopic));
  EXPECT_EQ(result.error_id, "9");
  result = parse({0x01, 0x00, 0x02, 'a', ' '});
  EXPECT_EQ(result.error, ErrorCode::kBadTopic);
  EXPECT_TRUE(result.error_id.empty());
}

TEST(CommandNamesTest, NamesCodesAndPolicies) {
  EXPECT_EQ(error_code_name(ErrorCode::kBadJson), "bad_json");
  EXPECT_EQ(error_code_name(ErrorCode::kBadRequest), "bad_request");
  EXPECT_EQ(error_code_name(ErrorCode::kUnknownOp), "unknown_op");
  EXPECT_EQ(error_code_name(ErrorCode::kBadTopic), "bad_topic");
  EXPECT_EQ(error_code_name(ErrorCode::kNotSubscribed), "not_subscribed");
  EXPECT_EQ(error_code_name(ErrorCode::kTooManySubscriptions), "too_many_subscriptions");
  EXPECT_EQ(error_code_name(ErrorCode::kTooManyTopics), "too_many_topics");
  EXPECT_EQ(policy_name(Policy::kDefault), "default");
  Policy policy = Policy::kDefault;
  EXPECT_TRUE(parse_policy("drop", policy));
  EXPECT_EQ(policy, Policy::kDrop);
  EXPECT_FALSE(parse_policy("default", policy));
  EXPECT_FALSE(parse_policy("Drop", policy));
  EXPECT_EQ(policy, Policy::kDrop);
}

TEST(CommandJsonTextTest, ChecksTokensAgainstTheGrammar) {
  for (const char* number : {"0", "-0", "1", "-12", "1.5", "1e5", "1E+5", "1e-05", "0.0e0"}) {
    EXPECT_TRUE(is_json_number(number)) << number;
  }
  for (const char* number : {"", "-", "00", "01", "1.", ".1", "1e", "1e+", "+1", "1x", "--1"}) {
    EXPECT_FALSE(is_json_number(number)) << number;
  }
  for (const char* string : {R"("")", R"("a")", R"("\"")", R"("\u00FFx")", R"("\\")"}) {
    EXPECT_TRUE(is_json_string(string)) << string;
  }
  for (const char* string : {"", "\"", "a", R"("a)", R"("\")", R"("a"b")", R"("\x")", R"("\u00g0")",
                             R"("\u00")", "\"\t\""}) {
    EXPECT_FALSE(is_json_string(string)) << string;
  }
  uint64_t value = 0;
  EXPECT_TRUE(parse_decimal("18446744073709551615", value));
  EXPECT_EQ(value, UINT64_MAX);
  EXPECT_FALSE(parse_decimal("18446744073709551616", value));
  EXPECT_FALSE(parse_decimal("012", value));
  char digits[kDecimalBytesMax];
  EXPECT_EQ(std::string(digits, write_decimal(digits, UINT64_MAX)), "18446744073709551615");
  EXPECT_EQ(decimal_bytes(UINT64_MAX), 20u);
  EXPECT_EQ(decimal_bytes(9), 1u);
  EXPECT_EQ(decimal_bytes(10), 2u);
}

}  // namespace
}  // namespace herald::protocol::pubsub
