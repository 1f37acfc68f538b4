// Who may connect and what a connection may do: the auth mode, the token verifier and the
// Origin allow-list, built once at start-up from the flags and shared read-only by every
// worker (thread-safe: nothing in it changes after build()).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/auth/ip_address.h"
#include "broker/auth/ip_limiter.h"
#include "broker/auth/jwt.h"
#include "broker/auth/origin_policy.h"

namespace herald::broker::auth {

struct AccessSettings {
  bool auth_required = false;
  std::string jwt_secret_file;  // HS256
  std::string jwt_public_key;   // RS256 or ES256, PEM
  std::string allowed_origins = "*";
  bool allow_missing_origin = true;
  // Per client address (0: off). Behind NAT or a carrier-grade NAT thousands of real users
  // share one address, so no fixed number is safe for everyone: they are opt-in.
  uint64_t connections_per_ip_max = 0;
  uint64_t new_connections_per_ip_per_s = 0;
  std::string trusted_proxies;         // CIDR list: PROXY v2 and X-Forwarded-For from these only
  uint64_t addresses_tracked_max = 0;  // 0: 65536 plus --max-connections
};

class AccessPolicy {
 public:
  // Reads the key file, parses the origin list. Fails with one line (the likely cause and
  // fix) when the settings cannot work together.
  [[nodiscard]] static common::Result<std::unique_ptr<const AccessPolicy>> build(
      const AccessSettings& settings);

  [[nodiscard]] bool auth_required() const { return verifier_ != nullptr; }
  [[nodiscard]] const OriginPolicy& origins() const { return origins_; }
  // Shared by every worker; thread-safe. Not a const member: it counts connections.
  [[nodiscard]] IpLimiter& ip_limiter() const { return *ip_limiter_; }
  [[nodiscard]] std::span<const IpRange> trusted_proxies() const { return trusted_proxies_; }
  // Whether workers must learn each connection's address (a limit or trusted proxies).
  [[nodiscard]] bool needs_peer_address() const {
    return ip_limiter_->enabled() || !trusted_proxies_.empty();
  }
  // Verifies at the current wall-clock time. kMalformed when auth is off (no key).
  [[nodiscard]] VerifyResult verify(std::string_view token) const;
  // For the start-up log: "auth off ..." or "auth required (HS256) ...".
  [[nodiscard]] std::string describe() const;

 private:
  AccessPolicy() = default;
  std::unique_ptr<Verifier> verifier_;
  OriginPolicy origins_;
  std::unique_ptr<IpLimiter> ip_limiter_;
  std::vector<IpRange> trusted_proxies_;
};

// The current Unix time in seconds (CLOCK_REALTIME: exp and nbf are wall-clock times).
[[nodiscard]] int64_t unix_now_s();

// The token of "Authorization: Bearer <token>" (RFC 6750 §2.1), or empty.
[[nodiscard]] std::string_view bearer_token(std::string_view authorization);
// The raw value of the first `token=` parameter of a query string (base64url needs no
// percent-decoding), or empty.
[[nodiscard]] std::string_view query_token(std::string_view query);

}  // namespace herald::broker::auth
