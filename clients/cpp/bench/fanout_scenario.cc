// The fanout scenario: one publisher, --subscribers subscriber connections on one --topic.
// The engine (pubsub_load.cc) does the work; this file only states the plan.
#include "clients/cpp/bench/pubsub_load.h"
#include "clients/cpp/bench/scenario.h"

namespace herald::bench {

int run_fanout(const Options& options, JsonWriter& out) {
  PubSubPlan plan;
  plan.scenario = "fanout";
  plan.topics = {options.topic};
  plan.subscribers = options.subscribers;
  return run_pubsub_load(options, plan, out);
}

}  // namespace herald::bench
