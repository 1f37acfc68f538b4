// The engine of the fanout and topics scenarios: one publisher connection and many subscriber
// connections on one ClientLoop, in one thread. Subscribers parse binary message frames in
// place and check every topic's seq; nothing is allocated per message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clients/cpp/bench/broker_metrics.h"
#include "clients/cpp/bench/json_writer.h"
#include "clients/cpp/bench/options.h"

namespace herald::bench {

// Who publishes and subscribes to what. Message number c (counted by the publisher from 0)
// goes to topics[c % topics.size()]; subscriber s (0-based) subscribes to
// topics[s % topics.size()]. So fanout is one topic with many subscribers, and topics is
// many topics with one subscriber each.
struct PubSubPlan {
  std::string scenario;  // for progress lines on stderr
  std::vector<std::string> topics;
  uint32_t subscribers = 0;
};

// Runs the scenario end to end: writes "params" and "results" into `out` and returns the
// exit status of Scenario::run (0 clean, 1 could not run, 3 a check failed). With
// --publish-window-sweep, once per window (pubsub_sweep.cc).
int run_pubsub_load(const Options& options, const PubSubPlan& plan, JsonWriter& out);

// What one run's text line and a sweep's row show.
struct RunSummary {
  double deliveries_per_s = 0;
  double latency_p50_us = 0;
  double latency_p99_us = 0;
  Regime regime;
};

// One run (its own connections) with `options` as given, its results written into the open
// object of `out`; same exit status as run_pubsub_load.
int run_pubsub_once(const Options& options, const PubSubPlan& plan, JsonWriter& out,
                    RunSummary& summary);

}  // namespace herald::bench
