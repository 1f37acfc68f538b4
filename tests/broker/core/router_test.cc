// Router: exact topics, '*' and '>' patterns, policy replacement, pruning, output order, and
// a randomized comparison with the reference matcher protocol::pubsub::filter_matches.
#include "broker/core/router.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "protocol/pubsub/topic.h"
#include "tests/test_seed.h"

namespace herald::broker::core {
namespace {

using protocol::pubsub::Policy;

using test_support::test_seed;

// The subscribers matching `topic`, sorted, one entry per matching filter.
std::vector<SubscriberId> subscribers_of(const Router& router, std::string_view topic) {
  std::vector<const Subscription*> out;
  router.match(topic, out);
  std::vector<SubscriberId> ids;
  for (const Subscription* subscription : out) ids.push_back(subscription->subscriber);
  std::sort(ids.begin(), ids.end());
  return ids;
}

using Ids = std::vector<SubscriberId>;

TEST(RouterTest, ExactTopicMatchesOnlyItself) {
  Router router;
  EXPECT_TRUE(router.subscribe("prices.nasdaq.AAPL", 1, Policy::kDrop));
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq.AAPL"), Ids{1});
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq.MSFT"), Ids{});
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq"), Ids{});
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq.AAPL.x"), Ids{});
  std::vector<const Subscription*> out;
  router.match("prices.nasdaq.AAPL", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->policy, Policy::kDrop);
  EXPECT_EQ(router.subscription_count(), 1u);
  EXPECT_EQ(router.exact_topic_count(), 1u);
}

TEST(RouterTest, StarMatchesExactlyOneToken) {
  Router router;
  ASSERT_TRUE(router.subscribe("prices.*.AAPL", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("*", 2, Policy::kDefault));
  EXPECT_EQ(router.exact_topic_count(), 0u);
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq.AAPL"), Ids{1});
  EXPECT_EQ(subscribers_of(router, "prices.nyse.AAPL"), Ids{1});
  EXPECT_EQ(subscribers_of(router, "prices.AAPL"), Ids{});
  EXPECT_EQ(subscribers_of(router, "prices.a.b.AAPL"), Ids{});
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq.MSFT"), Ids{});
  EXPECT_EQ(subscribers_of(router, "prices"), Ids{2});
  EXPECT_EQ(subscribers_of(router, "a.b"), Ids{});
}

TEST(RouterTest, TailMatchesOneOrMoreTokens) {
  Router router;
  ASSERT_TRUE(router.subscribe("prices.>", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe(">", 2, Policy::kDefault));
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq"), (Ids{1, 2}));
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq.AAPL"), (Ids{1, 2}));
  EXPECT_EQ(subscribers_of(router, "prices"), Ids{2});
  EXPECT_EQ(subscribers_of(router, "quotes.nasdaq"), Ids{2});
}

TEST(RouterTest, FirstPlaceWildcardsSkipReservedTopics) {
  Router router;
  ASSERT_TRUE(router.subscribe(">", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("*.stats", 2, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("$sys.>", 3, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("$sys.stats", 4, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("$sys.*", 5, Policy::kDefault));
  EXPECT_EQ(subscribers_of(router, "$sys.stats"), (Ids{3, 4, 5}));
  EXPECT_EQ(subscribers_of(router, "$sys.topics"), (Ids{3, 5}));
  EXPECT_EQ(subscribers_of(router, "sys.stats"), (Ids{1, 2}));
}

TEST(RouterTest, MixedWildcards) {
  Router router;
  ASSERT_TRUE(router.subscribe("*.nasdaq.>", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("prices.*.*", 2, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("*.*.AAPL", 3, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("prices.nasdaq.AAPL", 4, Policy::kDefault));
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq.AAPL"), (Ids{1, 2, 3, 4}));
  EXPECT_EQ(subscribers_of(router, "prices.nyse.AAPL"), (Ids{2, 3}));
  EXPECT_EQ(subscribers_of(router, "quotes.nasdaq.MSFT.x"), Ids{1});
  EXPECT_EQ(subscribers_of(router, "quotes.nasdaq"), Ids{});
  EXPECT_EQ(subscribers_of(router, "prices.nasdaq"), Ids{});
}

TEST(RouterTest, OverlappingFiltersOfOneSubscriberAllReturned) {
  Router router;
  for (const char* filter : {"a.b", "a.*", "a.>", "*.b", "*.*", ">", "*.>"}) {
    ASSERT_TRUE(router.subscribe(filter, 7, Policy::kDefault)) << filter;
  }
  EXPECT_EQ(subscribers_of(router, "a.b"), Ids(7, 7));
  EXPECT_EQ(subscribers_of(router, "a.c"), Ids(5, 7));    // a.* a.> *.* > *.>
  EXPECT_EQ(subscribers_of(router, "a.b.c"), Ids(3, 7));  // a.> > *.>
  EXPECT_EQ(router.subscription_count(), 7u);
}

TEST(RouterTest, SubscribingAgainReplacesPolicyAndKeepsOrder) {
  Router router;
  ASSERT_TRUE(router.subscribe("a.b", 1, Policy::kDrop));
  ASSERT_TRUE(router.subscribe("a.*", 1, Policy::kDrop));
  EXPECT_FALSE(router.subscribe("a.b", 1, Policy::kConflate));
  EXPECT_FALSE(router.subscribe("a.*", 1, Policy::kDisconnect));
  EXPECT_EQ(router.subscription_count(), 2u);
  std::vector<const Subscription*> out;
  router.match("a.b", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->policy, Policy::kConflate);
  EXPECT_EQ(out[0]->order, 1u);
  EXPECT_EQ(out[1]->policy, Policy::kDisconnect);
  EXPECT_EQ(out[1]->order, 2u);
}

TEST(RouterTest, OrderIncreasesWithEachNewSubscription) {
  Router router;
  ASSERT_TRUE(router.subscribe("t", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("t", 2, Policy::kDefault));
  ASSERT_TRUE(router.subscribe(">", 1, Policy::kDefault));
  ASSERT_FALSE(router.subscribe("t", 1, Policy::kDrop));
  ASSERT_TRUE(router.unsubscribe("t", 2));
  ASSERT_TRUE(router.subscribe("t", 2, Policy::kDefault));  // new again: a new order
  std::vector<const Subscription*> out;
  router.match("t", out);
  std::vector<std::tuple<SubscriberId, uint64_t>> orders;
  for (const Subscription* subscription : out) {
    orders.emplace_back(subscription->subscriber, subscription->order);
  }
  std::sort(orders.begin(), orders.end());
  EXPECT_EQ(orders, (std::vector<std::tuple<SubscriberId, uint64_t>>{{1, 1}, {1, 3}, {2, 4}}));
}

TEST(RouterTest, ExactSubscriptionsComeBeforePatternOnes) {
  Router router;
  ASSERT_TRUE(router.subscribe("a.>", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("a.*", 2, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("a.b", 3, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("a.b", 4, Policy::kDefault));
  std::vector<const Subscription*> out;
  router.match("a.b", out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(std::min(out[0]->subscriber, out[1]->subscriber), 3u);
  EXPECT_EQ(std::max(out[0]->subscriber, out[1]->subscriber), 4u);
  EXPECT_EQ(std::min(out[2]->subscriber, out[3]->subscriber), 1u);
  EXPECT_EQ(std::max(out[2]->subscriber, out[3]->subscriber), 2u);
}

TEST(RouterTest, MatchAppendsWithoutClearing) {
  Router router;
  ASSERT_TRUE(router.subscribe("a", 1, Policy::kDefault));
  std::vector<const Subscription*> out;
  router.match("a", out);
  router.match("a", out);
  router.match("b", out);
  EXPECT_EQ(out.size(), 2u);
}

TEST(RouterTest, UnsubscribeOfAbsentFilterReturnsFalse) {
  Router router;
  ASSERT_TRUE(router.subscribe("a.b", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("a.*.c", 1, Policy::kDefault));
  EXPECT_FALSE(router.unsubscribe("a.b", 2));
  EXPECT_FALSE(router.unsubscribe("a.c", 1));
  EXPECT_FALSE(router.unsubscribe("a.*", 1));    // a prefix of a held pattern
  EXPECT_FALSE(router.unsubscribe("a.>", 1));    // a node exists, its '>' list is empty
  EXPECT_FALSE(router.unsubscribe("a.*.c", 2));  // the pattern, another subscriber
  EXPECT_FALSE(router.unsubscribe("a.>.c", 1));  // invalid: never held
  EXPECT_FALSE(router.unsubscribe("", 1));
  EXPECT_EQ(router.subscription_count(), 2u);
}

TEST(RouterTest, UnsubscribePrunesAndResubscribeWorks) {
  Router router;
  const std::vector<std::string> filters = {"a",   "a.b",   "a.b.c", "a.*", "a.*.c",
                                            "a.>", "*.b.>", ">",     "*",   "a.b.*"};
  for (int round = 0; round < 2; ++round) {
    for (SubscriberId subscriber = 1; subscriber <= 3; ++subscriber) {
      for (const std::string& filter : filters) {
        ASSERT_TRUE(router.subscribe(filter, subscriber, Policy::kDefault)) << filter;
      }
    }
    EXPECT_EQ(router.subscription_count(), 3 * filters.size());
    EXPECT_EQ(router.exact_topic_count(), 3u);
    EXPECT_EQ(subscribers_of(router, "a.b.c").size(), 3u * 6);  // a.b.c a.*.c a.> *.b.> > a.b.*
    for (SubscriberId subscriber = 1; subscriber <= 3; ++subscriber) {
      for (const std::string& filter : filters) {
        ASSERT_TRUE(router.unsubscribe(filter, subscriber)) << filter;
        ASSERT_FALSE(router.unsubscribe(filter, subscriber)) << filter;
      }
    }
    EXPECT_EQ(router.subscription_count(), 0u);
    EXPECT_EQ(router.exact_topic_count(), 0u);
    EXPECT_TRUE(router.empty());
    EXPECT_EQ(subscribers_of(router, "a.b.c"), Ids{});
    EXPECT_EQ(subscribers_of(router, "a"), Ids{});
  }
}

TEST(RouterTest, PruningKeepsNodesOthersStillUse) {
  Router router;
  ASSERT_TRUE(router.subscribe("a.*.c.d", 1, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("a.*", 2, Policy::kDefault));
  ASSERT_TRUE(router.subscribe("a.*.c.>", 3, Policy::kDefault));
  ASSERT_TRUE(router.unsubscribe("a.*.c.d", 1));
  EXPECT_EQ(subscribers_of(router, "a.x"), Ids{2});
  EXPECT_EQ(subscribers_of(router, "a.x.c.d"), Ids{3});
  ASSERT_TRUE(router.unsubscribe("a.*", 2));
  EXPECT_EQ(subscribers_of(router, "a.x.c.d.e"), Ids{3});
  ASSERT_TRUE(router.unsubscribe("a.*.c.>", 3));
  EXPECT_TRUE(router.empty());
  ASSERT_TRUE(router.subscribe("a.*.c.d", 1, Policy::kDefault));
  EXPECT_EQ(subscribers_of(router, "a.x.c.d"), Ids{1});
}

// Pruning is visible only as memory: after a full unsubscribe the router holds what an empty
// one holds. The slack covers glibc's thread cache, whose free chunks mallinfo2 counts as in
// use (up to 7 per size class), and a map's minimum bucket array.
TEST(RouterTest, UnsubscribeReturnsMemory) {
  Router router;
  std::vector<std::string> filters;
  for (int i = 0; i < 6000; ++i) {
    const std::string id = std::to_string(i);
    filters.push_back("user." + id + ".inbox.messages.unread");
    filters.push_back("user." + id + ".*.>");
    filters.push_back("*." + id + ".status");
  }
  filters.push_back("crowded.topic");
  const size_t before = mallinfo2().uordblks;
  for (const std::string& filter : filters) {
    for (SubscriberId subscriber = 1; subscriber <= 2; ++subscriber) {
      if (!router.subscribe(filter, subscriber, Policy::kDefault)) FAIL() << filter;
    }
  }
  for (SubscriberId subscriber = 3; subscriber < 1000; ++subscriber) {
    if (!router.subscribe("crowded.topic", subscriber, Policy::kDefault)) FAIL();
  }
  const size_t peak = mallinfo2().uordblks;
  if (peak <= before) GTEST_SKIP() << "this allocator does not report mallinfo2";
  for (const std::string& filter : filters) {
    for (SubscriberId subscriber = 1; subscriber <= 2; ++subscriber) {
      if (!router.unsubscribe(filter, subscriber)) FAIL() << filter;
    }
  }
  for (SubscriberId subscriber = 3; subscriber < 1000; ++subscriber) {
    if (!router.unsubscribe("crowded.topic", subscriber)) FAIL();
  }
  const size_t after = mallinfo2().uordblks;
  EXPECT_GT(peak - before, 1'000'000u);
  EXPECT_LE(after - std::min(after, before), 32u * 1024) << "peak " << peak - before;
  EXPECT_TRUE(router.empty());
}

// Many subscribers on one filter: the list grows past its index threshold, shrinks back to
// one inline item, and removal in random order keeps exactly the right set.
TEST(RouterTest, ManySubscribersOnOneTopicSurviveRandomRemoval) {
  std::mt19937_64 rng(test_seed());
  for (const char* filter : {"big.topic", "big.*"}) {
    Router router;
    constexpr SubscriberId kSubscribers = 10'000;
    std::vector<SubscriberId> live;
    for (SubscriberId id = 0; id < kSubscribers; ++id) {
      const SubscriberId subscriber = id * 7919 + 3;  // sparse ids, as a connection id might be
      ASSERT_TRUE(router.subscribe(filter, subscriber, Policy::kDefault));
      live.push_back(subscriber);
    }
    ASSERT_FALSE(router.subscribe(filter, live[1234], Policy::kDrop));
    std::shuffle(live.begin(), live.end(), rng);
    while (!live.empty()) {
      const size_t remove = std::min<size_t>(live.size(), 1 + rng() % 700);
      for (size_t i = 0; i < remove; ++i) {
        ASSERT_TRUE(router.unsubscribe(filter, live.back())) << "seed " << test_seed();
        ASSERT_FALSE(router.unsubscribe(filter, live.back())) << "seed " << test_seed();
        live.pop_back();
      }
      std::vector<SubscriberId> expected = live;
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(subscribers_of(router, "big.topic"), expected) << "seed " << test_seed();
      ASSERT_EQ(router.subscription_count(), live.size());
    }
    EXPECT_TRUE(router.empty());
    EXPECT_EQ(router.exact_topic_count(), 0u);
  }
}

// The naive model: every subscription in a list, matched with the reference matcher.
struct ModelEntry {
  std::string filter;
  SubscriberId subscriber;
  Policy policy;
  uint64_t order;
};

using Match = std::tuple<SubscriberId, Policy, uint64_t>;

std::vector<Match> sorted_matches(std::vector<Match> matches) {
  std::sort(matches.begin(), matches.end());
  return matches;
}

std::string random_tokens(std::mt19937_64& rng, bool wildcards, size_t depth_max) {
  static constexpr const char* kTokens[] = {"a", "b", "c", "*", ">"};
  const size_t depth = 1 + rng() % depth_max;
  std::string text;
  for (size_t i = 0; i < depth; ++i) {
    if (i > 0) text += '.';
    text += kTokens[rng() % (wildcards ? 5 : 3)];
  }
  return text;
}

// Compares one match with the model: the exact topic's subscriptions first, then patterns.
void expect_match_equals_model(const Router& router, const std::vector<ModelEntry>& model,
                               const std::string& topic) {
  std::vector<Match> exact;
  std::vector<Match> patterns;
  for (const ModelEntry& entry : model) {
    if (!protocol::pubsub::filter_matches(entry.filter, topic)) continue;
    (entry.filter == topic ? exact : patterns)
        .emplace_back(entry.subscriber, entry.policy, entry.order);
  }
  std::vector<const Subscription*> out;
  router.match(topic, out);
  ASSERT_EQ(out.size(), exact.size() + patterns.size()) << topic << " seed " << test_seed();
  std::vector<Match> got_exact;
  std::vector<Match> got_patterns;
  for (size_t i = 0; i < out.size(); ++i) {
    (i < exact.size() ? got_exact : got_patterns)
        .emplace_back(out[i]->subscriber, out[i]->policy, out[i]->order);
  }
  ASSERT_EQ(sorted_matches(got_exact), sorted_matches(exact)) << topic << " seed " << test_seed();
  ASSERT_EQ(sorted_matches(got_patterns), sorted_matches(patterns))
      << topic << " seed " << test_seed();
}

void run_against_model(uint64_t seed, SubscriberId subscribers, size_t depth_max, int operations) {
  std::mt19937_64 rng(seed);
  Router router;
  std::vector<ModelEntry> model;
  uint64_t next_order = 1;
  for (int op = 0; op < operations; ++op) {
    const unsigned kind = rng() % 10;
    if (kind < 5) {  // subscribe
      const std::string filter = random_tokens(rng, true, depth_max);
      if (protocol::pubsub::check_filter(filter) != protocol::pubsub::TopicError::kNone) continue;
      const SubscriberId subscriber = rng() % subscribers;
      const auto policy = static_cast<Policy>(rng() % 4);
      const auto it = std::find_if(model.begin(), model.end(), [&](const ModelEntry& entry) {
        return entry.filter == filter && entry.subscriber == subscriber;
      });
      ASSERT_EQ(router.subscribe(filter, subscriber, policy), it == model.end()) << filter;
      if (it == model.end()) {
        model.push_back({filter, subscriber, policy, next_order++});
      } else {
        it->policy = policy;
      }
    } else if (kind < 8) {  // unsubscribe: mostly a held one
      std::string filter = random_tokens(rng, true, depth_max);
      SubscriberId subscriber = rng() % subscribers;
      if (!model.empty() && rng() % 4 != 0) {
        const ModelEntry& held = model[rng() % model.size()];
        filter = held.filter;
        subscriber = held.subscriber;
      }
      const auto it = std::find_if(model.begin(), model.end(), [&](const ModelEntry& entry) {
        return entry.filter == filter && entry.subscriber == subscriber;
      });
      ASSERT_EQ(router.unsubscribe(filter, subscriber), it != model.end()) << filter;
      if (it != model.end()) model.erase(it);
    } else {
      const std::string topic = random_tokens(rng, false, depth_max);
      ASSERT_NO_FATAL_FAILURE(expect_match_equals_model(router, model, topic));
    }
    ASSERT_EQ(router.subscription_count(), model.size());
  }
}

TEST(RouterTest, RandomizedAgainstNaiveModel) {
  for (uint64_t round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " seed " + std::to_string(test_seed()));
    ASSERT_NO_FATAL_FAILURE(run_against_model(test_seed() + round, 8, 4, 3000));
  }
}

// Few filters, many subscribers: lists cross the index threshold in both directions.
TEST(RouterTest, RandomizedAgainstNaiveModelWithCrowdedFilters) {
  for (uint64_t round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + " seed " + std::to_string(test_seed()));
    ASSERT_NO_FATAL_FAILURE(run_against_model(test_seed() + 100 + round, 200, 2, 10000));
  }
}

}  // namespace
}  // namespace herald::broker::core
