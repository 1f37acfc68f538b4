// Topic and pattern validation (PROTOCOL.md section 2) at every limit and for every error
// class, and the reference matcher filter_matches on '*' and '>' edge cases.
#include "protocol/pubsub/topic.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::protocol::pubsub {
namespace {

// `count` tokens of `token` joined by '.'.
std::string tokens(size_t count, const std::string& token = "a") {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i != 0) out += '.';
    out += token;
  }
  return out;
}

struct TopicCase {
  std::string text;
  TopicError as_topic;
  TopicError as_filter;
};

TEST(TopicTest, ValidatesTopicsAndFilters) {
  const TopicCase cases[] = {
      {"a", TopicError::kNone, TopicError::kNone},
      {"prices.nasdaq.AAPL", TopicError::kNone, TopicError::kNone},
      {"Az09_-:@~+=#", TopicError::kNone, TopicError::kNone},
      {"a.b_c.d-e.f:g.h@i.j~k.l+m.n=o.p#q", TopicError::kNone, TopicError::kNone},
      {"", TopicError::kEmpty, TopicError::kEmpty},
      {".", TopicError::kEmptyToken, TopicError::kEmptyToken},
      {"a..b", TopicError::kEmptyToken, TopicError::kEmptyToken},
      {".a", TopicError::kEmptyToken, TopicError::kEmptyToken},
      {"a.", TopicError::kEmptyToken, TopicError::kEmptyToken},
      {"a b", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"a/b", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"a\\b", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"a\"b", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"caf\xc3\xa9", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {std::string("a\0b", 3), TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"a\x7f", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"a$", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"$sys.stats", TopicError::kNone, TopicError::kNone},
      {"$sys", TopicError::kNone, TopicError::kNone},
      {"$sys.>", TopicError::kWildcardTopic, TopicError::kNone},
      {"a.$sys", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"$system", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"$", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"sys$.a", TopicError::kBadCharacter, TopicError::kBadCharacter},
      {"*", TopicError::kWildcardTopic, TopicError::kNone},
      {">", TopicError::kWildcardTopic, TopicError::kNone},
      {"prices.*.AAPL", TopicError::kWildcardTopic, TopicError::kNone},
      {"prices.>", TopicError::kWildcardTopic, TopicError::kNone},
      {"*.*.>", TopicError::kWildcardTopic, TopicError::kNone},
      {"pri*", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {"a.*b", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {"a.b>", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {"a.>>", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {"a.**", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {">.a", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {"a.>.b", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {">.>", TopicError::kBadWildcard, TopicError::kBadWildcard},
      {"a.>.", TopicError::kBadWildcard, TopicError::kBadWildcard},
  };
  for (const TopicCase& c : cases) {
    EXPECT_EQ(check_topic(c.text), c.as_topic) << c.text;
    EXPECT_EQ(check_filter(c.text), c.as_filter) << c.text;
  }
}

TEST(TopicTest, EnforcesTheByteLimit) {
  const std::string at_limit(kTopicBytesMax, 'x');
  EXPECT_EQ(check_topic(at_limit), TopicError::kNone);
  EXPECT_EQ(check_topic(at_limit + "x"), TopicError::kTooLong);
  EXPECT_EQ(check_filter(at_limit + "x"), TopicError::kTooLong);
  // 255 bytes of several tokens, and a 256-byte pattern.
  const std::string dotted = std::string(127, 'a') + "." + std::string(127, 'b');
  ASSERT_EQ(dotted.size(), 255u);
  EXPECT_EQ(check_topic(dotted), TopicError::kNone);
  EXPECT_EQ(check_filter(std::string(254, 'a') + ".>"), TopicError::kTooLong);
  EXPECT_EQ(check_filter(std::string(253, 'a') + ".>"), TopicError::kNone);
}

TEST(TopicTest, EnforcesTheDepthLimit) {
  EXPECT_EQ(check_topic(tokens(kTopicTokensMax)), TopicError::kNone);
  EXPECT_EQ(check_topic(tokens(kTopicTokensMax + 1)), TopicError::kTooDeep);
  EXPECT_EQ(check_filter(tokens(kTopicTokensMax - 1) + ".>"), TopicError::kNone);
  EXPECT_EQ(check_filter(tokens(kTopicTokensMax) + ".>"), TopicError::kTooDeep);
  EXPECT_EQ(check_filter(tokens(kTopicTokensMax, "*")), TopicError::kNone);
  EXPECT_EQ(check_filter(tokens(kTopicTokensMax + 1, "*")), TopicError::kTooDeep);
}

TEST(TopicTest, TellsPatternsFromTopics) {
  EXPECT_FALSE(is_pattern("a.b"));
  EXPECT_TRUE(is_pattern("a.*"));
  EXPECT_TRUE(is_pattern(">"));
  EXPECT_TRUE(is_pattern("*.b"));
  EXPECT_FALSE(is_pattern("a*"));  // invalid, so not a pattern either
  EXPECT_FALSE(is_pattern(""));
}

TEST(TopicTest, HasAShortTextForEveryError) {
  for (const TopicError error :
       {TopicError::kNone, TopicError::kEmpty, TopicError::kTooLong, TopicError::kTooDeep,
        TopicError::kEmptyToken, TopicError::kBadCharacter, TopicError::kBadWildcard,
        TopicError::kWildcardTopic}) {
    EXPECT_FALSE(topic_error_text(error).empty());
    EXPECT_LE(topic_error_text(error).size(), 60u);
  }
  EXPECT_EQ(topic_error_text(TopicError::kEmptyToken), "empty token in topic");
}

struct MatchCase {
  const char* filter;
  const char* topic;
  bool matches;
};

TEST(TopicMatchTest, MatchesTokenByToken) {
  const MatchCase cases[] = {
      {"a", "a", true},
      {"a", "b", false},
      {"a", "ab", false},
      {"ab", "a", false},
      {"a.b", "a.b", true},
      {"a.b", "a", false},
      {"a", "a.b", false},
      {"a.b", "a.bc", false},
      {"*", "a", true},
      {"*", "a.b", false},
      {"prices.*.AAPL", "prices.nasdaq.AAPL", true},
      {"prices.*.AAPL", "prices.AAPL", false},
      {"prices.*.AAPL", "prices.a.b.AAPL", false},
      {"*.*", "a.b", true},
      {"*.*", "a", false},
      {"*.*", "a.b.c", false},
      {">", "a", true},
      {">", "a.b.c", true},
      {"a.>", "a", false},
      {"a.>", "a.b", true},
      {"a.>", "a.b.c", true},
      {"a.>", "b.c", false},
      {"a.>", "ab.c", false},
      {"prices.>", "prices.nasdaq", true},
      {"prices.>", "prices", false},
      {"*.>", "a", false},
      {"*.>", "a.b", true},
      {"*.b.>", "a.b.c.d", true},
      {"*.b.>", "a.c.c.d", false},
      {"a.*.>", "a.b", false},
  };
  for (const MatchCase& c : cases) {
    ASSERT_EQ(check_filter(c.filter), TopicError::kNone) << c.filter;
    ASSERT_EQ(check_topic(c.topic), TopicError::kNone) << c.topic;
    EXPECT_EQ(filter_matches(c.filter, c.topic), c.matches) << c.filter << " vs " << c.topic;
  }
}

TEST(TopicMatchTest, AnExactFilterMatchesOnlyItself) {
  const std::string deep = tokens(kTopicTokensMax, "t");
  EXPECT_TRUE(filter_matches(deep, deep));
  EXPECT_FALSE(filter_matches(deep, tokens(kTopicTokensMax - 1, "t")));
  EXPECT_TRUE(filter_matches(tokens(kTopicTokensMax, "*"), deep));
  EXPECT_TRUE(filter_matches(">", deep));
  EXPECT_TRUE(filter_matches(">", std::string(kTopicBytesMax, 'z')));
  EXPECT_TRUE(filter_matches(tokens(kTopicTokensMax - 1, "*") + ".>", deep));
}

// NATS's rule for '$' subjects: a first-place wildcard never reaches the reserved topics.
TEST(TopicMatchTest, AFirstPlaceWildcardSkipsReservedTopics) {
  EXPECT_TRUE(is_reserved("$sys.stats"));
  EXPECT_FALSE(is_reserved("sys.stats"));
  EXPECT_FALSE(filter_matches(">", "$sys.stats"));
  EXPECT_FALSE(filter_matches("*.stats", "$sys.stats"));
  EXPECT_FALSE(filter_matches("*", "$sys"));
  EXPECT_TRUE(filter_matches("$sys.>", "$sys.stats"));
  EXPECT_TRUE(filter_matches("$sys.*", "$sys.topics"));
  EXPECT_TRUE(filter_matches("$sys.stats", "$sys.stats"));
  EXPECT_TRUE(filter_matches(">", "sys.stats"));
}

}  // namespace
}  // namespace herald::protocol::pubsub
