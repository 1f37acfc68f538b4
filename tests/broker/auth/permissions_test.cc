// Permission patterns: coverage of a subscribe filter by an allowed pattern, and publishing.
#include "broker/auth/permissions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/pubsub/topic.h"

namespace herald::broker::auth {
namespace {

TEST(PermissionsTest, Coverage) {
  struct Case {
    const char* allowed;
    const char* filter;
    bool covers;
  };
  const Case cases[] = {
      {"a.b", "a.b", true},     {"a.b", "a.c", false},    {"a.b", "a.b.c", false},
      {"a.b.c", "a.b", false},  {"a.*", "a.b", true},     {"a.*", "a.*", true},
      {"a.*", "a.>", false},    {"a.*", "a.b.c", false},  {"a.>", "a.b", true},
      {"a.>", "a.b.c.d", true}, {"a.>", "a.*", true},     {"a.>", "a.>", true},
      {"a.>", "a.*.>", true},   {"a.>", "a", false},      {">", "a", true},
      {">", ">", true},         {"*", ">", false},        {"*.b", "*.b", true},
      {"*.b", "a.*", false},    {"a.*.c", "a.*.c", true}, {"a.*.c", "a.>", false},
      {"a.b", "a.*", false},    {"a.b", "*", false},      {"*.*", "a.*", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(filter_covers(c.allowed, c.filter), c.covers) << c.allowed << " / " << c.filter;
  }
}

// On concrete topics coverage is matching: compare with the protocol's reference matcher.
TEST(PermissionsTest, CoverageOfTopicsIsMatching) {
  const char* patterns[] = {"a", "a.b", "a.*", "*.b", "a.>", ">", "*", "a.*.c", "*.*"};
  const char* topics[] = {"a", "b", "a.b", "a.c", "b.b", "a.b.c", "a.x.c", "x.y.z"};
  for (const char* pattern : patterns) {
    for (const char* topic : topics) {
      EXPECT_EQ(filter_covers(pattern, topic), protocol::pubsub::filter_matches(pattern, topic))
          << pattern << " / " << topic;
    }
  }
}

TEST(PermissionsTest, AnyOnePatternSuffices) {
  const std::vector<std::string> allowed = {"prices.nasdaq.*", "news.>"};
  EXPECT_TRUE(may_subscribe(allowed, "prices.nasdaq.AAPL"));
  EXPECT_TRUE(may_subscribe(allowed, "prices.nasdaq.*"));
  EXPECT_TRUE(may_subscribe(allowed, "news.tech.>"));
  EXPECT_FALSE(may_subscribe(allowed, "prices.>"));
  EXPECT_FALSE(may_subscribe(allowed, "prices.nyse.IBM"));
  EXPECT_TRUE(may_publish(allowed, "news.x"));
  EXPECT_FALSE(may_publish(allowed, "other"));
  EXPECT_FALSE(may_subscribe({}, "a"));
  EXPECT_FALSE(may_publish({}, "a"));
}

}  // namespace
}  // namespace herald::broker::auth
