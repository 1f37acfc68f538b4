// JWS compact parsing and verification. Order matters: the signature is checked before any
// claim is trusted, and the header's alg is pinned to the configured key (RFC 8725 §2.1,
// §3.1: no "none", no algorithm confusion). OpenSSL status is converted here, at the edge.
#include "broker/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include "protocol/pubsub/topic.h"

namespace herald::broker::auth {

namespace {

constexpr size_t kSecretBytesMin = 32;
constexpr size_t kEs256SignatureBytes = 64;
constexpr int kRsaBitsMin = 2048;

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

common::Result<std::string> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return {common::Status::io_error("cannot read " + path), {}};
  std::ostringstream text;
  text << file.rdbuf();
  return {common::Status::ok(), text.str()};
}

common::Result<std::unique_ptr<Verifier>> refuse(std::string message) {
  return {common::Status::invalid_argument(std::move(message)), nullptr};
}

// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly with a fraction.
bool read_seconds(simdjson::dom::element element, int64_t& out) {
  int64_t integer = 0;
  if (element.get_int64().get(integer) == simdjson::SUCCESS) {
    out = integer;
    return true;
  }
  double real = 0;
  if (element.get_double().get(real) != simdjson::SUCCESS || !std::isfinite(real)) return false;
  // Beyond +-2^62 s every comparison with "now" has the same answer; clamp before converting.
  constexpr double kLimit = 4.6e18;
  out = static_cast<int64_t>(std::floor(std::fmax(-kLimit, std::fmin(kLimit, real))));
  return true;
}

bool read_patterns(simdjson::dom::element element, std::vector<std::string>& out) {
  simdjson::dom::array array;
  if (element.get_array().get(array) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element item : array) {
    std::string_view pattern;
    if (item.get_string().get(pattern) != simdjson::SUCCESS) return false;
    if (out.size() == kPatternsMax) return false;
    if (protocol::pubsub::check_filter(pattern) != protocol::pubsub::TopicError::kNone) {
      return false;
    }
    out.emplace_back(pattern);
  }
  return true;
}

bool parse_object(simdjson::dom::parser& parser, const std::string& json,
                  simdjson::dom::object& out) {
  return parser.parse(json).get_object().get(out) == simdjson::SUCCESS;
}

std::string_view alg_name(Verifier::Algorithm algorithm) {
  switch (algorithm) {
    case Verifier::Algorithm::kHs256:
      return "HS256";
    case Verifier::Algorithm::kRs256:
      return "RS256";
    case Verifier::Algorithm::kEs256:
      return "ES256";
  }
  return "";
}

// Claims from the payload object. Unknown claims are ignored (RFC 7519 §4).
TokenError read_claims(simdjson::dom::object payload, int64_t now_s, Claims& claims) {
  bool has_exp = false;
  int64_t not_before_s = 0;
  bool has_nbf = false;
  for (simdjson::dom::key_value_pair field : payload) {
    bool ok = true;
    if (field.key == "sub") {
      std::string_view subject;
      ok = field.value.get_string().get(subject) == simdjson::SUCCESS;
      claims.subject = subject;
    } else if (field.key == "exp") {
      ok = read_seconds(field.value, claims.expires_s);
      has_exp = true;
    } else if (field.key == "nbf") {
      ok = read_seconds(field.value, not_before_s);
      has_nbf = true;
    } else if (field.key == "sub_allow") {
      ok = read_patterns(field.value, claims.sub_allow);
    } else if (field.key == "pub_allow") {
      ok = read_patterns(field.value, claims.pub_allow);
    }
    if (!ok) return TokenError::kMalformed;
  }
  // exp is required: a token that never expires cannot be taken back once it leaks.
  if (!has_exp) return TokenError::kMalformed;
  if (claims.expires_s < now_s - kLeewaySeconds) return TokenError::kExpired;
  if (has_nbf && not_before_s > now_s + kLeewaySeconds) return TokenError::kNotYetValid;
  return TokenError::kNone;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 §3.4); OpenSSL wants DER.
bool es256_to_der(const std::string& raw, std::string& der) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (sig == nullptr) return false;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* out = nullptr;
  int length = i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  if (length <= 0) return false;
  der.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(length));
  OPENSSL_free(out);
  return true;
}

}  // namespace

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

struct Verifier::Key {
  std::string secret;  // HS256
  // HS256: a context keyed once at start-up; each check works on a copy of it. The one-shot
  // HMAC() fetches the algorithm and keys a context on every call, most of the check's cost.
  std::unique_ptr<EVP_MAC, MacDeleter> mac;
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> keyed;
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey;  // RS256, ES256
};

Verifier::Verifier(Algorithm algorithm, std::unique_ptr<Key> key)
    : algorithm_(algorithm), key_(std::move(key)) {}
Verifier::~Verifier() = default;

common::Result<std::unique_ptr<Verifier>> Verifier::from_secret(std::string_view secret) {
  if (secret.size() < kSecretBytesMin) {
    return refuse("the HS256 secret has " + std::to_string(secret.size()) +
                  " bytes; at least 32 are needed (RFC 7518 3.2)");
  }
  auto key = std::make_unique<Key>();
  key->secret = std::string(secret);
  key->mac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (key->mac) key->keyed.reset(EVP_MAC_CTX_new(key->mac.get()));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!key->keyed ||
      EVP_MAC_init(key->keyed.get(), reinterpret_cast<const unsigned char*>(key->secret.data()),
                   key->secret.size(), params) != 1) {
    return refuse("OpenSSL has no HMAC-SHA256");
  }
  return {common::Status::ok(),
          std::unique_ptr<Verifier>(new Verifier(Algorithm::kHs256, std::move(key)))};
}

