// JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515), verified with OpenSSL: HS256
// with a shared secret, RS256 or ES256 with a public key. Parses untrusted input only; keeps
// no state between calls and does no I/O besides reading key files in the factories.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/status.h"

namespace herald::broker::auth {

// Tokens longer than this are refused before any parsing (a header or query string could
// otherwise carry megabytes into base64 and JSON decoding).
inline constexpr size_t kTokenBytesMax = 8192;
// Patterns per permission list, so a token cannot make every check walk a huge list.
inline constexpr size_t kPatternsMax = 256;
// exp and nbf are checked with this much leeway for clock skew (PROTOCOL.md section 10).
inline constexpr int64_t kLeewaySeconds = 30;

enum class TokenError : uint8_t {
  kNone,
  kMalformed,       // not three base64url parts, bad JSON, wrong claim types, too long
  kUnsupportedAlg,  // alg is not the one the configured key is for ("none" included)
  kBadSignature,    // the signature does not verify
  kExpired,         // exp + leeway is in the past
  kNotYetValid,     // nbf - leeway is in the future
};

// "malformed", "bad signature", ... for error texts and logs.
[[nodiscard]] std::string_view token_error_text(TokenError error);

struct Claims {
  std::string subject;                 // "sub", may be empty
  int64_t expires_s = 0;               // "exp"; 0 when absent (the token never expires)
  std::vector<std::string> sub_allow;  // valid filters (check_filter)
  std::vector<std::string> pub_allow;  // valid filters
  // The holder presented the operator's admin token (--admin-token-file), not a JWT: it may
  // read the reserved "$sys" topics (PROTOCOL.md section 11) and nothing else when auth is on.
  bool admin = false;
};

struct VerifyResult {
  TokenError error = TokenError::kNone;
  Claims claims;  // valid when error == kNone
};

// An immutable verifier for one key. Thread-safe: verify() may run on every worker at once
// (each call builds its own OpenSSL contexts; the key itself is only read).
class Verifier {
 public:
  enum class Algorithm : uint8_t { kHs256, kRs256, kEs256 };

  // HS256 with `secret` (RFC 7518 §3.2 asks for at least 32 bytes; fewer is refused).
  // Each factory fails with invalid_argument (a bad key) or io_error (an unreadable file).
  [[nodiscard]] static common::Result<std::unique_ptr<Verifier>> from_secret(
      std::string_view secret);
  // RS256 (RSA key) or ES256 (P-256 key) from a PEM public key.
  [[nodiscard]] static common::Result<std::unique_ptr<Verifier>> from_public_key_pem(
      std::string_view pem);
  // Reads the file and calls the above; a trailing newline of a secret file is dropped.
  [[nodiscard]] static common::Result<std::unique_ptr<Verifier>> from_secret_file(
      const std::string& path);
  [[nodiscard]] static common::Result<std::unique_ptr<Verifier>> from_public_key_file(
      const std::string& path);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Verifies `token` at Unix time `now_s`. The header's alg must be this key's algorithm:
  // accepting any other would let an RS256 public key be used as an HS256 secret.
  [[nodiscard]] VerifyResult verify(std::string_view token, int64_t now_s) const;
  [[nodiscard]] Algorithm algorithm() const { return algorithm_; }

 private:
  struct Key;
  Verifier(Algorithm algorithm, std::unique_ptr<Key> key);
  [[nodiscard]] bool check_signature(std::string_view signed_part,
                                     const std::string& signature) const;

  Algorithm algorithm_;
  std::unique_ptr<Key> key_;
};

// base64url without padding (RFC 4648 §5, as JWS uses it). False on any other byte,
// on '=' padding and on an impossible length.
[[nodiscard]] bool base64url_decode(std::string_view in, std::string& out);

}  // namespace herald::broker::auth
