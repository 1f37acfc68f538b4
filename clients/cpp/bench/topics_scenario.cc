// The topics scenario: --topics topics bench.t.<i> with one subscriber connection each, one
// publisher round-robin over them. The engine (pubsub_load.cc) does the work.
#include "clients/cpp/bench/pubsub_load.h"
#include "clients/cpp/bench/scenario.h"

namespace herald::bench {

int run_topics(const Options& options, JsonWriter& out) {
  PubSubPlan plan;
  plan.scenario = "topics";
  plan.topics.reserve(options.topics);
  for (uint32_t i = 0; i < options.topics; ++i)
    plan.topics.push_back("bench.t." + std::to_string(i));
  plan.subscribers = options.topics;
  return run_pubsub_load(options, plan, out);
}

}  // namespace herald::bench
