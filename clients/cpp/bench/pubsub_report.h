// What the pub/sub scenarios count and how they report it: the counters, the "params" and
// "results" parts of the JSON line, and the broker's CPU and RSS around the measured window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "clients/cpp/bench/json_writer.h"
#include "clients/cpp/bench/latency_histogram.h"
#include "clients/cpp/bench/options.h"
#include "clients/cpp/bench/pubsub_load.h"

namespace herald::bench {

struct PubSubCounters {
  uint64_t subscribed = 0;        // subscriptions acked
  uint64_t subscribe_errors = 0;  // error replies (their first in first_error)
  std::string first_error;
  uint64_t published = 0;            // binary publishes sent, in all
  uint64_t published_measured = 0;   // sent inside the measured window
  uint64_t expected_deliveries = 0;  // for each publish, the live subscribers of its topic
  uint64_t delivered = 0;            // message frames received by all subscribers, in all
  uint64_t delivered_measured = 0;   // in order and inside the measured window
  uint64_t accounted = 0;            // deliveries received in order or known lost
  uint64_t lost = 0;                 // seq numbers skipped (a gap notice's included)
  uint64_t reordered = 0;            // a seq at or below one already received
  uint64_t corrupt = 0;              // wrong kind, topic, size, counter or pattern
  uint64_t gaps = 0;                 // the broker's gap notices (drop policy)
  uint64_t gap_missed = 0;           // their "missed" summed
  uint64_t unexpected = 0;           // other text frames, or frames to the publisher
  uint64_t stall_probes = 0;         // publishes past a window stuck on skipped messages
  uint64_t connections_lost = 0;

  // Loss, reordering, corruption and dropped connections must all be 0.
  [[nodiscard]] bool clean() const {
    return lost == 0 && reordered == 0 && corrupt == 0 && unexpected == 0 &&
           connections_lost == 0 && subscribe_errors == 0 && accounted == expected_deliveries;
  }
};

// The broker's CPU time and RSS, and ours; absent figures without --server-pid.
struct ResourceSample {
  std::optional<double> server_cpu_s;
  std::optional<long> server_rss_kib;
  double client_cpu_s = 0;
};

[[nodiscard]] ResourceSample sample_resources(const Options& options);

// How long close_all() may take: the closing handshakes, paced at the connect rate.
[[nodiscard]] int64_t close_timeout_ns(const Options& options, uint32_t connections);

void write_pubsub_params(const Options& options, const PubSubPlan& plan, JsonWriter& out);
void write_pubsub_results(const PubSubCounters& counters, const LatencyHistogram& latency,
                          double measured_s, uint32_t subscribers_open, JsonWriter& out);
// server_cpu_s and server_cpu_util over the window, server_rss_kib at its end, and
// client_cpu_util.
void write_resource_results(const ResourceSample& before, const ResourceSample& after,
                            double measured_s, JsonWriter& out);
// p50, p90, p99, p999, max and mean in microseconds, as a "latency_us" object.
void write_latency_us(const LatencyHistogram& latency, JsonWriter& out);

}  // namespace herald::bench
