// The settings table and everything it drives: the flags, HERALD_ variables and config-file
// keys, their merge by precedence, --help, --print-config and the SIGHUP diff. One table, so
// none of them can drift from what the parser accepts.
#include "broker/net/config.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "broker/cluster/redis_config.h"
#include "broker/net/config_file.h"
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
  return common::Status::invalid_argument("'" + std::string(value) + "' is not " +
                                          std::string(allowed));
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

// Applies one value of a setting. Fails with why, without the setting's name.
common::Status apply(const Flag& flag, std::string_view value, ServerConfig& config) {
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

const Flag* find_flag(std::string_view name) {
  for (const Flag& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

// Several nodes: every topic is numbered in Redis, so history lives there too (redis rules);
// a node-local log would number its topics on its own.
common::Status check_cluster_settings(const ServerConfig& c) {
  auto rules = storage::HistoryRules::parse(c.history);
  if (!rules.status.is_ok()) return common::Status::invalid_argument(rules.status.message());
  if (c.redis.empty()) {
    if (rules.value.uses(storage::Backend::kRedis)) {
      return common::Status::invalid_argument("a --history redis rule needs --redis");
    }
    if (!c.redis_password_file.empty() || !c.redis_tls_ca_file.empty()) {
      return common::Status::invalid_argument(
          "--redis-password-file and --redis-tls-ca-file need --redis");
    }
    return common::Status::ok();
  }
  if (rules.value.uses(storage::Backend::kMemory) || rules.value.uses(storage::Backend::kRocksDb)) {
    return common::Status::invalid_argument(
        "with --redis, history is kept in Redis: use PATTERN=redis,count=N[,age=T] rules "
        "(memory and rocksdb rules are for a single node)");
  }
  cluster::RedisConfig check;
  for (const std::string& url : c.redis) {
    if (common::Status added = cluster::add_redis_url(check, url); !added.is_ok()) return added;
  }
  return common::Status::ok();
}

FlagsResult fail(std::string message) {
  FlagsResult result;
  result.status = FlagsResult::Status::kError;
  result.error = std::move(message);
  return result;
}

// One setting's values from one layer (flags, variables or the file), with its place for
// errors ("--port", "HERALD_PORT", "herald.toml:3: port") and for --print-config.
struct Setting {
  const Flag* flag = nullptr;
  std::vector<std::string> values;
  Source source = Source::kDefault;
  std::string place;
  std::string where;
};

// Every layer's settings; the last one seen of a setting in the highest layer wins, and a
// repeatable flag's values add up within that layer only.
struct Layers {
  std::vector<Setting> settings;
  bool help = false;
  bool print = false;

  void put(const Flag& flag, std::string value, Source source, std::string place,
           std::string where) {
    for (Setting& setting : settings) {
      if (setting.flag != &flag || setting.source != source) continue;
      if (flag.kind != Kind::kList) setting.values.clear();
      setting.values.push_back(std::move(value));
      setting.place = std::move(place);
      setting.where = std::move(where);
      return;
    }
    settings.push_back({&flag, {std::move(value)}, source, std::move(place), std::move(where)});
  }
  [[nodiscard]] const Setting* winner(const Flag& flag) const {
    const Setting* best = nullptr;
    for (const Setting& setting : settings) {
      if (setting.flag == &flag && (best == nullptr || setting.source > best->source)) {
        best = &setting;
      }
    }
    return best;
  }
};

// The command line into `layers`. Fails with the line to print.
common::Status read_flags(std::span<const char* const> args, Layers& layers) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      return common::Status::invalid_argument("unexpected argument '" + std::string(arg) + "'");
    }
    arg.remove_prefix(2);
    std::string_view value;
    bool has_inline_value = false;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_inline_value = true;
    }
    const Flag* flag = find_flag(arg);
    std::string dashed = "--" + std::string(arg);
    if (flag == nullptr) return common::Status::invalid_argument("unknown flag " + dashed);
    if (flag->kind == Kind::kSwitch) {
      if (has_inline_value) return common::Status::invalid_argument(dashed + " takes no value");
      if (flag->name == "help") layers.help = true;
      if (flag->name == "print-config") layers.print = true;
      value = "true";
    } else if (!has_inline_value) {
      if (i + 1 == args.size()) return common::Status::invalid_argument(dashed + " needs a value");
      value = args[++i];
    }
    layers.put(*flag, std::string(value), Source::kFlag, "flag " + dashed, dashed);
  }
  return common::Status::ok();
}

// HERALD_MAX_CONNECTIONS for max-connections.
std::string variable_name(std::string_view name) {
  std::string variable = "HERALD_";
  for (char c : name) variable += c == '-' ? '_' : static_cast<char>(c - 'a' + 'A');
  return variable;
}

