// The settings table: every setting's name, kind, bounds, scope, reloadability and help, and
// how a value of each is read into a ServerConfig and spelled back out of one.
#include "broker/net/config_flags.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "broker/cluster/redis_config.h"
#include "storage/history_rules.h"

namespace herald::broker::net {

namespace {

using Flag = SettingSpec;
using Kind = SettingSpec::Kind;
using Scope = SettingSpec::Scope;

constexpr uint64_t kDayMs = uint64_t{24} * 3600 * 1000;

// Reloadable (SIGHUP): the TLS files (a new context behind TlsContextSlot) and the access
// settings that AccessPolicy swaps as one immutable snapshot. Every other setting is read by
// the workers as a plain field or sized into a table at start-up: it needs a restart.
constexpr bool kReload = true;
constexpr bool kRestart = false;

constexpr Flag kFlags[] = {
    {"config", Kind::kText, 0, 0, Scope::kNotFile, kRestart, "none",
     "TOML file of settings: the flags' names as keys (deploy/herald.toml); "
     "flags, then HERALD_<FLAG> variables, override it"},
    {"print-config", Kind::kSwitch, 0, 0, Scope::kCommandLine, kRestart, "",
     "print every setting's value and where it came from, then exit"},
    {"host", Kind::kText, 0, 0, Scope::kAll, kRestart, "", "address to listen on"},
    {"port", Kind::kNumber, 0, 65535, Scope::kAll, kRestart, "", "TCP port (0 picks a free one)"},
    {"workers", Kind::kNumber, 1, 1024, Scope::kAll, kRestart, "number of cores",
     "I/O threads, one event loop each"},
    {"io", Kind::kText, 0, 0, Scope::kAll, kRestart, "",
     "auto, uring or epoll: the I/O backend (auto: io_uring where allowed, else epoll)"},
    {"echo", Kind::kSwitch, 0, 0, Scope::kAll, kRestart, "", "serve the /echo WebSocket route"},
    {"compression", Kind::kText, 0, 0, Scope::kAll, kRestart, "",
     "on or off: permessage-deflate (RFC 7692) with clients that offer it"},
    {"compression-level", Kind::kNumber, 1, 9, Scope::kAll, kRestart, "",
     "zlib level of compressed frames: 1 fastest, 9 smallest"},
    {"compression-min-bytes", Kind::kNumber, 0, uint64_t{1} << 31, Scope::kAll, kRestart, "",
     "messages smaller than this go out uncompressed"},
    {"max-connections", Kind::kNumber, 0, 100000000, Scope::kAll, kRestart, "",
     "open connections across workers; 0: what the workers' file tables hold"},
    {"max-message-bytes", Kind::kNumber, 1, uint64_t{1} << 31, Scope::kAll, kRestart, "",
     "largest WebSocket message accepted (1009 above)"},
    {"handshake-timeout-ms", Kind::kNumber, 1, kDayMs, Scope::kAll, kRestart, "",
     "time to complete the handshake"},
    {"idle-timeout-ms", Kind::kNumber, 1, kDayMs, Scope::kAll, kRestart, "",
     "silence before a ping; as long again before close 1001"},
    {"close-timeout-ms", Kind::kNumber, 1, kDayMs, Scope::kAll, kRestart, "",
     "wait for the peer's Close (or a flush) before dropping TCP"},
    {"drain-timeout-ms", Kind::kNumber, 0, kDayMs, Scope::kAll, kRestart, "",
     "on SIGTERM or POST /admin/drain: stop accepting, fail /readyz, ask clients to reconnect "
     "elsewhere (spread over this time), then close the rest with 1001; 0: no drain"},
    {"shutdown-timeout-ms", Kind::kNumber, 0, kDayMs, Scope::kAll, kRestart, "",
     "after the 1001 closes (SIGINT, or the drain's end), wait this long for their close "
     "handshakes"},
    {"max-queued-bytes", Kind::kNumber, 1024, uint64_t{1} << 32, Scope::kAll, kRestart, "",
     "bytes queued per connection before the slow-consumer policy applies"},
    {"slow-consumer-policy", Kind::kText, 0, 0, Scope::kAll, kRestart, "",
     "disconnect, drop, conflate or catchup: for subscriptions that name none"},
    {"max-subscriptions", Kind::kNumber, 1, 10000000, Scope::kAll, kRestart, "",
     "subscriptions per connection"},
    {"max-topics", Kind::kNumber, 1, uint64_t{1} << 40, Scope::kAll, kRestart, "",
     "distinct topics across the broker (too_many_topics above)"},
    {"data-dir", Kind::kText, 0, 0, Scope::kAll, kRestart, "",
     "directory of the on-disk history logs"},
    {"history", Kind::kList, 0, 0, Scope::kAll, kRestart, "none",
     "PATTERN=BACKEND,BOUNDS[,durability=async|sync], repeatable: topics that keep history "
     "(first match wins). BOUNDS: count=N, age=T, bytes=B, comma-separated; memory needs "
     "count= or bytes=, rocksdb at least one of the three, redis count= (and age=), none "
     "takes none"},
    {"redis", Kind::kList, 0, 0, Scope::kAll, kRestart, "none",
     "redis://[USER@]HOST:PORT[/DB] or rediss:// (TLS), repeatable: run as one of several "
     "nodes sharing topics through these Redis servers (topics sharded by hash); "
     "PROTOCOL.md section 12"},
    {"redis-password-file", Kind::kText, 0, 0, Scope::kAll, kRestart, "none",
     "file whose first line is the Redis password (AUTH), for every --redis server"},
    {"redis-tls-ca-file", Kind::kText, 0, 0, Scope::kAll, kRestart, "system CAs",
     "PEM CA certificates a rediss:// server is verified against"},
    {"tls-port", Kind::kNumber, 0, 65535, Scope::kAll, kRestart, "none",
     "also serve wss:// on this port (needs --cert and --key)"},
    {"cert", Kind::kText, 0, 0, Scope::kAll, kReload, "",
     "TLS certificate chain, PEM (reloaded on SIGHUP)"},
    {"key", Kind::kText, 0, 0, Scope::kAll, kReload, "",
     "TLS private key, PEM (reloaded on SIGHUP)"},
    {"tls-only", Kind::kSwitch, 0, 0, Scope::kAll, kRestart, "",
     "serve only the TLS port, no plain listener"},
    {"auth", Kind::kText, 0, 0, Scope::kAll, kRestart, "",
     "off or required: whether a JWT (PROTOCOL.md section 10) is needed"},
    {"jwt-secret-file", Kind::kText, 0, 0, Scope::kAll, kReload, "",
     "file holding the HS256 shared secret, 32 bytes or more (reloaded on SIGHUP)"},
    {"jwt-public-key", Kind::kText, 0, 0, Scope::kAll, kReload, "",
     "PEM public key file: RSA (RS256) or P-256 (ES256) (reloaded on SIGHUP)"},
    {"allowed-origins", Kind::kText, 0, 0, Scope::kAll, kReload, "",
     "* or a comma-separated list of origins (https://app.example.com) and *.example.com "
     "patterns; others get 403"},
    {"allow-missing-origin", Kind::kText, 0, 0, Scope::kAll, kReload, "",
     "true or false: accept handshakes without Origin (non-browser clients)"},
    {"max-publish-rate", Kind::kNumber, 0, uint64_t{1} << 32, Scope::kAll, kRestart, "",
     "publishes per second per connection, 0 for no limit (rate_limited above)"},
    {"max-publish-burst", Kind::kNumber, 0, uint64_t{1} << 32, Scope::kAll, kRestart, "",
     "publishes a connection may send at once; 0: as many as --max-publish-rate"},
    {"max-connections-per-ip", Kind::kNumber, 0, 100000000, Scope::kAll, kRestart, "",
     "open connections per client address (IPv6: per /64), 0 for no limit (429 above)"},
    {"max-new-connections-per-ip-per-s", Kind::kNumber, 0, 100000000, Scope::kAll, kRestart, "",
     "new connections per second per client address, 0 for no limit (429 above)"},
    {"trusted-proxies", Kind::kText, 0, 0, Scope::kAll, kRestart, "none",
     "CIDR list of load balancers whose PROXY v2 header or X-Forwarded-For names the client"},
    {"admin-token-file", Kind::kText, 0, 0, Scope::kAll, kRestart, "none",
     "file holding the admin token (trimmed): POST /admin/drain with Authorization: Bearer "
     "<token>, the admin page at /admin and the $sys.stats and $sys.topics statistics (read "
     "with the token, published once a second); without it all three are off"},
    {"log-format", Kind::kText, 0, 0, Scope::kAll, kRestart, "", "text or json (JSON Lines)"},
    {"log-level", Kind::kText, 0, 0, Scope::kAll, kRestart, "",
     "error, warn, info or debug (debug: a line per connection close)"},
    {"help", Kind::kSwitch, 0, 0, Scope::kCommandLine, kRestart, "", "print this help"},
};

std::string io_name(io::BackendChoice choice) {
  switch (choice) {
    case io::BackendChoice::kUring:
      return "uring";
    case io::BackendChoice::kEpoll:
      return "epoll";
    default:
      return "auto";
  }
}

void store_number(std::string_view name, uint64_t value, ServerConfig& c) {
  if (name == "port") c.port = static_cast<uint16_t>(value);
  if (name == "workers") c.workers = static_cast<uint32_t>(value);
  if (name == "max-connections") c.max_connections = value;
  if (name == "compression-level") c.compression_level = static_cast<int>(value);
  if (name == "compression-min-bytes") c.compression_min_bytes = value;
  if (name == "max-message-bytes") c.max_message_bytes = value;
  if (name == "handshake-timeout-ms") c.handshake_timeout_ms = value;
  if (name == "idle-timeout-ms") c.idle_timeout_ms = value;
  if (name == "close-timeout-ms") c.close_timeout_ms = value;
  if (name == "drain-timeout-ms") c.drain_timeout_ms = value;
  if (name == "shutdown-timeout-ms") c.shutdown_timeout_ms = value;
  if (name == "max-queued-bytes") c.max_queued_bytes = value;
  if (name == "max-subscriptions") c.max_subscriptions = value;
  if (name == "max-topics") c.max_topics = value;
  if (name == "tls-port") {
    c.tls = true;
    c.tls_port = static_cast<uint16_t>(value);
  }
  if (name == "max-publish-rate") c.max_publish_rate = value;
  if (name == "max-publish-burst") c.max_publish_burst = value;
  if (name == "max-connections-per-ip") c.access_settings.connections_per_ip_max = value;
  if (name == "max-new-connections-per-ip-per-s") {
    c.access_settings.new_connections_per_ip_per_s = value;
  }
}

common::Status bad_value(std::string_view value, std::string_view allowed) {
  // Appended, not added: GCC 12 inlines '"'" + std::string' into a -Wrestrict false alarm.
  std::string why(1, '\'');
  why.append(value).append("' is not ").append(allowed);
  return common::Status::invalid_argument(why);
}

// "true" or "false": switches from a file or variable, and --allow-missing-origin.
common::Status parse_bool(std::string_view value, bool& out) {
  if (value != "true" && value != "false") return bad_value(value, "true or false");
  out = value == "true";
  return common::Status::ok();
}

// The access flags (broker/auth). Fails with why, without the setting's name.
common::Status store_access(std::string_view name, std::string_view value, ServerConfig& c) {
  auth::AccessSettings& access = c.access_settings;
  if (name == "auth") {
    if (value != "off" && value != "required") return bad_value(value, "off or required");
    access.auth_required = value == "required";
  } else if (name == "allow-missing-origin") {
    return parse_bool(value, access.allow_missing_origin);
  } else if (name == "jwt-secret-file") {
    access.jwt_secret_file = std::string(value);
  } else if (name == "jwt-public-key") {
    access.jwt_public_key = std::string(value);
  } else if (name == "trusted-proxies") {
    access.trusted_proxies = std::string(value);
  } else {
    access.allowed_origins = std::string(value);
  }
  return common::Status::ok();
}

// Text settings. Fails with why, without the setting's name.
common::Status store_text(std::string_view name, std::string_view value, ServerConfig& c) {
  if (name == "history") {
    if (storage::Result<storage::HistoryRule> rule = storage::parse_history_rule(value);
        !rule.status.is_ok()) {
      return common::Status::invalid_argument(rule.status.message());
    }
    c.history.emplace_back(value);
  } else if (name == "redis") {
    if (auto address = cluster::parse_redis_url(value); !address.status.is_ok()) {
      return common::Status::invalid_argument(address.status.message());
    }
    c.redis.emplace_back(value);
  } else if (name == "redis-password-file") {
    c.redis_password_file = std::string(value);
  } else if (name == "redis-tls-ca-file") {
    c.redis_tls_ca_file = std::string(value);
  } else if (name == "io") {
    if (value == "auto") {
      c.io = io::BackendChoice::kAuto;
    } else if (value == "uring") {
      c.io = io::BackendChoice::kUring;
    } else if (value == "epoll") {
      c.io = io::BackendChoice::kEpoll;
    } else {
      return bad_value(value, "auto, uring or epoll");
    }
  } else if (name == "compression") {
    if (value != "on" && value != "off") return bad_value(value, "on or off");
    c.compression = value == "on";
  } else if (name == "slow-consumer-policy") {
    protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDefault;
    if (!protocol::pubsub::parse_policy(value, policy) ||
        policy == protocol::pubsub::Policy::kDefault) {
      return bad_value(value, "disconnect, drop, conflate or catchup");
    }
    c.slow_consumer_policy = policy;
  } else if (name == "data-dir") {
    c.data_dir = std::string(value);
  } else if (name == "cert") {
    c.cert_path = std::string(value);
  } else if (name == "key") {
    c.key_path = std::string(value);
  } else if (name == "host") {
    c.host = std::string(value);
  } else if (name == "admin-token-file") {
    c.admin_token_file = std::string(value);
  } else if (name == "log-format") {
    if (!parse_log_format(value, c.log_format)) return bad_value(value, "text or json");
  } else if (name == "log-level") {
    if (!parse_log_level(value, c.log_level)) {
      return bad_value(value, "error, warn, info or debug");
    }
  } else {
    return store_access(name, value, c);
  }
  return common::Status::ok();
}

}  // namespace

// A scalar setting's value in `c`, as its flag spells it; empty when unset. --help shows it
// for a default configuration, --print-config and the SIGHUP diff for the effective one.
std::string value_of(std::string_view name, const ServerConfig& c) {
  const auth::AccessSettings& a = c.access_settings;
  auto number = [](uint64_t value) { return std::to_string(value); };
  auto flag = [](bool value) { return std::string(value ? "true" : "false"); };
  if (name == "host") return c.host;
  if (name == "port") return number(c.port);
  if (name == "workers") return c.workers == 0 ? "" : number(c.workers);
  if (name == "io") return io_name(c.io);
  if (name == "echo") return flag(c.echo);
  if (name == "compression") return c.compression ? "on" : "off";
  if (name == "compression-level") return number(static_cast<uint64_t>(c.compression_level));
  if (name == "compression-min-bytes") return number(c.compression_min_bytes);
  if (name == "max-connections") return number(c.max_connections);
  if (name == "max-message-bytes") return number(c.max_message_bytes);
  if (name == "handshake-timeout-ms") return number(c.handshake_timeout_ms);
  if (name == "idle-timeout-ms") return number(c.idle_timeout_ms);
  if (name == "close-timeout-ms") return number(c.close_timeout_ms);
  if (name == "drain-timeout-ms") return number(c.drain_timeout_ms);
  if (name == "shutdown-timeout-ms") return number(c.shutdown_timeout_ms);
  if (name == "max-queued-bytes") return number(c.max_queued_bytes);
  if (name == "slow-consumer-policy") {
    return std::string(protocol::pubsub::policy_name(c.slow_consumer_policy));
  }
  if (name == "max-subscriptions") return number(c.max_subscriptions);
  if (name == "max-topics") return number(c.max_topics);
  if (name == "data-dir") return c.data_dir;
  if (name == "tls-port") return c.tls ? number(c.tls_port) : "";
  if (name == "cert") return c.cert_path;
  if (name == "key") return c.key_path;
  if (name == "tls-only") return flag(c.tls_only);
  if (name == "auth") return a.auth_required ? "required" : "off";
  if (name == "jwt-secret-file") return a.jwt_secret_file;
  if (name == "jwt-public-key") return a.jwt_public_key;
  if (name == "allowed-origins") return a.allowed_origins;
  if (name == "allow-missing-origin") return flag(a.allow_missing_origin);
  if (name == "max-publish-rate") return number(c.max_publish_rate);
  if (name == "max-publish-burst") return number(c.max_publish_burst);
  if (name == "max-connections-per-ip") return number(a.connections_per_ip_max);
  if (name == "max-new-connections-per-ip-per-s") return number(a.new_connections_per_ip_per_s);
  if (name == "trusted-proxies") return a.trusted_proxies;
  if (name == "admin-token-file") return c.admin_token_file;
  if (name == "redis-password-file") return c.redis_password_file;
  if (name == "redis-tls-ca-file") return c.redis_tls_ca_file;
  if (name == "log-format") return std::string(log_format_name(c.log_format));
  if (name == "log-level") return std::string(log_level_name(c.log_level));
  return "";  // config, print-config, help: not part of the configuration
}

// A repeatable setting's values.
const std::vector<std::string>& list_of(std::string_view name, const ServerConfig& c) {
  return name == "redis" ? c.redis : c.history;
}

// Applies one value of a setting. Fails with why, without the setting's name.
common::Status apply(const SettingSpec& flag, std::string_view value, ServerConfig& config) {
  if (flag.kind == Kind::kSwitch) {
    bool on = false;
    if (common::Status parsed = parse_bool(value, on); !parsed.is_ok()) return parsed;
    if (flag.name == "echo") config.echo = on;
    if (flag.name == "tls-only") config.tls_only = on;
    return common::Status::ok();
  }
  if (flag.kind != Kind::kNumber) {
    if (value.empty()) return common::Status::invalid_argument("empty value");
    return store_text(flag.name, value, config);
  }
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return common::Status::invalid_argument("not a number: '" + std::string(value) + "'");
  }
  if (number < flag.min || number > flag.max) {
    return common::Status::invalid_argument(std::string(value) + " is out of range [" +
                                            std::to_string(flag.min) + ", " +
                                            std::to_string(flag.max) + "]");
  }
  store_number(flag.name, number, config);
  return common::Status::ok();
}

const SettingSpec* find_flag(std::string_view name) {
  for (const SettingSpec& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

std::span<const SettingSpec> setting_table() { return kFlags; }

}  // namespace herald::broker::net
