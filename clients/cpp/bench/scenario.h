// The registry of herald-bench scenarios. Each scenario reads Options, drives the broker and
// writes its "params" and "results" into the run's one JSON line. Each scenario lives in its
// own *_scenario.cc and is listed here.
#pragma once

#include <span>
#include <string_view>

#include "clients/cpp/bench/json_writer.h"
#include "clients/cpp/bench/options.h"

namespace herald::bench {

struct Scenario {
  std::string_view name;
  std::string_view summary;        // for --help, wrapped by hand at 100 columns
  std::string_view default_path;   // the WebSocket path unless --path says otherwise
  std::string_view default_topic;  // the topic unless --topic says otherwise; empty: none used
  // Writes params and results into `out`; returns the process exit status (0: the run
  // completed and its checks passed, 1: it could not run, 3: it ran but a check failed).
  int (*run)(const Options& options, JsonWriter& out);
};

[[nodiscard]] std::span<const Scenario> scenarios();

int run_echo(const Options& options, JsonWriter& out);
int run_idle(const Options& options, JsonWriter& out);
int run_fanout(const Options& options, JsonWriter& out);
int run_topics(const Options& options, JsonWriter& out);
int run_conns(const Options& options, JsonWriter& out);
int run_handshakes(const Options& options, JsonWriter& out);
int run_replay(const Options& options, JsonWriter& out);

}  // namespace herald::bench
