// StatsBoard and StatsPublisher without a broker: merging the workers' busiest topics with
// their subscriber counts, and the $sys.stats and $sys.topics JSON (parsed back, field by
// field) with rates from counter deltas.
#include "broker/net/stats_publisher.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "broker/net/readiness.h"

namespace herald::broker::net {
namespace {

TEST(StatsBoardTest, MergesTheBusiestAndCountsSubscribersOfTheWatchedList) {
  StatsBoard board(2);
  board.post(0, {{"a", 5}, {"b", 1}}, {}, {});
  board.post(1, {{"c", 7}}, {}, {});
  std::vector<BusyTopic> merged = board.merge(2);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].topic, "c");
  EXPECT_EQ(merged[1].topic, "a");
  EXPECT_EQ(merged[0].subscribers, -1);  // not counted by every worker yet
  EXPECT_EQ(board.watched(), (std::vector<std::string>{"c", "a"}));
  board.post(0, {{"a", 5}}, {"c", "a"}, {2, 0});
  board.post(1, {{"c", 7}}, {"c", "a"}, {1, 3});
  merged = board.merge(20);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].subscribers, 3);
  EXPECT_EQ(merged[1].subscribers, 3);
}

TEST(StatsPublisherTest, RatesComeFromCounterDeltasOverTheInterval) {
  StatsPublisher publisher(1000);
  std::vector<core::WorkerMetrics> workers(2);
  workers[0].connections = 3;
  workers[1].subscriptions = 4;
  workers[0].messages_published = 100;
  workers[1].refusals[static_cast<size_t>(core::Refusal::kForbidden)] = 2;
  StatsState state;
  state.topics = 6;
  (void)publisher.stats_json(workers, state, 2000, 1'700'000'000'000);
  workers[0].messages_published += 50;
  workers[1].messages_delivered += 200;
  workers[1].busy_ns += 250'000'000;
  state.history = true;
  state.not_ready = static_cast<uint32_t>(NotReady::kStorageBusy);
  const std::string json = publisher.stats_json(workers, state, 2500, 1'700'000'000'500);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  EXPECT_EQ(uint64_t(root["interval_ms"]), 500u);
  EXPECT_EQ(uint64_t(root["uptime_s"]), 1u);
  EXPECT_EQ(uint64_t(root["connections"]), 3u);
  EXPECT_EQ(uint64_t(root["subscriptions"]), 4u);
  EXPECT_EQ(uint64_t(root["topics"]), 6u);
  EXPECT_DOUBLE_EQ(double(root["publishes_per_s"]), 100.0);
  EXPECT_DOUBLE_EQ(double(root["deliveries_per_s"]), 400.0);
  EXPECT_EQ(uint64_t(root["publishes_total"]), 150u);
  EXPECT_EQ(uint64_t(root["refusals"]["forbidden"]), 2u);
  EXPECT_EQ(uint64_t(root["slow_consumers"]["drop"]), 0u);
  EXPECT_DOUBLE_EQ(double(root["workers"].at(1)["busy"]), 0.5);
  EXPECT_EQ(std::string_view(root["storage"]), "busy");
  EXPECT_TRUE(root["redis"].is_null());
  const std::string topics = publisher.topics_json({{"a.b", 10, 2}, {"c", 5, -1}}, 1);
  ASSERT_EQ(parser.parse(topics).get(root), simdjson::SUCCESS) << topics;
  EXPECT_EQ(std::string_view(root["topics"].at(0)["topic"]), "a.b");
  EXPECT_DOUBLE_EQ(double(root["topics"].at(0)["publishes_per_s"]), 20.0);
  EXPECT_EQ(int64_t(root["topics"].at(0)["subscribers"]), 2);
  EXPECT_TRUE(root["topics"].at(1)["subscribers"].is_null());
}

}  // namespace
}  // namespace herald::broker::net
