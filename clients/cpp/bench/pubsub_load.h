// The engine of the fanout and topics scenarios: one publisher connection and many subscriber
// connections on one ClientLoop, in one thread. Subscribers parse binary message frames in
// place and check every topic's seq; nothing is allocated per message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
// exit status of Scenario::run (0 clean, 1 could not run, 3 a check failed).
int run_pubsub_load(const Options& options, const PubSubPlan& plan, JsonWriter& out);

}  // namespace herald::bench
