// The server's configuration from its flags, HERALD_* environment variables and a TOML file,
// all driven by one table of settings. Nothing here exits or prints; main.cc does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/auth/access_policy.h"
#include "broker/io/backend.h"
#include "broker/net/log.h"
#include "protocol/pubsub/command.h"

namespace herald::broker::net {

struct ServerConfig {
  // Flags.
  std::string host = "0.0.0.0";
  uint16_t port = 8080;
  uint32_t workers = 0;  // 0: one per online core
  io::BackendChoice io = io::BackendChoice::kAuto;
  bool echo = false;
  // permessage-deflate (RFC 7692), agreed only with clients that offer it. Level 1: a tick
  // compresses as well as at 6, and 16 KiB three times faster for 25% more bytes (README,
  // "Measured figures"). Below 128 bytes a JSON payload gains under 18% and from 64 nothing,
  // while every compression costs about 5 us: those go out plain (RSV1 is per message).
  bool compression = true;
  int compression_level = 1;
  uint64_t compression_min_bytes = 128;
  uint64_t max_connections = 0;  // 0: what the workers' file tables hold (server.cc)
  uint64_t max_message_bytes = uint64_t{16} << 20;
  uint64_t handshake_timeout_ms = 10000;
  uint64_t idle_timeout_ms = 60000;
  uint64_t close_timeout_ms = 5000;
  // SIGTERM or POST /admin/drain: clients are asked to move (PROTOCOL.md "reconnect") and
  // get this long to do it; the stragglers are then closed with 1001, and the shutdown gives
  // their close handshakes shutdown_timeout_ms. 0: SIGTERM shuts down at once, as SIGINT does.
  uint64_t drain_timeout_ms = 10000;
  uint64_t shutdown_timeout_ms = 5000;
  uint64_t max_queued_bytes = uint64_t{1} << 20;  // per connection, before the policy applies
  // Default policy: drop (with a gap) loses the least for the fewest: one slow subscriber
  // keeps its connection and learns how much it missed, and nobody else waits.
  protocol::pubsub::Policy slow_consumer_policy = protocol::pubsub::Policy::kDrop;
  uint64_t max_subscriptions = 1000;  // per connection
  uint64_t max_topics = 1000000;      // distinct topics across the broker
  // History (PROTOCOL.md section 9): where durable logs live, and one rule per --history flag
  // (storage/history_rules.h syntax, checked at parse time), first match wins.
  std::string data_dir = "./data";
  std::vector<std::string> history;
  // Several nodes (PROTOCOL.md section 12): the --redis URLs, one shard each in this order
  // (checked at parse time), and the AUTH password's file and the rediss:// CA file.
  std::vector<std::string> redis;
  std::string redis_password_file;
  std::string redis_tls_ca_file;
  // TLS (wss://): a second listener on tls_port, beside the plain one or (tls_only) instead.
  bool tls = false;  // --tls-port was given
  uint16_t tls_port = 8443;
  bool tls_only = false;
  std::string cert_path;  // PEM chain, leaf first; re-read on SIGHUP
  std::string key_path;   // PEM private key
  // Access: --auth, --jwt-secret-file, --jwt-public-key, --allowed-origins and
  // --allow-missing-origin. main.cc builds `access` from them (it reads key files).
  auth::AccessSettings access_settings;
  // 0: unlimited. A broker's throughput is its purpose, so the limit is opt-in: set it where
  // untrusted clients (browsers) publish.
  uint64_t max_publish_rate = 0;   // publishes per second per connection
  uint64_t max_publish_burst = 0;  // 0: one second's worth (max_publish_rate)
  // POST /admin/drain needs `Authorization: Bearer <token>`, the token being the content of
  // admin_token_file (trimmed). main.cc reads it; empty: the admin endpoints are off (404).
  std::string admin_token_file;
  std::string admin_token;
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;
  // Shared by every worker. Null means auth off and any Origin (tests that need neither).
  std::shared_ptr<const auth::AccessPolicy> access;

  // Internal limits, fixed at start-up.
  uint32_t recv_buffer_count = 512;         // per worker; a power of two
  uint32_t recv_buffer_bytes = 16 * 1024;   // one multishot receive at most
  size_t send_queue_bytes_high = 4u << 20;  // stop reading above this many queued bytes
  size_t send_queue_bytes_low = 1u << 20;   // resume at or below
  uint32_t refusal_headroom_min = 64;       // table slots per worker kept for 503 answers
  unsigned ring_entries = 4096;             // SQ size; the CQ is four times larger
};

// Where a setting's value came from, in increasing precedence.
enum class Source : uint8_t { kDefault, kFile, kEnv, kFlag };

// One setting of the table (a flag name, a TOML key, a HERALD_ variable) and where its value
// came from: "default", "file herald.toml:3", "env HERALD_PORT" or "flag --port".
struct SettingOrigin {
  std::string_view name;
  Source source = Source::kDefault;
  std::string where;
};

struct FlagsResult {
  enum class Status : uint8_t { kRun, kHelp, kPrintConfig, kError };
  Status status = Status::kRun;
  ServerConfig config;
  std::string error;                   // one line, for kError
  std::string config_path;             // --config or HERALD_CONFIG; empty without a file
  std::vector<SettingOrigin> origins;  // one per setting, in table order
};

// Parses argv[1..] ("--name value" or "--name=value") alone: no environment, and a --config
// flag is not read. Never exits and never prints.
[[nodiscard]] FlagsResult parse_flags(std::span<const char* const> args);

// The whole configuration: flags (args), then the HERALD_<FLAG> variables of `env` ("NAME=VALUE"
// strings; names that are no setting are ignored), then the TOML file named by --config or
// HERALD_CONFIG, then the defaults. Reads the file; never exits and never prints. A bad value
// fails naming its place: "--port: ...", "HERALD_PORT: ...", "herald.toml:3: port: ...".
[[nodiscard]] FlagsResult load_config(std::span<const char* const> args,
                                      std::span<const std::string> env);

// The same with the file's text given (tests): `file_path` names it in sources and errors.
[[nodiscard]] FlagsResult load_config_text(std::span<const char* const> args,
                                           std::span<const std::string> env,
                                           std::string_view file_text, std::string_view file_path);

// Every flag with its default, for --help.
[[nodiscard]] std::string usage_text();

// --print-config: every setting as a TOML line with its effective value and its source.
// Settings left unset (no default value) are printed commented out.
[[nodiscard]] std::string print_config_text(const FlagsResult& loaded);

// A setting whose value differs between two configurations (a SIGHUP reload), with both
// values as --print-config shows them, and whether the running server can take it.
struct SettingChange {
  std::string_view name;
  std::string before;
  std::string after;
  bool reloadable = false;
};
[[nodiscard]] std::vector<SettingChange> diff_config(const ServerConfig& before,
                                                     const ServerConfig& after);

}  // namespace herald::broker::net
