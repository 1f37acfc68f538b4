// herald-cli: parses the command line and runs one subcommand. Wiring only.
#include <signal.h>

#include <iostream>

#include "clients/cpp/cli/cli_options.h"
#include "clients/cpp/cli/commands.h"

int main(int argc, char** argv) {
  using herald::cli::CliParse;
  herald::cli::CliOptions options;
  std::string error;
  switch (herald::cli::parse_cli_options(argc, argv, options, error)) {
    case CliParse::kHelp:
      std::cout << herald::cli::cli_usage();
      return herald::cli::kExitOk;
    case CliParse::kError:
      std::cerr << "herald-cli: " << error << "\n(see herald-cli --help)\n";
      return herald::cli::kExitUsage;
    case CliParse::kRun:
      break;
  }
  // A broker that resets the connection is a reported error, not a silent death.
  ::signal(SIGPIPE, SIG_IGN);
  using Command = herald::cli::CliOptions::Command;
  switch (options.command) {
    case Command::kSub:
      return herald::cli::run_sub(options);
    case Command::kPub:
      return herald::cli::run_pub(options);
    case Command::kStats:
    case Command::kTopics:
      return herald::cli::run_stats(options);
  }
  return herald::cli::kExitUsage;
}
