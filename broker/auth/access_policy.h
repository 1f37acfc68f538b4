// Who may connect and what a connection may do: the auth mode, the token verifier and the
// Origin allow-list, built at start-up from the flags and shared by every worker. The key and
// the Origin list can be swapped at run time (SIGHUP) as one immutable snapshot; the auth
// mode, the address limits and the trusted proxies are fixed after build().
#pragma once

#include <memory>
#include <mutex>
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

  // The parts a reload may change: the verifier (the key file, read again) and the Origin
  // list. Immutable; a reader holds it for as long as it uses it.
  struct Keys {
    std::unique_ptr<Verifier> verifier;  // null when auth is off
    OriginPolicy origins;
  };
  // What origins() returns: the Origin list of one snapshot, alive as long as this object.
  class Origins {
   public:
    explicit Origins(std::shared_ptr<const Keys> keys) : keys_(std::move(keys)) {}
    [[nodiscard]] bool allows(std::string_view origin) const {
      return keys_->origins.allows(origin);
    }
    [[nodiscard]] bool allow_any() const { return keys_->origins.allow_any(); }

   private:
    std::shared_ptr<const Keys> keys_;
  };

  // Reads the key file again and parses the Origin settings of `settings`, and publishes them
  // to every worker at once; on failure nothing changes. Call from one thread at a time (the
  // signal thread); readers on any thread are safe. The auth mode, limits and proxies of
  // `settings` are ignored: they need a new AccessPolicy (a restart).
  [[nodiscard]] common::Status reload(const AccessSettings& settings) const;

  [[nodiscard]] bool auth_required() const { return auth_required_; }
  [[nodiscard]] Origins origins() const { return Origins(keys()); }
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
  [[nodiscard]] std::shared_ptr<const Keys> keys() const;

  bool auth_required_ = false;
  // Guarded by keys_mutex_: held only to copy or swap the pointer (a handshake or a token
  // check, never a message), so a reload never waits for a verification.
  mutable std::mutex keys_mutex_;
  mutable std::shared_ptr<const Keys> keys_;
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
