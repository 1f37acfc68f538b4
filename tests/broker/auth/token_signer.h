// Test-only token minting: base64url, HS256 with OpenSSL HMAC, RS256/ES256 with a key pair
// generated in the test. Independent of broker/auth's verifier code, so the two check each
// other.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace herald::broker::auth::testing {

inline std::string base64url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : in) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += kAlphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += kAlphabet[(bits << (6 - count)) & 63];
  return out;
}

inline std::string hs256(std::string_view secret, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int bytes = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &bytes);
  return std::string(reinterpret_cast<const char*>(mac.data()), bytes);
}

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

inline Key make_rsa_key(unsigned bits = 2048) {
  return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}
inline Key make_ec_key(const char* curve = "P-256") {
  return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

inline std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

// RS256 or ES256 (raw r || s, RFC 7518 §3.4) over `data`.
inline std::string sign(EVP_PKEY* key, std::string_view data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  size_t size = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  EVP_DigestSign(ctx, nullptr, &size, bytes, data.size());
  std::string sig(size, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &size, bytes, data.size());
  EVP_MD_CTX_free(ctx);
  sig.resize(size);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return sig;
  const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data() + 32), 32);
  ECDSA_SIG_free(ecdsa);
  return raw;
}

// header.payload.signature with the given JSON texts.
inline std::string hs256_token(std::string_view secret, std::string_view payload_json,
                               std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})") {
  std::string signed_part = base64url(header_json) + "." + base64url(payload_json);
  return signed_part + "." + base64url(hs256(secret, signed_part));
}

inline std::string key_token(EVP_PKEY* key, std::string_view alg, std::string_view payload_json) {
  std::string header = R"({"alg":")" + std::string(alg) + R"(","typ":"JWT"})";
  std::string signed_part = base64url(header) + "." + base64url(payload_json);
  return signed_part + "." + base64url(sign(key, signed_part));
}

}  // namespace herald::broker::auth::testing
