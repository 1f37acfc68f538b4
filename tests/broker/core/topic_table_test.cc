// TopicTable and owner_of: per-topic sequences from 1, the shared topic limit across tables,
// and a stable, in-range owner.
#include "broker/core/topic_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

namespace herald::broker::core {
namespace {

TEST(TopicTableTest, SequencesStartAtOneAndAreIndependent) {
  std::atomic<uint64_t> count{0};
  TopicTable table(count, 100);
  EXPECT_EQ(table.next_seq("a.b"), 1u);
  EXPECT_EQ(table.next_seq("a.b"), 2u);
  EXPECT_EQ(table.next_seq("a.c"), 1u);
  EXPECT_EQ(table.next_seq("a.b"), 3u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(count.load(), 2u);
}

TEST(TopicTableTest, TheLimitIsSharedAndOldTopicsStillWork) {
  std::atomic<uint64_t> count{0};
  TopicTable first(count, 2);
  TopicTable second(count, 2);
  EXPECT_EQ(first.next_seq("x"), 1u);
  EXPECT_EQ(second.next_seq("y"), 1u);
  EXPECT_EQ(first.next_seq("z"), 0u);  // too_many_topics
  EXPECT_EQ(second.next_seq("z"), 0u);
  EXPECT_EQ(count.load(), 2u);  // a refused topic gives its claim back
  EXPECT_EQ(first.next_seq("x"), 2u);
  EXPECT_EQ(second.next_seq("y"), 2u);
}

TEST(TopicTableTest, ContinuesAfterTheLogsLastSequence) {
  std::atomic<uint64_t> count{0};
  TopicTable table(count, 2);
  EXPECT_TRUE(table.continue_after("h.a", 41));
  EXPECT_EQ(table.next_seq("h.a"), 42u);
  // Never backwards: a lower last sequence leaves the table where it is.
  EXPECT_TRUE(table.continue_after("h.a", 10));
  EXPECT_EQ(table.next_seq("h.a"), 43u);
  EXPECT_TRUE(table.continue_after("h.b", 0));
  EXPECT_EQ(table.next_seq("h.b"), 1u);
  // Recovered topics count against the limit.
  EXPECT_FALSE(table.continue_after("h.c", 5));
  EXPECT_EQ(count.load(), 2u);
}

TEST(TopicTableTest, OwnerIsStableAndInRange) {
  std::vector<int> per_worker(4);
  for (int i = 0; i < 1000; ++i) {
    std::string topic = "t." + std::to_string(i);
    uint32_t owner = owner_of(topic, 4);
    ASSERT_LT(owner, 4u);
    EXPECT_EQ(owner_of(topic, 4), owner);
    ++per_worker[owner];
  }
  for (int share : per_worker) EXPECT_GT(share, 150);  // roughly even, none starved
  EXPECT_EQ(owner_of("anything", 1), 0u);
}

TEST(TopicTableTest, TakeBusiestCountsSequencesSinceTheLastCall) {
  std::atomic<uint64_t> count{0};
  TopicTable table(count, 100);
  ASSERT_TRUE(table.continue_after("restored", 50));  // restored numbers are not publishes
  for (int i = 0; i < 3; ++i) (void)table.next_seq("a");
  for (int i = 0; i < 5; ++i) (void)table.next_seq("b");
  (void)table.next_seq("c");
  (void)table.next_seq("restored");
  (void)table.next_seq("$sys.stats");
  std::vector<TopicRate> busiest;
  table.take_busiest(2, busiest);
  ASSERT_EQ(busiest.size(), 2u);
  EXPECT_EQ(busiest[0].topic, "b");
  EXPECT_EQ(busiest[0].publishes, 5u);
  EXPECT_EQ(busiest[1].topic, "a");
  EXPECT_EQ(busiest[1].publishes, 3u);
  table.take_busiest(10, busiest);
  EXPECT_TRUE(busiest.empty());  // nothing since the previous call
  (void)table.next_seq("c");
  (void)table.next_seq("restored");
  table.take_busiest(10, busiest);
  ASSERT_EQ(busiest.size(), 2u);
  EXPECT_EQ(busiest[0].topic, "c");  // a tie: by name
  EXPECT_EQ(busiest[1].topic, "restored");
  EXPECT_EQ(busiest[1].publishes, 1u);
}

}  // namespace
}  // namespace herald::broker::core
