// The herald binary: loads the configuration (flags, HERALD_ variables, --config file) and
// runs the server. Wiring only; everything testable lives in broker/net.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/auth/access_policy.h"
#include "broker/net/config.h"
#include "broker/net/server.h"

int main(int argc, char** argv) {
  using herald::broker::net::FlagsResult;
  std::span<const char* const> args(argv + 1, static_cast<size_t>(argc - 1));
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) env.emplace_back(*entry);
  // SIGHUP loads the same flags and variables again, and the file as it is then.
  auto load = [args, env] { return herald::broker::net::load_config(args, env); };
  FlagsResult flags = load();
  switch (flags.status) {
    case FlagsResult::Status::kHelp:
      std::fputs(herald::broker::net::usage_text().c_str(), stdout);
      return 0;
    case FlagsResult::Status::kPrintConfig:
      std::fputs(herald::broker::net::print_config_text(flags).c_str(), stdout);
      return 0;
    case FlagsResult::Status::kError:
      std::fprintf(stderr, "herald: %s (see herald --help)\n", flags.error.c_str());
      return 2;
    case FlagsResult::Status::kRun:
      break;
  }
  // Per-address state is bounded by the connections it can describe, plus a second's churn
  // (with --max-connections 0, the capacity is planned later: bound it by a million).
  const uint64_t connections_bound =
      flags.config.max_connections != 0 ? flags.config.max_connections : 1000000;
  flags.config.access_settings.addresses_tracked_max = 65536 + connections_bound;
  auto access = herald::broker::auth::AccessPolicy::build(flags.config.access_settings);
  if (!access.status.is_ok()) {
    std::fprintf(stderr, "herald: %s\n", access.status.message().c_str());
    return 1;
  }
  flags.config.access = std::move(access.value);
  if (!flags.config.admin_token_file.empty()) {
    // Read once: the token is the file's content without surrounding whitespace (a newline
    // from `echo` or an editor is not part of it).
    std::ifstream file(flags.config.admin_token_file, std::ios::binary);
    std::string token((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const size_t first = token.find_first_not_of(" \t\r\n");
    const size_t last = token.find_last_not_of(" \t\r\n");
    token = first == std::string::npos ? "" : token.substr(first, last - first + 1);
    if (!file || token.empty()) {
      std::fprintf(stderr, "herald: --admin-token-file %s: %s\n",
                   flags.config.admin_token_file.c_str(),
                   file ? "the file is empty" : "cannot read it (check the path and permissions)");
      return 1;
    }
    flags.config.admin_token = std::move(token);
  }
  return herald::broker::net::run_server(flags.config, load);
}
