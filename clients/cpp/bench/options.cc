// The flag table and the parser. Defaults shown by --help are read from a default Options,
// so they cannot drift from the code; limits keep every run bounded in time and memory.
#include "clients/cpp/bench/options.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>
#include <variant>

#include "clients/cpp/bench/scenario.h"

namespace herald::bench {

namespace {

using Member =
    std::variant<std::string Options::*, uint16_t Options::*, uint32_t Options::*,
                 uint64_t Options::*, double Options::*, pid_t Options::*, bool Options::*>;

struct Flag {
  std::string_view name;
  Member member;
  double min;
  double max;
  std::string_view used_by;
  std::string_view help;
};

const std::array kFlags = {
    Flag{"host", &Options::host, 0, 0, "all", "broker address (IPv4 or a name)"},
    Flag{"port", &Options::port, 1, 65535, "all", "broker port"},
    Flag{"path", &Options::path, 0, 0, "all",
         "WebSocket path (default: /echo for echo and idle, / for fanout, topics and conns)"},
    Flag{"connections", &Options::connections, 1, 200000, "echo, idle, conns, handshakes",
         "connections to open"},
    Flag{"pipeline", &Options::pipeline, 1, 4096, "echo", "messages in flight per connection"},
    Flag{"payload-bytes", &Options::payload_bytes, 16, 16 << 20, "echo, fanout, topics, replay",
         "binary payload size (>= 16: send time and sequence number)"},
    Flag{"payload", &Options::payload, 0, 0, "fanout, topics",
         "binary: --payload-bytes of binary in binary frames; json-tick: JSON stock ticks of "
         "about 320 bytes, each distinct (numbers from a PRNG seeded by the "
         "message number) and carrying its number, send time and a checksum, published and "
         "delivered in text frames"},
    Flag{"warmup-s", &Options::warmup_s, 0, 60, "echo, fanout, topics", "traffic before measuring"},
    Flag{"duration-s", &Options::duration_s, 0.1, 600, "echo, fanout, topics", "measured time"},
    Flag{"messages", &Options::messages, 0, 1e15, "echo, fanout, topics, replay",
         "stop sending after this many messages (0: time only); with --warmup-s 0 to measure "
         "them. replay: messages to fill (0: 1,000,000)"},
    Flag{"subscribers", &Options::subscribers, 1, 18000, "fanout",
         "subscriber connections on the topic (one process: at most 18,000)"},
    Flag{"topic", &Options::topic, 0, 0, "fanout, conns, replay",
         "the topic (default: bench.fanout; replay: bench.replay; conns: only with "
         "--shared-topic)"},
    Flag{"topics", &Options::topics, 1, 18000, "topics", "topics, one subscriber connection each"},
    Flag{"rate", &Options::rate, 0, 1e8, "fanout, topics",
         "publishes per second (0: as fast as the slowest subscriber keeps up, see "
         "--publish-window)"},
    Flag{"publish-window", &Options::publish_window, 1, 1 << 20, "fanout, topics, replay",
         "with --rate 0: messages of its topic a subscriber may lag behind the publisher; "
         "replay: publishes not yet acknowledged"},
    Flag{"publish-window-sweep", &Options::publish_window_sweep, 0, 0, "fanout, topics",
         "comma-separated windows, e.g. 1,10,64: runs the scenario once per window (each "
         "with its own connections, --rate 0), reports each under results.by_window and "
         "prints one row per window on stderr"},
    Flag{"policy", &Options::policy, 0, 0, "fanout, topics, conns",
         "slow-consumer policy of the subscriptions: disconnect, drop or conflate (default: "
         "the broker's)"},
    Flag{"shared-topic", &Options::shared_topic, 0, 1, "conns",
         "every connection subscribes to --topic instead of its own bench.c.<i>"},
    Flag{"reconnect", &Options::reconnect, 0, 1, "conns",
         "while held, dial again (paced by --connect-rate) every connection that ends and "
         "subscribe it again; reports results.reconnect: the storm's length from the first "
         "loss to the last resubscription (a broker restart)"},
    Flag{"no-fill", &Options::no_fill, 0, 1, "replay",
         "publish nothing: replay what --topic already holds (a cold replay after a restart)"},
    Flag{"timeout-s", &Options::timeout_s, 1, 86400, "replay",
         "bound on the whole run, fill and replay"},
    Flag{"hold-s", &Options::hold_s, 0, 3600, "idle, conns",
         "how long to hold all connections open"},
    Flag{"settle-s", &Options::settle_s, 0, 60, "idle, conns",
         "idle time after the last open before the broker's RSS is read (within hold-s)"},
    Flag{"source-addresses", &Options::source_addresses, 0, 254, "all",
         "bind to 127.0.0.1..N round-robin (0: 1 per 10,000 connections; loopback only)"},
    Flag{"processes", &Options::processes, 0, 64, "idle, conns",
         "client processes (0: 1 per 19,000 connections; each needs one fd per connection)"},
    Flag{"connect-rate", &Options::connect_rate, 1, 1e6, "all", "new connections per second"},
    Flag{"handshakes-in-flight", &Options::handshakes_in_flight, 1, 100000, "all",
         "connections dialing at once, at most"},
    Flag{"connect-timeout-ms", &Options::connect_timeout_ms, 1, 600000, "all",
         "per-connection limit for TCP connect plus the handshake"},
    Flag{"tls", &Options::tls, 0, 1, "all", "connect with TLS (wss://); needs --ca or --insecure"},
    Flag{"ca", &Options::ca, 0, 0, "all",
         "with --tls: PEM file of the CA to verify the broker with"},
    Flag{"insecure", &Options::insecure, 0, 1, "all",
         "with --tls: do not verify the broker's certificate"},
    Flag{"server-name", &Options::server_name, 0, 0, "all",
         "with --tls: the name the certificate must carry (SNI)"},
    Flag{"compression", &Options::compression, 0, 1, "all",
         "offer permessage-deflate (RFC 7692) on every connection, as Chrome does; the "
         "results' \"traffic\" object gives the bytes received on the wire against the "
         "message bytes (it is there without the flag too, for the comparison)"},
    Flag{"compression-min-bytes", &Options::compression_min_bytes, 0, 1 << 30, "all",
         "with --compression: messages we send of at least this size go out compressed"},
    Flag{"server-pid", &Options::server_pid, 1, 4194304, "all",
         "the broker's pid: report its RSS and CPU time from /proc"},
};

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.15g", value);
  return text;
}

std::string default_text(const Member& member) {
  static const Options defaults;
  return std::visit(
      [](auto pointer) -> std::string {
        const auto& value = defaults.*pointer;
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
          return value;
        } else if constexpr (std::is_floating_point_v<std::decay_t<decltype(value)>>) {
          return format_number(value);
        } else {
          return std::to_string(value);
        }
      },
      member);
}

