// Slow-consumer logic: the decision at the bound per policy, gap counting with its limit,
// and the conflation index trusting only entries at or after the first free serial.
#include "broker/core/slow_consumer.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::broker::core {
namespace {

using protocol::pubsub::Policy;

TEST(SlowConsumerTest, DecisionAtTheBound) {
  for (Policy policy : {Policy::kDisconnect, Policy::kDrop, Policy::kConflate}) {
    EXPECT_EQ(decide(0, 100, 100, policy), SlowDecision::kEnqueue);
    EXPECT_EQ(decide(50, 50, 100, policy), SlowDecision::kEnqueue);
  }
  EXPECT_EQ(decide(51, 50, 100, Policy::kDisconnect), SlowDecision::kDisconnect);
  EXPECT_EQ(decide(51, 50, 100, Policy::kDrop), SlowDecision::kDrop);
  EXPECT_EQ(decide(51, 50, 100, Policy::kConflate), SlowDecision::kConflate);
  EXPECT_EQ(decide(0, 101, 100, Policy::kDrop), SlowDecision::kDrop);  // one frame too big
}

TEST(SlowConsumerTest, GapsCountPerTopicAndAreTakenOnce) {
  GapTable gaps;
  EXPECT_TRUE(gaps.empty());
  EXPECT_TRUE(gaps.add_missed("a"));
  EXPECT_TRUE(gaps.add_missed("a"));
  EXPECT_TRUE(gaps.add_missed("b"));
  EXPECT_EQ(gaps.take("a"), 2u);
  EXPECT_EQ(gaps.take("a"), 0u);
  EXPECT_EQ(gaps.take("c"), 0u);
  EXPECT_EQ(gaps.take("b"), 1u);
  EXPECT_TRUE(gaps.empty());
}

TEST(SlowConsumerTest, GapTableIsBounded) {
  GapTable gaps;
  for (size_t i = 0; i < GapTable::kTopicsMax; ++i) {
    ASSERT_TRUE(gaps.add_missed("t." + std::to_string(i)));
  }
  EXPECT_FALSE(gaps.add_missed("one.more"));
  EXPECT_TRUE(gaps.add_missed("t.0"));  // a known topic still counts
  EXPECT_EQ(gaps.size(), GapTable::kTopicsMax);
}

TEST(SlowConsumerTest, ConflateIndexTrustsOnlyFreeEntries) {
  ConflateIndex index;
  index.record("a", 5, 0);
  EXPECT_EQ(index.find("a", 5), 5u);
  EXPECT_EQ(index.find("a", 6), ConflateIndex::kNone);  // sent, or handed to a send in flight
  EXPECT_EQ(index.find("b", 0), ConflateIndex::kNone);
  index.record("a", 9, 6);  // the newest frame of the topic
  EXPECT_EQ(index.find("a", 6), 9u);
}

TEST(SlowConsumerTest, ConflateIndexPrunesStaleEntriesWhenFull) {
  ConflateIndex index;
  for (size_t i = 0; i < ConflateIndex::kTopicsMax; ++i) {
    index.record("t." + std::to_string(i), i, 0);
  }
  index.record("late", 5000, 0);  // full, nothing stale: not recorded
  EXPECT_EQ(index.find("late", 0), ConflateIndex::kNone);
  index.record("late", 5000, 10);  // entries 0..9 are stale now and make room
  EXPECT_EQ(index.find("late", 10), 5000u);
  EXPECT_LE(index.size(), ConflateIndex::kTopicsMax);
}

}  // namespace
}  // namespace herald::broker::core
