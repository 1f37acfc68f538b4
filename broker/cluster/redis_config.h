// The Redis servers a node talks to: `--redis` URLs, the password file, TLS options, the
// timings of the link, and which server (shard) owns a topic. Parsing and validation only; no
// sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/status.h"

namespace herald::broker::cluster {

using common::Result;
using common::Status;

// One `redis://[USER@]HOST:PORT[/DB]` or `rediss://...` (TLS). HOST is a name, an IPv4
// address or a bracketed IPv6 address ([::1]). The password never appears in a URL: it comes
// from --redis-password-file, so it stays out of `ps` and shell history.
struct RedisAddress {
  bool tls = false;
  std::string user;  // empty: AUTH with the password alone (the `default` user)
  std::string host;  // without brackets
  uint16_t port = 0;
  uint32_t db = 0;   // SELECT db; 0 is Redis's default
  std::string text;  // the URL as given, for logs and errors
};

// Parses one URL; errors name the URL and what is wrong with it.
[[nodiscard]] Result<RedisAddress> parse_redis_url(std::string_view url);

struct RedisConfig {
  std::vector<RedisAddress> servers;  // one shard each, in the order given
  std::string password;               // empty: no AUTH
  std::string tls_ca_file;            // rediss:// verifies the server against it (or the
                                      // system's default CAs when empty)
  uint32_t connect_timeout_ms = 2000;
  uint32_t command_timeout_ms = 5000;   // a reply older than this closes the connection
  uint32_t backoff_min_ms = 50;         // reconnect delays double from here...
  uint32_t backoff_max_ms = 2000;       // ...up to here, each jittered down by up to half
  uint32_t canary_interval_ms = 2000;   // each link publishes to itself this often
  uint32_t idempotency_ttl_ms = 60000;  // how long a retried publish finds its first result
};

// Adds one `--redis` URL to config.servers, refusing duplicates and mixed databases' clashes.
[[nodiscard]] Status add_redis_url(RedisConfig& config, std::string_view url);
// Reads the password from `path`: the first line, without its line ending. An empty or
// unreadable file is an error (a typo in the path must not silently disable AUTH).
[[nodiscard]] Status read_redis_password(RedisConfig& config, const std::string& path);

// The shard owning `topic`: FNV-1a 64 of the topic's bytes, modulo `shard_count`. The hash is
// fixed by this definition (offset basis 0xcbf29ce484222325, prime 0x100000001b3), not by any
// library, so every node and every version agrees. shard_count must be nonzero. Adding a
// server moves topics (modulo): every node must be given the same list in the same order.
[[nodiscard]] uint32_t shard_of(std::string_view topic, uint32_t shard_count);
[[nodiscard]] uint64_t fnv1a64(std::string_view bytes);

}  // namespace herald::broker::cluster