// The HERALD_<FLAG> variables of `env` into `layers`; HERALD_HISTORY holds rules split by ';'.
void read_env(std::span<const std::string> env, Layers& layers) {
  for (const Flag& flag : kFlags) {
    if (flag.scope == Scope::kCommandLine) continue;
    std::string prefix = variable_name(flag.name) + "=";
    for (const std::string& entry : env) {
      if (!entry.starts_with(prefix)) continue;
      std::string_view value = std::string_view(entry).substr(prefix.size());
      std::string variable = prefix.substr(0, prefix.size() - 1);
      do {
        size_t split = flag.kind == Kind::kList ? value.find(';') : std::string_view::npos;
        layers.put(flag, std::string(value.substr(0, split)), Source::kEnv, "env " + variable,
                   variable);
        value = split == std::string_view::npos ? std::string_view() : value.substr(split + 1);
      } while (!value.empty());
    }
  }
}

// The file's settings into `layers`. Fails with the line to print.
common::Status read_file(std::string_view text, std::string_view path, Layers& layers) {
  common::Result<std::vector<FileSetting>> parsed = parse_config_file(text, path);
  if (!parsed.status.is_ok()) return parsed.status;
  for (const FileSetting& setting : parsed.value) {
    std::string line = std::string(path) + ":" + std::to_string(setting.line);
    for (const std::string& value : setting.values) {
      layers.put(*setting.spec, value, Source::kFile, "file " + line,
                 line + ": " + std::string(setting.spec->name));
    }
    if (setting.values.empty()) {  // history = []: no rules, overriding nothing below
      layers.settings.push_back({setting.spec, {}, Source::kFile, "file " + line, line});
    }
  }
  return common::Status::ok();
}

// Every value of every layer checked (an overridden bad value would surface the day its
// override goes), then the winners applied over the defaults, then the checks across settings.
FlagsResult merge(const Layers& layers) {
  FlagsResult result;
  for (const Setting& setting : layers.settings) {
    if (setting.flag->scope == Scope::kCommandLine || setting.flag->name == "config") continue;
    ServerConfig scratch;
    for (const std::string& value : setting.values) {
      if (common::Status applied = apply(*setting.flag, value, scratch); !applied.is_ok()) {
        return fail(setting.where + ": " + applied.message());
      }
    }
  }
  for (const Flag& flag : kFlags) {
    const Setting* setting = layers.winner(flag);
    result.origins.push_back({flag.name, setting ? setting->source : Source::kDefault,
                              setting ? setting->place : "default"});
    if (setting == nullptr || flag.scope == Scope::kCommandLine) continue;
    if (flag.name == "config") {
      result.config_path = setting->values.back();
      continue;
    }
    for (const std::string& value : setting->values) {
      [[maybe_unused]] common::Status applied = apply(flag, value, result.config);
      assert(applied.is_ok());  // checked above
    }
  }
  const ServerConfig& c = result.config;
  if (c.tls && (c.cert_path.empty() || c.key_path.empty())) {
    return fail("--tls-port needs --cert and --key");
  }
  if (!c.tls && (!c.cert_path.empty() || !c.key_path.empty() || c.tls_only)) {
    return fail("--cert, --key and --tls-only need --tls-port");
  }
  if (common::Status cluster = check_cluster_settings(c); !cluster.is_ok()) {
    return fail(cluster.message());
  }
  if (layers.print) result.status = FlagsResult::Status::kPrintConfig;
  return result;
}

// A setting's value as a TOML value: numbers and switches bare, text quoted, a list as an array.
std::string toml_value(const Flag& flag, const ServerConfig& c) {
  auto quote = [](std::string_view text) {  // a TOML basic string
    std::string quoted = "\"";
    for (char ch : text) {
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(ch));
        quoted += escaped;
        continue;
      }
      if (ch == '"' || ch == '\\') quoted += '\\';
      quoted += ch;
    }
    return quoted + "\"";
  };
  if (flag.kind == Kind::kList) {
    std::string array = "[";
    for (const std::string& item : list_of(flag.name, c)) {
      array += (array.size() > 1 ? ", " : "") + quote(item);
    }
    return array + "]";
  }
  std::string value = value_of(flag.name, c);
  return flag.kind == Kind::kText ? quote(value) : value;
}

// Whether a setting has a value to show (not an empty text nor an unset default).
bool has_value(const Flag& flag, const ServerConfig& c) {
  if (flag.kind == Kind::kList) return !list_of(flag.name, c).empty();
  return !value_of(flag.name, c).empty();
}

// The file's bytes into `text`; false with errno set when it cannot be read.
bool read_whole_file(const std::string& path, std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  char buffer[4096];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  int error = std::ferror(file) != 0 ? errno : 0;  // EISDIR for a directory
  std::fclose(file);
  errno = error;
  return error == 0;
}

