// The argument parser for herald-cli: a handful of flags, so a plain loop rather than a table.
#include "clients/cpp/cli/cli_options.h"

#include <charconv>
#include <string_view>

namespace herald::cli {

namespace {

template <typename Number>
bool parse_number(std::string_view text, Number min, Number max, Number& out) {
  Number value{};
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

// Applies one flag that takes a value; false (with `error`) when it is unknown or invalid.
bool apply_flag(std::string_view name, std::string_view value, CliOptions& options,
                std::string& error) {
  bool ok = true;
  if (name == "host") {
    options.host = std::string(value);
    ok = !value.empty();
  } else if (name == "port") {
    ok = parse_number<uint16_t>(value, 1, 65535, options.port);
  } else if (name == "path") {
    options.path = std::string(value);
    ok = value.starts_with("/");
  } else if (name == "timeout-ms") {
    ok = parse_number<uint32_t>(value, 1, 3'600'000, options.timeout_ms);
  } else if (name == "policy") {
    ok = protocol::pubsub::parse_policy(value, options.policy);
  } else if (name == "ca") {
    options.ca = std::string(value);
    options.tls = true;
    ok = !value.empty();
  } else if (name == "server-name") {
    options.server_name = std::string(value);
    ok = !value.empty();
  } else if (name == "token-file") {
    options.token_file = std::string(value);
    ok = !value.empty();
  } else if (name == "count") {
    ok = parse_number<uint64_t>(value, 0, UINT64_MAX, options.count);
  } else {
    error = "unknown flag --" + std::string(name);
    return false;
  }
  if (!ok) error = "--" + std::string(name) + ": invalid value '" + std::string(value) + "'";
  return ok;
}

// Assigns the positional arguments (subcommand first) to their fields.
bool apply_operands(const std::vector<std::string_view>& operands, CliOptions& options,
                    std::string& error) {
  if (operands.empty()) {
    error = "no subcommand given";
    return false;
  }
  if (operands[0] == "sub") {
    options.command = CliOptions::Command::kSub;
    if (operands.size() < 2) {
      error = "sub needs at least one FILTER";
      return false;
    }
    for (size_t i = 1; i < operands.size(); ++i) options.filters.emplace_back(operands[i]);
    return true;
  }
  if (operands[0] == "pub") {
    options.command = CliOptions::Command::kPub;
    if (operands.size() < 2 || operands.size() > 3) {
      error = "pub needs TOPIC and at most one DATA";
      return false;
    }
    options.topic = std::string(operands[1]);
    if (operands.size() == 3) options.data = std::string(operands[2]);
    return true;
  }
  if (operands[0] == "stats" || operands[0] == "topics") {
    options.command =
        operands[0] == "stats" ? CliOptions::Command::kStats : CliOptions::Command::kTopics;
    if (operands.size() != 1) {
      error = std::string(operands[0]) + " takes no operand";
      return false;
    }
    return true;
  }
  error = "unknown subcommand '" + std::string(operands[0]) + "'";
  return false;
}

}  // namespace

CliParse parse_cli_options(int argc, char** argv, CliOptions& options, std::string& error) {
  std::vector<std::string_view> operands;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    // "--" ends the flags, so that DATA may start with "--" (a negative number cannot).
    if (flags_done || !argument.starts_with("--")) {
      operands.push_back(argument);
      continue;
    }
    if (argument == "--") {
      flags_done = true;
      continue;
    }
    argument.remove_prefix(2);
    if (argument == "help") return CliParse::kHelp;
    if (argument == "binary") {
      options.binary = true;
      continue;
    }
    if (argument == "compression") {
      options.compression = true;
      continue;
    }
    if (argument == "once") {
      options.once = true;
      continue;
    }
    if (argument == "tls" || argument == "insecure") {
      options.tls = true;
      if (argument == "insecure") options.insecure = true;
      continue;
    }
    std::string_view value;
    if (const size_t equals = argument.find('='); equals != std::string_view::npos) {
      value = argument.substr(equals + 1);
      argument = argument.substr(0, equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      error = "--" + std::string(argument) + " needs a value";
      return CliParse::kError;
    }
    if (!apply_flag(argument, value, options, error)) return CliParse::kError;
  }
  if (!apply_operands(operands, options, error)) return CliParse::kError;
  if (options.binary && options.command != CliOptions::Command::kPub) {
    error = "--binary applies to pub only";
    return CliParse::kError;
  }
  const bool statistics = options.command == CliOptions::Command::kStats ||
                          options.command == CliOptions::Command::kTopics;
  if (options.once && !statistics) {
    error = "--once applies to stats and topics only";
    return CliParse::kError;
  }
  return CliParse::kRun;
}

const char* cli_usage() {
  return "usage: herald-cli [--host H] [--port P] [--path /] [--timeout-ms MS] [--tls ...] "
         "[--compression] "
         "COMMAND ...\n"
         "\n"
         "  herald-cli sub FILTER... [--policy disconnect|drop|conflate] [--count N]\n"
         "      Subscribes to each topic or pattern (waits for the acks), then prints one line\n"
         "      per message on stdout: TOPIC SEQ DATA. DATA is the publisher's JSON with any\n"
         "      line breaks turned into spaces (JSON allows them only as whitespace), or, for\n"
         "      a binary message, \"base64:\" and the payload in standard base64 (RFC 4648).\n"
         "      A gap notice (messages dropped for this subscriber) prints TOPIC gap MISSED.\n"
         "      Stops after N messages (0: when the connection ends). Server errors go to\n"
         "      stderr.\n"
         "\n"
         "  herald-cli pub TOPIC DATA [--binary]\n"
         "      Publishes DATA, one JSON value (or with --binary its raw bytes), waits for\n"
         "      the ack and prints the seq the message was given.\n"
         "  herald-cli pub TOPIC [--binary]\n"
         "      Reads stdin: one JSON value per line (blank lines skipped), published in a\n"
         "      pipeline whose acks are collected as they come, all awaited at the end; prints\n"
         "      COUNT LAST_SEQ. With --binary, all of stdin is one binary message.\n"
         "\n"
         "  herald-cli stats --token-file ADMIN_TOKEN_FILE [--once] [--count N]\n"
         "      Subscribes to $sys.stats (the broker must run with --admin-token-file; the\n"
         "      admin token reads it) and prints each second's figures as a block:\n"
         "      connections, subscriptions, topics, publishes and deliveries per second,\n"
         "      per-worker loop busy, slow consumers, refusals, storage and Redis health.\n"
         "  herald-cli topics --token-file ADMIN_TOKEN_FILE [--once] [--count N]\n"
         "      The same from $sys.topics: the busiest topics of the last second, with\n"
         "      publishes per second and subscribers, as a table. --once: one block, then exit.\n"
         "\n"
         "flags:\n"
         "  --host H          broker address (127.0.0.1)\n"
         "  --port P          broker port (8080)\n"
         "  --path /          WebSocket path (/)\n"
         "  --timeout-ms MS   limit for connecting and for each ack (5000)\n"
         "  --tls             wss://: TLS, the certificate verified against the system's CAs\n"
         "  --ca FILE         wss:// with this PEM CA file instead (implies --tls)\n"
         "  --insecure        wss:// without verifying the certificate (implies --tls)\n"
         "  --server-name N   the name the certificate must carry (default: --host)\n"
         "  --compression     offer permessage-deflate (RFC 7692): messages of 64 bytes or\n"
         "                    more go out compressed if the broker accepts, and its compressed\n"
         "                    messages are inflated; at exit, stderr gets one line with the\n"
         "                    bytes on the wire against the message bytes. Off by default.\n"
         "  --token-file FILE a token (a JWT, or the admin token) read from FILE, trimmed, and\n"
         "                    sent as ?token= at the handshake\n"
         "  --                ends the flags (for DATA that starts with --)\n"
         "  --help            this text\n"
         "\n"
         "exit status: 0 ok, 1 connection or server error (reason on stderr), 2 usage.\n";
}

}  // namespace herald::cli
