// Flag table, parser and usage text. One table drives both, so --help cannot drift from what
// the parser accepts.
#include "broker/net/config.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string_view>

#include "storage/history_rules.h"

namespace herald::broker::net {

namespace {

struct Flag {
  std::string_view name;
  enum class Kind : uint8_t { kSwitch, kNumber, kText } kind;
  uint64_t min = 0;
  uint64_t max = 0;
  std::string_view help;
};

constexpr uint64_t kDayMs = uint64_t{24} * 3600 * 1000;

constexpr Flag kFlags[] = {
    {"host", Flag::Kind::kText, 0, 0, "address to listen on"},
    {"port", Flag::Kind::kNumber, 0, 65535, "TCP port (0 picks a free one)"},
    {"workers", Flag::Kind::kNumber, 1, 1024, "I/O threads, one event loop each"},
    {"io", Flag::Kind::kText, 0, 0,
     "auto, uring or epoll: the I/O backend (auto: io_uring where allowed, else epoll)"},
    {"echo", Flag::Kind::kSwitch, 0, 0, "serve the /echo WebSocket route"},
    {"max-connections", Flag::Kind::kNumber, 1, 100000000, "open connections across workers"},
    {"max-message-bytes", Flag::Kind::kNumber, 1, uint64_t{1} << 31,
     "largest WebSocket message accepted (1009 above)"},
    {"handshake-timeout-ms", Flag::Kind::kNumber, 1, kDayMs, "time to complete the handshake"},
    {"idle-timeout-ms", Flag::Kind::kNumber, 1, kDayMs,
     "silence before a ping; as long again before close 1001"},
    {"close-timeout-ms", Flag::Kind::kNumber, 1, kDayMs,
     "wait for the peer's Close (or a flush) before dropping TCP"},
    {"shutdown-timeout-ms", Flag::Kind::kNumber, 0, kDayMs,
     "on SIGINT/SIGTERM, wait this long for connections to close"},
    {"max-queued-bytes", Flag::Kind::kNumber, 1024, uint64_t{1} << 32,
     "bytes queued per connection before the slow-consumer policy applies"},
    {"slow-consumer-policy", Flag::Kind::kText, 0, 0,
     "disconnect, drop, conflate or catchup: for subscriptions that name none"},
    {"max-subscriptions", Flag::Kind::kNumber, 1, 10000000, "subscriptions per connection"},
    {"max-topics", Flag::Kind::kNumber, 1, uint64_t{1} << 40,
     "distinct topics across the broker (too_many_topics above)"},
    {"data-dir", Flag::Kind::kText, 0, 0, "directory of the on-disk history logs"},
    {"history", Flag::Kind::kText, 0, 0,
     "PATTERN=BACKEND[,count=N][,age=T][,bytes=B][,durability=async|sync], repeatable: topics "
     "that keep history (first match wins)"},
    {"tls-port", Flag::Kind::kNumber, 0, 65535,
     "also serve wss:// on this port (needs --cert and --key)"},
    {"cert", Flag::Kind::kText, 0, 0, "TLS certificate chain, PEM (reloaded on SIGHUP)"},
    {"key", Flag::Kind::kText, 0, 0, "TLS private key, PEM (reloaded on SIGHUP)"},
    {"tls-only", Flag::Kind::kSwitch, 0, 0, "serve only the TLS port, no plain listener"},
    {"auth", Flag::Kind::kText, 0, 0,
     "off or required: whether a JWT (PROTOCOL.md section 10) is needed"},
    {"jwt-secret-file", Flag::Kind::kText, 0, 0,
     "file holding the HS256 shared secret (32 bytes or more)"},
    {"jwt-public-key", Flag::Kind::kText, 0, 0,
     "PEM public key file: RSA (RS256) or P-256 (ES256)"},
    {"allowed-origins", Flag::Kind::kText, 0, 0,
     "* or a comma-separated list of origins (https://app.example.com) and *.example.com "
     "patterns; others get 403"},
    {"allow-missing-origin", Flag::Kind::kText, 0, 0,
     "true or false: accept handshakes without Origin (non-browser clients)"},
    {"max-publish-rate", Flag::Kind::kNumber, 0, uint64_t{1} << 32,
     "publishes per second per connection, 0 for no limit (rate_limited above)"},
    {"max-publish-burst", Flag::Kind::kNumber, 0, uint64_t{1} << 32,
     "publishes a connection may send at once; 0: as many as --max-publish-rate"},
    {"max-connections-per-ip", Flag::Kind::kNumber, 0, 100000000,
     "open connections per client address (IPv6: per /64), 0 for no limit (429 above)"},
    {"max-new-connections-per-ip-per-s", Flag::Kind::kNumber, 0, 100000000,
     "new connections per second per client address, 0 for no limit (429 above)"},
    {"trusted-proxies", Flag::Kind::kText, 0, 0,
     "CIDR list of load balancers whose PROXY v2 header or X-Forwarded-For names the client"},
    {"help", Flag::Kind::kSwitch, 0, 0, "print this help"},
};

std::string default_of(std::string_view name, const ServerConfig& c) {
  if (name == "host") return c.host;
  if (name == "port") return std::to_string(c.port);
  if (name == "workers") return "number of cores";
  if (name == "io") return "auto";
  if (name == "echo") return "off";
  if (name == "max-connections") return std::to_string(c.max_connections);
  if (name == "max-message-bytes") return std::to_string(c.max_message_bytes);
  if (name == "handshake-timeout-ms") return std::to_string(c.handshake_timeout_ms);
  if (name == "idle-timeout-ms") return std::to_string(c.idle_timeout_ms);
  if (name == "close-timeout-ms") return std::to_string(c.close_timeout_ms);
  if (name == "shutdown-timeout-ms") return std::to_string(c.shutdown_timeout_ms);
  if (name == "max-queued-bytes") return std::to_string(c.max_queued_bytes);
  if (name == "slow-consumer-policy") {
    return std::string(protocol::pubsub::policy_name(c.slow_consumer_policy));
  }
  if (name == "max-subscriptions") return std::to_string(c.max_subscriptions);
  if (name == "max-topics") return std::to_string(c.max_topics);
  if (name == "data-dir") return c.data_dir;
  if (name == "history") return "none";
  if (name == "tls-port") return "none";
  if (name == "auth") return c.access_settings.auth_required ? "required" : "off";
  if (name == "allowed-origins") return c.access_settings.allowed_origins;
  if (name == "allow-missing-origin") {
    return c.access_settings.allow_missing_origin ? "true" : "false";
  }
  if (name == "max-publish-rate") return std::to_string(c.max_publish_rate);
  if (name == "max-publish-burst") return std::to_string(c.max_publish_burst);
  if (name == "max-connections-per-ip") {
    return std::to_string(c.access_settings.connections_per_ip_max);
  }
  if (name == "max-new-connections-per-ip-per-s") {
    return std::to_string(c.access_settings.new_connections_per_ip_per_s);
  }
  if (name == "trusted-proxies") return "none";
  return "";
}

void store(std::string_view name, uint64_t value, ServerConfig& c) {
  if (name == "port") c.port = static_cast<uint16_t>(value);
  if (name == "workers") c.workers = static_cast<uint32_t>(value);
  if (name == "max-connections") c.max_connections = value;
  if (name == "max-message-bytes") c.max_message_bytes = value;
  if (name == "handshake-timeout-ms") c.handshake_timeout_ms = value;
  if (name == "idle-timeout-ms") c.idle_timeout_ms = value;
  if (name == "close-timeout-ms") c.close_timeout_ms = value;
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

// The access flags (broker/auth). Fails with the line to print.
common::Status store_access(std::string_view name, std::string_view value, ServerConfig& c) {
  auth::AccessSettings& access = c.access_settings;
  if (name == "auth") {
    if (value != "off" && value != "required") {
      return common::Status::invalid_argument("--auth: '" + std::string(value) +
                                              "' is not off or required");
    }
    access.auth_required = value == "required";
  } else if (name == "allow-missing-origin") {
    if (value != "true" && value != "false") {
      return common::Status::invalid_argument("--allow-missing-origin: '" + std::string(value) +
                                              "' is not true or false");
    }
    access.allow_missing_origin = value == "true";
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

// Text flags: --host, --slow-consumer-policy, --data-dir, --history, --cert, --key and the
// access flags. Fails with the line to print.
common::Status store_text(std::string_view name, std::string_view value, ServerConfig& c) {
  if (name == "data-dir") {
    c.data_dir = std::string(value);
    return common::Status::ok();
  }
  if (name == "history") {
    if (storage::Result<storage::HistoryRule> rule = storage::parse_history_rule(value);
        !rule.status.is_ok()) {
      return common::Status::invalid_argument("--history: " + rule.status.message());
    }
    c.history.emplace_back(value);
    return common::Status::ok();
  }
  if (name == "io") {
    if (value == "auto") {
      c.io = io::BackendChoice::kAuto;
    } else if (value == "uring") {
      c.io = io::BackendChoice::kUring;
    } else if (value == "epoll") {
      c.io = io::BackendChoice::kEpoll;
    } else {
      return common::Status::invalid_argument("--io: '" + std::string(value) +
                                              "' is not auto, uring or epoll");
    }
    return common::Status::ok();
  }
  if (name == "slow-consumer-policy") {
    protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDefault;
    if (!protocol::pubsub::parse_policy(value, policy) ||
        policy == protocol::pubsub::Policy::kDefault) {
      return common::Status::invalid_argument("--slow-consumer-policy: '" + std::string(value) +
                                              "' is not disconnect, drop, conflate or catchup");
    }
    c.slow_consumer_policy = policy;
    return common::Status::ok();
  }
  if (name == "cert") {
    c.cert_path = std::string(value);
  } else if (name == "key") {
    c.key_path = std::string(value);
  } else if (name == "host") {
    c.host = std::string(value);
  } else {
    return store_access(name, value, c);
  }
  return common::Status::ok();
}

const Flag* find_flag(std::string_view name) {
  for (const Flag& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

FlagsResult fail(std::string message) {
  FlagsResult result;
  result.status = FlagsResult::Status::kError;
  result.error = std::move(message);
  return result;
}

// Applies one flag with its value (if it takes one). Fails with the line to print.
common::Status apply(const Flag& flag, std::string_view value, ServerConfig& config) {
  std::string dashed = "--" + std::string(flag.name);
  if (flag.kind == Flag::Kind::kText) {
    if (value.empty()) return common::Status::invalid_argument(dashed + ": empty value");
    return store_text(flag.name, value, config);
  }
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return common::Status::invalid_argument(dashed + ": not a number: '" + std::string(value) +
                                            "'");
  }
  if (number < flag.min || number > flag.max) {
    return common::Status::invalid_argument(dashed + ": " + std::string(value) +
                                            " is out of range [" + std::to_string(flag.min) + ", " +
                                            std::to_string(flag.max) + "]");
  }
  store(flag.name, number, config);
  return common::Status::ok();
}

}  // namespace

FlagsResult parse_flags(std::span<const char* const> args) {
  FlagsResult result;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--")) return fail("unexpected argument '" + std::string(arg) + "'");
    arg.remove_prefix(2);
    std::string_view value;
    bool has_inline_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    const Flag* flag = find_flag(arg);
    if (flag == nullptr) return fail("unknown flag --" + std::string(arg));
    if (flag->kind == Flag::Kind::kSwitch) {
      if (has_inline_value) return fail("--" + std::string(arg) + " takes no value");
      if (flag->name == "help") result.status = FlagsResult::Status::kHelp;
      if (flag->name == "echo") result.config.echo = true;
      if (flag->name == "tls-only") result.config.tls_only = true;
      continue;
    }
    if (!has_inline_value) {
      if (i + 1 == args.size()) return fail("--" + std::string(arg) + " needs a value");
      value = args[++i];
    }
    if (common::Status applied = apply(*flag, value, result.config); !applied.is_ok()) {
      return fail(applied.message());
    }
  }
  const ServerConfig& c = result.config;
  if (c.tls && (c.cert_path.empty() || c.key_path.empty())) {
    return fail("--tls-port needs --cert and --key");
  }
  if (!c.tls && (!c.cert_path.empty() || !c.key_path.empty() || c.tls_only)) {
    return fail("--cert, --key and --tls-only need --tls-port");
  }
  return result;
}

std::string usage_text() {
  ServerConfig defaults;
  std::string text = "usage: herald [flags]\n\nflags:\n";
  for (const Flag& flag : kFlags) {
    std::string left = "  --" + std::string(flag.name);
    if (flag.kind == Flag::Kind::kNumber) left += " N";
    if (flag.kind == Flag::Kind::kText) {
      left += flag.name == "host"                           ? " ADDR"
              : flag.name == "history"                      ? " RULE"
              : (flag.name == "cert" || flag.name == "key") ? " FILE"
              : flag.name.starts_with("jwt")                ? " FILE"
              : flag.name == "trusted-proxies"              ? " CIDRS"
              : flag.name == "allowed-origins"              ? " LIST"
                                                            : " NAME";
    }
    left.resize(std::max<size_t>(left.size() + 1, 31), ' ');
    text += left + std::string(flag.help);
    std::string def = default_of(flag.name, defaults);
    if (!def.empty()) text += " (default: " + def + ")";
    text += "\n";
  }
  return text;
}

}  // namespace herald::broker::net