// Parses `text` into the member `flag` names, within the flag's limits.
bool assign(const Flag& flag, std::string_view text, Options& options, std::string& error) {
  return std::visit(
      [&](auto pointer) {
        auto& value = options.*pointer;
        using Value = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<Value, std::string>) {
          value = std::string(text);
          return !text.empty() || (error = "empty value", false);
        } else if constexpr (std::is_same_v<Value, bool>) {
          value = text == "1" || text == "true";
          return value || text == "0" || text == "false" ||
                 (error = "not 0, 1, true or false: " + std::string(text), false);
        } else {
          double number = 0;
          const auto [end, status] =
              std::from_chars(text.data(), text.data() + text.size(), number);
          if (status != std::errc() || end != text.data() + text.size() || !std::isfinite(number)) {
            error = "not a number: " + std::string(text);
            return false;
          }
          if (number < flag.min || number > flag.max ||
              (std::is_integral_v<Value> && number != std::floor(number))) {
            error = std::string(text) + " is outside " + format_number(flag.min) + ".." +
                    format_number(flag.max) + (std::is_integral_v<Value> ? " or not whole" : "");
            return false;
          }
          value = static_cast<Value>(number);
          return true;
        }
      },
      flag.member);
}

}  // namespace

ParseOutcome parse_options(int argc, char** argv, Options& options, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    if (argument == "--help" || argument == "-h") return ParseOutcome::kHelp;
    if (!argument.starts_with("--")) {
      if (!options.scenario.empty()) {
        error = "unexpected argument: " + std::string(argument);
        return ParseOutcome::kError;
      }
      options.scenario = std::string(argument);
      continue;
    }
    argument.remove_prefix(2);
    std::string_view value;
    const size_t equals = argument.find('=');
    bool has_value = equals != std::string_view::npos;
    if (has_value) {
      value = argument.substr(equals + 1);
      argument = argument.substr(0, equals);
    }
    const Flag* flag = nullptr;
    for (const Flag& candidate : kFlags) {
      if (candidate.name == argument) flag = &candidate;
    }
    if (flag == nullptr) {
      error = "unknown flag --" + std::string(argument);
      return ParseOutcome::kError;
    }
    // A switch needs no value: "--shared-topic" alone means true.
    if (!has_value && std::holds_alternative<bool Options::*>(flag->member)) {
      has_value = true;
      value = "1";
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        error = "--" + std::string(argument) + " needs a value";
        return ParseOutcome::kError;
      }
      value = argv[++i];
    }
    if (!assign(*flag, value, options, error)) {
      error = "--" + std::string(argument) + ": " + error;
      return ParseOutcome::kError;
    }
  }
  if (options.scenario.empty()) {
    error = "no scenario given";
    return ParseOutcome::kError;
  }
  if (options.payload != "binary" && options.payload != "json-tick") {
    error = "--payload: binary or json-tick, not " + options.payload;
    return ParseOutcome::kError;
  }
  if (options.tls && options.ca.empty() && !options.insecure) {
    error = "--tls needs --ca FILE or --insecure";
    return ParseOutcome::kError;
  }
  return ParseOutcome::kRun;
}

std::string usage() {
  std::string text =
      "usage: herald-bench SCENARIO [--flag value]...\n"
      "Load generator for the herald broker. Prints one JSON line with the scenario, its\n"
      "parameters and results on stdout; progress and errors go to stderr. Every run is\n"
      "bounded in time and count. Exit status: 0 ok, 1 could not run, 2 usage,\n"
      "3 ran but a check failed (loss, reordering, corruption, failed connects or closes).\n\n"
      "scenarios:\n";
  for (const Scenario& scenario : scenarios()) {
    text += "  " + std::string(scenario.name) + "\n    " + std::string(scenario.summary) + "\n";
  }
  text += "\nflags [scenarios that use them] (default):\n";
  for (const Flag& flag : kFlags) {
    const std::string fallback = default_text(flag.member);
    text += "  --" + std::string(flag.name) + " [" + std::string(flag.used_by) + "]";
    const bool is_switch = std::holds_alternative<bool Options::*>(flag.member);
    if (!fallback.empty() && !is_switch && (fallback != "0" || flag.min <= 0)) {
      text += " (" + fallback + ")";
    }
    text += "\n      " + std::string(flag.help) + "\n";
  }
  text += "  --help\n      this text\n";
  return text;
}

}  // namespace herald::bench
