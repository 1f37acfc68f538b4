// herald-bench's reading of the broker's /metrics: counters summed over their samples, names
// that only share a prefix ignored; and the regime computed from two scrapes, or left out.
#include "clients/cpp/bench/broker_metrics.h"

#include <gtest/gtest.h>

namespace herald::bench {
namespace {

constexpr std::string_view kText =
    "# HELP herald_sends_total Sends submitted to the kernel.\n"
    "# TYPE herald_sends_total counter\n"
    "herald_sends_total 1200\n"
    "herald_sends_total_other 7\n"
    "herald_send_buffers_total{worker=\"0\"} 5000\n"
    "herald_send_buffers_total{worker=\"1\"} 7000 1700000000000\n"
    "herald_messages_delivered_total 11999\n";

TEST(PrometheusSumTest, SumsSamplesWithAndWithoutLabels) {
  EXPECT_EQ(prometheus_sum(kText, "herald_sends_total"), 1200u);
  EXPECT_EQ(prometheus_sum(kText, "herald_send_buffers_total"), 12000u);
  EXPECT_EQ(prometheus_sum(kText, "herald_messages_delivered_total"), 11999u);
}

TEST(PrometheusSumTest, AbsentNameIsNullopt) {
  EXPECT_EQ(prometheus_sum(kText, "herald_sends"), std::nullopt);
  EXPECT_EQ(prometheus_sum("", "herald_sends_total"), std::nullopt);
  EXPECT_EQ(prometheus_sum("herald_sends_total x\n", "herald_sends_total"), std::nullopt);
}

TEST(RegimeTest, FromTwoScrapes) {
  Options options;
  options.publish_window = 10;
  const BrokerCounters before{1'000'000'000, 100, 1000, 5000};
  const BrokerCounters after{3'000'000'000, 2100, 21000, 205000};
  const Regime regime = compute_regime(options, 10000, before, after);
  EXPECT_EQ(regime.in_flight, 100000u);
  EXPECT_DOUBLE_EQ(*regime.sends_per_s, 1000);
  EXPECT_DOUBLE_EQ(*regime.frames_per_send, 10);
  EXPECT_DOUBLE_EQ(*regime.broker_deliveries_per_s, 100000);
}

TEST(RegimeTest, NullWithoutCountersAndInFlightNullWithARate) {
  Options options;
  options.rate = 100;
  const Regime regime = compute_regime(options, 1000, std::nullopt, std::nullopt);
  EXPECT_FALSE(regime.in_flight.has_value());
  EXPECT_FALSE(regime.sends_per_s.has_value());
  EXPECT_FALSE(regime.frames_per_send.has_value());
  JsonWriter out;
  write_regime(options, 1000, std::nullopt, std::nullopt, out);
  const std::string line = out.finish();
  EXPECT_NE(line.find("\"deliveries_in_flight\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"broker_counters\":false"), std::string::npos) << line;
  EXPECT_NE(line.find("\"frames_per_send\":null"), std::string::npos) << line;
}

}  // namespace
}  // namespace herald::bench
