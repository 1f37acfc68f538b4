// herald-bench's command line: every flag, its default, its limits and its help text live in
// one table in options.cc, which the parser and --help both read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace herald::bench {

struct Options {
  std::string scenario;
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string path;  // empty: the scenario's own (Scenario::default_path)
  uint32_t connections = 100;
  // echo
  uint32_t pipeline = 16;
  uint32_t payload_bytes = 64;
  // fanout, topics: "binary" (payload_bytes of binary), or "json-tick" (JSON stock ticks of
  // about 320 bytes in text frames; payload_bytes is ignored)
  std::string payload = "binary";
  double warmup_s = 1.0;
  double duration_s = 5.0;
  uint64_t messages = 0;  // 0: bounded by time only (replay: 1,000,000 to fill)
  // idle
  double hold_s = 5.0;
  double settle_s = 2.0;
  uint32_t source_addresses = 0;  // 0: one per 20,000 connections
  uint32_t processes = 0;         // 0: one per 19,000 connections
  // pub/sub: fanout, topics, conns
  uint32_t subscribers = 1000;
  std::string topic;  // empty: the scenario's own (Scenario::default_topic)
  uint32_t topics = 1000;
  double rate = 0;  // publishes per second; 0: as fast as the subscribers keep up
  uint32_t publish_window = 64;
  // fanout, topics: "1,10,64" runs the scenario once per window (with --rate 0), one row each
  std::string publish_window_sweep;
  std::string policy;  // empty: the broker's default
  bool shared_topic = false;
  bool reconnect = false;  // conns: redial and resubscribe what the broker drops while held
  // replay
  bool no_fill = false;  // replay what --topic already holds
  double timeout_s = 120;
  // dialing
  uint32_t connect_rate = 20000;
  uint32_t handshakes_in_flight = 1000;
  uint32_t connect_timeout_ms = 5000;
  // wss://: TLS to the broker, verified against --ca (or not, with --insecure)
  bool tls = false;
  std::string ca;
  bool insecure = false;
  std::string server_name = "localhost";
  // permessage-deflate (RFC 7692) offered on every connection
  bool compression = false;
  uint32_t compression_min_bytes = 64;
  // the broker under test, for RSS and CPU figures
  pid_t server_pid = 0;
};

enum class ParseOutcome : uint8_t { kRun, kHelp, kError };

// Parses `argv` (scenario first, then --flag value or --flag=value). On kError, `error` says
// which argument was wrong and why.
[[nodiscard]] ParseOutcome parse_options(int argc, char** argv, Options& options,
                                         std::string& error);

// The --help text: usage, the scenarios, and every flag with its default.
[[nodiscard]] std::string usage();

}  // namespace herald::bench