// Loads all layers; `file_text` stands in for the file when given (tests).
FlagsResult load(std::span<const char* const> args, std::span<const std::string> env,
                 const std::string* file_text, std::string_view file_path) {
  Layers layers;
  if (common::Status read = read_flags(args, layers); !read.is_ok()) return fail(read.message());
  if (layers.help) {
    FlagsResult help;
    help.status = FlagsResult::Status::kHelp;
    return help;
  }
  read_env(env, layers);
  const Setting* config = layers.winner(*find_flag("config"));
  std::string path = config ? config->values.back() : std::string(file_path);
  if (config != nullptr || file_text != nullptr) {
    std::string text;
    if (file_text != nullptr) {
      text = *file_text;
    } else {
      if (!read_whole_file(path, text)) {
        return fail(config->where + ": cannot read " + path + ": " + std::strerror(errno));
      }
    }
    if (common::Status read = read_file(text, path, layers); !read.is_ok()) {
      return fail(read.message());
    }
  }
  FlagsResult result = merge(layers);
  if (result.status != FlagsResult::Status::kError) result.config_path = path;
  return result;
}

}  // namespace

std::span<const SettingSpec> setting_table() { return kFlags; }

FlagsResult parse_flags(std::span<const char* const> args) {
  Layers layers;
  if (common::Status read = read_flags(args, layers); !read.is_ok()) return fail(read.message());
  FlagsResult result = merge(layers);
  if (layers.help) result.status = FlagsResult::Status::kHelp;
  return result;
}

FlagsResult load_config(std::span<const char* const> args, std::span<const std::string> env) {
  return load(args, env, nullptr, "");
}

FlagsResult load_config_text(std::span<const char* const> args, std::span<const std::string> env,
                             std::string_view file_text, std::string_view file_path) {
  std::string text(file_text);
  return load(args, env, &text, file_path);
}

std::string usage_text() {
  ServerConfig defaults;
  std::string text =
      "usage: herald [--config FILE] [flags]\n\n"
      "Each flag is also a key of the --config file and a HERALD_<FLAG> variable\n"
      "(HERALD_MAX_CONNECTIONS); flags override variables, which override the file.\n\nflags:\n";
  for (const Flag& flag : kFlags) {
    std::string left = "  --" + std::string(flag.name);
    if (flag.kind == Kind::kNumber) left += " N";
    if (flag.kind == Kind::kText || flag.kind == Kind::kList) {
      left += flag.name == "host"                           ? " ADDR"
              : flag.name == "history"                      ? " RULE"
              : flag.name == "redis"                        ? " URL"
              : flag.name.starts_with("redis-")             ? " FILE"
              : (flag.name == "cert" || flag.name == "key") ? " FILE"
              : flag.name.starts_with("jwt")                ? " FILE"
              : flag.name == "config"                       ? " FILE"
              : flag.name == "trusted-proxies"              ? " CIDRS"
              : flag.name == "allowed-origins"              ? " LIST"
                                                            : " NAME";
    }
    left.resize(std::max<size_t>(left.size() + 1, 31), ' ');
    text += left + std::string(flag.help);
    std::string def = flag.kind == Kind::kSwitch ? "" : value_of(flag.name, defaults);
    if (def.empty()) def = flag.unset;
    if (!def.empty()) text += " (default: " + def + ")";
    text += "\n";
  }
  return text;
}

std::string print_config_text(const FlagsResult& loaded) {
  std::string text = "# herald's effective configuration, each value with its source\n";
  for (const Flag& flag : kFlags) {
    if (flag.scope != Scope::kAll) continue;
    std::string where;
    for (const SettingOrigin& origin : loaded.origins) {
      if (origin.name == flag.name) where = origin.where;
    }
    std::string line = has_value(flag, loaded.config)
                           ? std::string(flag.name) + " = " + toml_value(flag, loaded.config)
                           : "# " + std::string(flag.name) + " unset (" +
                                 std::string(flag.unset.empty() ? "none" : flag.unset) + ")";
    line.resize(std::max<size_t>(line.size() + 1, 44), ' ');
    text += line + "# " + where + "\n";
  }
  return text;
}

std::vector<SettingChange> diff_config(const ServerConfig& before, const ServerConfig& after) {
  std::vector<SettingChange> changes;
  for (const Flag& flag : kFlags) {
    if (flag.scope != Scope::kAll) continue;
    std::string old_value = toml_value(flag, before);
    std::string new_value = toml_value(flag, after);
    if (old_value != new_value) {
      changes.push_back({flag.name, std::move(old_value), std::move(new_value), flag.reloadable});
    }
  }
  return changes;
}

}  // namespace herald::broker::net
