// Parsing of --redis URLs and the password file; the topic-to-shard hash.
#include "broker/cluster/redis_config.h"

#include <charconv>
#include <fstream>

namespace herald::broker::cluster {
namespace {

Status bad(std::string_view url, std::string_view why) {
  return Status::invalid_argument("--redis " + std::string(url) + ": " + std::string(why));
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool valid_host_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

Result<RedisAddress> parse_redis_url(std::string_view url) {
  RedisAddress address;
  address.text = std::string(url);
  std::string_view rest = url;
  if (rest.starts_with("redis://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("rediss://")) {
    address.tls = true;
    rest.remove_prefix(9);
  } else {
    return {bad(url, "must start with redis:// or rediss://")};
  }
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    const std::string_view user = rest.substr(0, at);
    if (user.find(':') != std::string_view::npos) {
      return {bad(url, "a password in the URL is refused; use --redis-password-file")};
    }
    if (user.empty()) return {bad(url, "empty user before '@'")};
    address.user = std::string(user);
    rest.remove_prefix(at + 1);
  }
  std::string_view db;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!parse_number(db, address.db)) return {bad(url, "the database after '/' must be a number")};
  }
  std::string_view host;
  std::string_view port;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return {bad(url, "unclosed '[' in the host")};
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
    if (!rest.starts_with(':')) return {bad(url, "a port is required: HOST:PORT")};
    port = rest.substr(1);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return {bad(url, "a port is required: HOST:PORT")};
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    for (char c : host) {
      if (!valid_host_byte(c)) return {bad(url, "the host has an invalid character")};
    }
  }
  if (host.empty()) return {bad(url, "empty host")};
  if (!parse_number(port, address.port) || address.port == 0) {
    return {bad(url, "the port must be a number from 1 to 65535")};
  }
  address.host = std::string(host);
  return {Status::ok(), std::move(address)};
}

Status add_redis_url(RedisConfig& config, std::string_view url) {
  Result<RedisAddress> parsed = parse_redis_url(url);
  if (!parsed.status.is_ok()) return parsed.status;
  for (const RedisAddress& known : config.servers) {
    if (known.host == parsed.value.host && known.port == parsed.value.port &&
        known.db == parsed.value.db) {
      return bad(url, "the same server and database is given twice");
    }
  }
  config.servers.push_back(std::move(parsed.value));
  return Status::ok();
}

Status read_redis_password(RedisConfig& config, const std::string& path) {
  std::ifstream file(path);
  if (!file) return Status::io_error("--redis-password-file " + path + ": cannot be read");
  std::string line;
  std::getline(file, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return Status::invalid_argument("--redis-password-file " + path + ": the first line is empty");
  }
  config.password = std::move(line);
  return Status::ok();
}

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

uint32_t shard_of(std::string_view topic, uint32_t shard_count) {
  return static_cast<uint32_t>(fnv1a64(topic) % shard_count);
}

}  // namespace herald::broker::cluster
