// Building the access policy from the flags, swapping its keys on a reload, and pulling tokens
// out of requests.
#include "broker/auth/access_policy.h"

#include <ctime>
#include <utility>

namespace herald::broker::auth {

namespace {

common::Result<std::unique_ptr<const AccessPolicy>> refuse(common::Status status) {
  return {std::move(status), nullptr};
}

// The key and Origin list of `settings`, checked together. Fails with one line.
common::Result<std::shared_ptr<const AccessPolicy::Keys>> make_keys(
    const AccessSettings& settings) {
  auto keys = std::make_shared<AccessPolicy::Keys>();
  if (common::Status parsed = keys->origins.parse(settings.allowed_origins); !parsed.is_ok()) {
    return {std::move(parsed), nullptr};
  }
  keys->origins.set_allow_missing(settings.allow_missing_origin);
  const bool has_secret = !settings.jwt_secret_file.empty();
  const bool has_key = !settings.jwt_public_key.empty();
  if (!settings.auth_required) {
    if (has_secret || has_key) {
      return {common::Status::invalid_argument(
                  "a JWT key was given but --auth is off; add --auth required"),
              nullptr};
    }
    return {common::Status::ok(), std::move(keys)};
  }
  if (has_secret == has_key) {
    return {common::Status::invalid_argument(
                "--auth required needs exactly one of --jwt-secret-file (HS256) and "
                "--jwt-public-key (RS256/ES256)"),
            nullptr};
  }
  common::Result<std::unique_ptr<Verifier>> verifier =
      has_secret ? Verifier::from_secret_file(settings.jwt_secret_file)
                 : Verifier::from_public_key_file(settings.jwt_public_key);
  if (!verifier.status.is_ok()) {
    const std::string flag = has_secret ? "--jwt-secret-file: " : "--jwt-public-key: ";
    // Keep the code: an unreadable file is io_error, a bad key invalid_argument.
    return {verifier.status.code() == common::Status::Code::kIoError
                ? common::Status::io_error(flag + verifier.status.message())
                : common::Status::invalid_argument(flag + verifier.status.message()),
            nullptr};
  }
  keys->verifier = std::move(verifier.value);
  return {common::Status::ok(), std::move(keys)};
}

}  // namespace

common::Result<std::unique_ptr<const AccessPolicy>> AccessPolicy::build(
    const AccessSettings& settings) {
  std::unique_ptr<AccessPolicy> policy(new AccessPolicy());
  common::Result<std::shared_ptr<const Keys>> keys = make_keys(settings);
  if (!keys.status.is_ok()) return refuse(std::move(keys.status));
  policy->keys_ = std::move(keys.value);
  policy->auth_required_ = settings.auth_required;
  common::Result<std::vector<IpRange>> proxies = parse_ranges(settings.trusted_proxies);
  if (!proxies.status.is_ok()) {
    return refuse(
        common::Status::invalid_argument("--trusted-proxies: " + proxies.status.message()));
  }
  policy->trusted_proxies_ = std::move(proxies.value);
  constexpr uint64_t kAddressesTrackedMin = 65536;
  const uint64_t tracked =
      settings.addresses_tracked_max != 0 ? settings.addresses_tracked_max : kAddressesTrackedMin;
  policy->ip_limiter_ = std::make_unique<IpLimiter>(settings.connections_per_ip_max,
                                                    settings.new_connections_per_ip_per_s, tracked);
  return {common::Status::ok(), std::move(policy)};
}

common::Status AccessPolicy::reload(const AccessSettings& settings) const {
  AccessSettings same_mode = settings;
  same_mode.auth_required = auth_required_;
  common::Result<std::shared_ptr<const Keys>> keys = make_keys(same_mode);
  if (!keys.status.is_ok()) return std::move(keys.status);
  std::lock_guard lock(keys_mutex_);
  keys_ = std::move(keys.value);
  return common::Status::ok();
}

std::shared_ptr<const AccessPolicy::Keys> AccessPolicy::keys() const {
  std::lock_guard lock(keys_mutex_);
  return keys_;
}

VerifyResult AccessPolicy::verify(std::string_view token) const {
  std::shared_ptr<const Keys> keys = this->keys();
  if (!keys->verifier) return VerifyResult{TokenError::kMalformed, {}};
  return keys->verifier->verify(token, unix_now_s());
}

std::string AccessPolicy::describe() const {
  std::shared_ptr<const Keys> keys = this->keys();
  std::string text;
  if (!keys->verifier) {
    text =
        "auth off: every connection may subscribe and publish to any topic "
        "(use --auth required with a JWT key in production)";
  } else {
    constexpr std::string_view kNames[] = {"HS256", "RS256", "ES256"};
    text = "auth required (" +
           std::string(kNames[static_cast<size_t>(keys->verifier->algorithm())]) + " tokens)";
  }
  text += keys->origins.allow_any() ? "; any Origin accepted" : "; Origin allow-list in force";
  if (!trusted_proxies_.empty()) {
    text += "; client addresses from PROXY v2 or X-Forwarded-For of " +
            std::to_string(trusted_proxies_.size()) + " trusted proxy range(s)";
  }
  return text;
}

int64_t unix_now_s() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return now.tv_sec;
}

std::string_view bearer_token(std::string_view authorization) {
  // The scheme is case-insensitive (RFC 7235 §2.1).
  if (authorization.size() < 7) return {};
  std::string_view scheme = authorization.substr(0, 7);
  constexpr std::string_view kBearer = "bearer ";
  for (size_t i = 0; i < kBearer.size(); ++i) {
    char c = scheme[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kBearer[i]) return {};
  }
  std::string_view token = authorization.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
}

std::string_view query_token(std::string_view query) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.starts_with("token=")) return pair.substr(6);
  }
  return {};
}

}  // namespace herald::broker::auth
