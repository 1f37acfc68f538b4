// herald-cli's command line: the subcommand, its operands and flags, and the --help text.
// Parsing only; the subcommands live in sub_command.cc, pub_command.cc and stats_command.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/pubsub/command.h"

namespace herald::cli {

// Exit statuses of herald-cli.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // connection or server error (the reason on stderr)
inline constexpr int kExitUsage = 2;

struct CliOptions {
  enum class Command : uint8_t { kSub, kPub, kStats, kTopics };
  Command command = Command::kSub;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string path = "/";
  uint32_t timeout_ms = 5000;  // connect, and each ack
  // wss://
  bool tls = false;
  std::string ca;            // PEM CA file; empty: the system's store
  bool insecure = false;     // do not verify the certificate
  std::string server_name;   // the name the certificate must carry; empty: --host
  bool compression = false;  // offer permessage-deflate (RFC 7692)
  std::string token_file;    // a JWT or the admin token, sent as ?token= (trimmed)
  // sub
  std::vector<std::string> filters;
  protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDefault;
  uint64_t count = 0;  // 0: until the connection ends
  // pub
  std::string topic;
  std::optional<std::string> data;  // absent: read stdin
  bool binary = false;
  // stats, topics: print one block and exit
  bool once = false;
};

enum class CliParse : uint8_t { kRun, kHelp, kError };

// Parses argv: flags may come before or after the subcommand. On kError, `error` says why.
[[nodiscard]] CliParse parse_cli_options(int argc, char** argv, CliOptions& options,
                                         std::string& error);

[[nodiscard]] const char* cli_usage();

}  // namespace herald::cli
