// herald-bench: parses the command line, runs one scenario, prints its one JSON line.
// Wiring only; the scenarios live in their own files.
#include <signal.h>

#include <cstdio>
#include <iostream>

#include "clients/cpp/bench/json_writer.h"
#include "clients/cpp/bench/options.h"
#include "clients/cpp/bench/scenario.h"

int main(int argc, char** argv) {
  using herald::bench::ParseOutcome;
  herald::bench::Options options;
  std::string error;
  switch (herald::bench::parse_options(argc, argv, options, error)) {
    case ParseOutcome::kHelp:
      std::cout << herald::bench::usage();
      return 0;
    case ParseOutcome::kError:
      std::cerr << "herald-bench: " << error << "\n(see herald-bench --help)\n";
      return 2;
    case ParseOutcome::kRun:
      break;
  }
  for (const herald::bench::Scenario& scenario : herald::bench::scenarios()) {
    if (scenario.name != options.scenario) continue;
    if (options.path.empty()) options.path = std::string(scenario.default_path);
    if (options.topic.empty()) options.topic = std::string(scenario.default_topic);
    // A peer that resets a connection must cost that connection, not the process.
    ::signal(SIGPIPE, SIG_IGN);
    herald::bench::JsonWriter out;
    out.field("scenario", scenario.name);
    const int status = scenario.run(options, out);
    std::cout << out.finish() << std::endl;
    return status;
  }
  std::cerr << "herald-bench: unknown scenario '" << options.scenario
            << "' (see herald-bench --help)\n";
  return 2;
}