common::Result<std::unique_ptr<Verifier>> Verifier::from_public_key_pem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) {
    return refuse("out of memory");
  }
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey(PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!pkey) {
    return refuse("not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
  }
  Algorithm algorithm = Algorithm::kRs256;
  if (EVP_PKEY_get_base_id(pkey.get()) == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(pkey.get()) < kRsaBitsMin) {
      return refuse("the RSA key has fewer than 2048 bits");
    }
  } else if (EVP_PKEY_get_base_id(pkey.get()) == EVP_PKEY_EC) {
    std::array<char, 64> group{};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(pkey.get(), group.data(), group.size(), &length) != 1 ||
        std::string_view(group.data(), length) != "prime256v1") {
      return refuse("the EC key is not on P-256 (ES256 needs prime256v1)");
    }
    algorithm = Algorithm::kEs256;
  } else {
    return refuse("the public key is neither RSA (RS256) nor EC P-256 (ES256)");
  }
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return {common::Status::ok(), std::unique_ptr<Verifier>(new Verifier(algorithm, std::move(key)))};
}

common::Result<std::unique_ptr<Verifier>> Verifier::from_secret_file(const std::string& path) {
  common::Result<std::string> read = read_file(path);
  if (!read.status.is_ok()) return {std::move(read.status), nullptr};
  std::string& secret = read.value;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  return from_secret(secret);
}

common::Result<std::unique_ptr<Verifier>> Verifier::from_public_key_file(const std::string& path) {
  common::Result<std::string> read = read_file(path);
  if (!read.status.is_ok()) return {std::move(read.status), nullptr};
  return from_public_key_pem(read.value);
}

bool Verifier::check_signature(std::string_view signed_part, const std::string& signature) const {
  const auto* data = reinterpret_cast<const unsigned char*>(signed_part.data());
  if (algorithm_ == Algorithm::kHs256) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    size_t mac_bytes = 0;
    // The keyed context is only read by the copy: verify() stays safe on every thread.
    std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_dup(key_->keyed.get()));
    if (!ctx || EVP_MAC_update(ctx.get(), data, signed_part.size()) != 1 ||
        EVP_MAC_final(ctx.get(), mac.data(), &mac_bytes, mac.size()) != 1) {
      return false;
    }
    // Constant time: a comparison that stops early leaks how many bytes were right.
    return signature.size() == mac_bytes &&
           CRYPTO_memcmp(signature.data(), mac.data(), mac_bytes) == 0;
  }
  std::string der;
  const std::string* sig = &signature;
  if (algorithm_ == Algorithm::kEs256) {
    if (signature.size() != kEs256SignatureBytes || !es256_to_der(signature, der)) return false;
    sig = &der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()),
                          sig->size(), data, signed_part.size()) == 1;
}

VerifyResult Verifier::verify(std::string_view token, int64_t now_s) const {
  VerifyResult result;
  result.error = TokenError::kMalformed;
  if (token.empty() || token.size() > kTokenBytesMax) return result;
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return result;
  }
  std::string header_json;
  std::string payload_json;
  std::string signature;
  if (!base64url_decode(token.substr(0, dot1), header_json) ||
      !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_json) ||
      !base64url_decode(token.substr(dot2 + 1), signature)) {
    return result;
  }
  // One parser per thread: a fresh one allocates its buffers on every call, which was half
  // the cost of an HS256 check. Thread-local keeps verify() safe on every worker at once.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object header;
  if (!parse_object(parser, header_json, header)) return result;
  std::string_view alg;
  if (header["alg"].get_string().get(alg) != simdjson::SUCCESS) return result;
  // RFC 7515 §4.1.11: a critical extension we do not implement must be refused.
  if (header["crit"].error() != simdjson::NO_SUCH_FIELD) return result;
  if (alg != alg_name(algorithm_)) {
    result.error = TokenError::kUnsupportedAlg;
    return result;
  }
  if (!check_signature(token.substr(0, dot2), signature)) {
    result.error = TokenError::kBadSignature;
    return result;
  }
  simdjson::dom::object payload;
  if (!parse_object(parser, payload_json, payload)) return result;
  result.error = read_claims(payload, now_s, result.claims);
  if (result.error != TokenError::kNone) result.claims = Claims();
  return result;
}

std::string_view token_error_text(TokenError error) {
  switch (error) {
    case TokenError::kNone:
      return "valid";
    case TokenError::kMalformed:
      return "malformed token";
    case TokenError::kUnsupportedAlg:
      return "token signed with an algorithm this server does not accept";
    case TokenError::kBadSignature:
      return "bad token signature";
    case TokenError::kExpired:
      return "token expired";
    case TokenError::kNotYetValid:
      return "token not yet valid";
  }
  return "malformed token";
}

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 == 1) return false;  // 6 bits cannot end a byte
  out.reserve(in.size() * 3 / 4);
  uint32_t bits = 0;
  int bit_count = 0;
  for (char c : in) {
    int value = base64url_value(c);
    if (value < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xff));
    }
  }
  // The leftover bits must be zero (RFC 4648 §3.5): one token, one encoding.
  return (bits & ((1u << bit_count) - 1)) == 0;
}

}  // namespace herald::broker::auth
