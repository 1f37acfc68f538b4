// The herald binary: parses flags and runs the server. Wiring only; everything testable
// lives in broker/net.
#include <cstdio>
#include <span>

#include "broker/net/config.h"
#include "broker/net/server.h"

int main(int argc, char** argv) {
  using herald::broker::net::FlagsResult;
  std::span<const char* const> args(argv + 1, static_cast<size_t>(argc - 1));
  FlagsResult flags = herald::broker::net::parse_flags(args);
  switch (flags.status) {
    case FlagsResult::Status::kHelp:
      std::fputs(herald::broker::net::usage_text().c_str(), stdout);
      return 0;
    case FlagsResult::Status::kError:
      std::fprintf(stderr, "herald: %s (see herald --help)\n", flags.error.c_str());
      return 2;
    case FlagsResult::Status::kRun:
      break;
  }
  return herald::broker::net::run_server(flags.config);
}
