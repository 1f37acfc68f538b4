// Prometheus text rendering: HELP and TYPE before each family, sums over workers, labels,
// busy seconds per worker; and Counter's single-writer arithmetic.
#include "broker/core/metrics.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace herald::broker::core {
namespace {

TEST(MetricsTest, CounterAddsAndSets) {
  Counter counter;
  ++counter;
  counter += 41;
  EXPECT_EQ(counter.load(), 42u);
  counter.set(7);
  EXPECT_EQ(counter.load(), 7u);
}

TEST(MetricsTest, RendersSumsLabelsAndBusySeconds) {
  std::vector<WorkerMetrics> workers(2);
  workers[0].connections = 3;
  workers[1].connections = 4;
  workers[0].messages_delivered = 10;
  workers[1].messages_delivered = 5;
  workers[1].slow_consumer[static_cast<size_t>(SlowConsumerAction::kConflate)] = 2;
  workers[0].close_codes[7] = 6;  // 1007
  workers[1].busy_ns = 1'500'000'000;
  workers[0].tls_handshake_failures = 2;
  workers[1].tls_handshake_failures = 1;
  workers[1].tls_handshakes = 8;
  workers[0].tls_resumptions = 5;
  workers[0].replays = 2;
  workers[1].replays = 1;
  workers[1].replayed_messages = 40;
  workers[0].catchups = 1;
  workers[0].storage_failures = 3;
  workers[1].storage_failures = 4;
  std::string text = render_metrics(workers, 9);
  for (const char* line : {
           "herald_connections 7\n",
           "herald_topics 9\n",
           "herald_messages_delivered_total 15\n",
           "herald_slow_consumer_total{policy=\"conflate\"} 2\n",
           "herald_slow_consumer_total{policy=\"drop\"} 0\n",
           "herald_protocol_errors_total{code=\"1007\"} 6\n",
           "herald_close_codes_total{code=\"1007\"} 6\n",
           "herald_close_codes_total{code=\"1000\"} 0\n",
           "herald_tls_handshakes_total 8\n",
           "herald_tls_resumptions_total 5\n",
           "herald_tls_handshake_failures_total 3\n",
           "herald_replays_total 3\n",
           "herald_replayed_messages_total 40\n",
           "herald_catchups_total 1\n",
           "herald_storage_failures_total 7\n",
           "herald_worker_busy_seconds_total{worker=\"0\"} 0.000000000\n",
           "herald_worker_busy_seconds_total{worker=\"1\"} 1.500000000\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

TEST(MetricsTest, RefusalsByReason) {
  std::vector<WorkerMetrics> workers(2);
  workers[0].refusals[static_cast<size_t>(Refusal::kOrigin)] = 2;
  workers[1].refusals[static_cast<size_t>(Refusal::kOrigin)] = 3;
  workers[1].refusals[static_cast<size_t>(Refusal::kProxyHeader)] = 1;
  const std::string text = render_metrics(workers, 0);
  EXPECT_NE(text.find("herald_refusals_total{reason=\"origin\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("herald_refusals_total{reason=\"proxy_header\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("herald_refusals_total{reason=\"connections\"} 0\n"), std::string::npos);
  for (size_t i = 0; i < kRefusalKinds; ++i) {
    EXPECT_FALSE(refusal_name(static_cast<Refusal>(i)).empty()) << i;
  }
}

TEST(MetricsTest, EveryFamilyHasHelpAndTypeBeforeItsSamples) {
  std::vector<WorkerMetrics> workers(1);
  std::istringstream lines(render_metrics(workers, 0));
  std::string line;
  std::string help_for;
  std::string type_for;
  int families = 0;
  while (std::getline(lines, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      help_for = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      type_for = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(type_for, help_for);
      std::string type = line.substr(line.rfind(' ') + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      EXPECT_EQ(type == "counter", type_for.ends_with("_total")) << line;
      ++families;
      continue;
    }
    std::string name = line.substr(0, line.find_first_of("{ "));
    EXPECT_EQ(name, type_for) << line;
  }
  // The 20 of before (12, three TLS families, refusals by reason, and four of history:
  // replays, replayed messages, catch-ups and storage failures), and 14 that were counted
  // but not exported: connections closed and refused, messages in and out, I/O errors,
  // abnormal closes, three timeouts, receive pauses and buffer shortages, channel overflows,
  // close codes and other close codes; closes by reason (core::CloseReason); the drain's
  // reconnect notices; and seven of permessage-deflate: agreements, frames compressed, bytes
  // in and out, time, deliveries by variant, inflate failures by reason; and the send regime:
  // sends and the buffers they gathered; and six of several nodes (Redis): publishes refused
  // unavailable, messages received, repair reads, repaired messages, gap messages, resets.
  EXPECT_EQ(families, 53);
}

// Every entry of metric_table.h is exported: HELP with its text, TYPE, and a sample that
// carries the sum over workers of that very field (so no entry renders another's value).
TEST(MetricsTest, EveryTableEntryRendersWithHelpTypeAndItsOwnValue) {
  std::vector<WorkerMetrics> workers(2);
  uint64_t value = 1;
  for (const ScalarFamily& scalar : kScalarFamilies) {
    workers[0].*scalar.member = value;
    workers[1].*scalar.member = 1000 * value;
    ++value;
  }
  const std::string text = render_metrics(workers, 0);
  value = 1;
  for (const ScalarFamily& scalar : kScalarFamilies) {
    std::string name(scalar.name);
    std::string type = scalar.kind == MetricKind::kGauge ? "gauge" : "counter";
    EXPECT_NE(text.find("# HELP " + name + " " + std::string(scalar.help) + "\n"),
              std::string::npos)
        << name;
    EXPECT_NE(text.find("# TYPE " + name + " " + type + "\n"), std::string::npos) << name;
    std::string line = name + " " + std::to_string(1001 * value) + "\n";
    if (scalar.kind == MetricKind::kWorkerSeconds) {  // per worker: 1000 * value ns
      std::string ns = std::to_string(1000 * value);
      line = name + "{worker=\"1\"} 0." + std::string(9 - ns.size(), '0') + ns + "\n";
    }
    EXPECT_NE(text.find(line), std::string::npos) << line;
    ++value;
  }
  for (const ArrayFamily& array : kArrayFamilies) {
    std::string name(array.name);
    EXPECT_NE(text.find("# HELP " + name + " " + std::string(array.help) + "\n"), std::string::npos)
        << name;
    EXPECT_NE(text.find("# TYPE " + name + " counter\n"), std::string::npos) << name;
    size_t size = array.values(workers[0]).size();
    ASSERT_GT(size, 0u) << name;
    for (size_t i = 0; i < size; ++i) {
      std::string labels = std::string(array.label) + "=\"" + array.label_value(i) + "\"";
      EXPECT_NE(text.find(name + "{" + labels + "} 0\n"), std::string::npos) << labels;
    }
  }
}

TEST(MetricsTest, ArraysSumPerLabel) {
  std::vector<WorkerMetrics> workers(2);
  workers[0].close_codes[0] = 4;  // 1000
  workers[1].close_codes[0] = 1;
  workers[1].close_codes[15] = 2;  // 1015
  workers[0].close_codes_other = 3;
  const std::string text = render_metrics(workers, 0);
  EXPECT_NE(text.find("herald_close_codes_total{code=\"1000\"} 5\n"), std::string::npos);
  EXPECT_NE(text.find("herald_close_codes_total{code=\"1015\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("herald_close_codes_other_total 3\n"), std::string::npos);
}

}  // namespace
}  // namespace herald::broker::core
