// Fuzzes the token verifier (broker/auth/jwt). Mode byte 0: the input is a token, verified
// as is (base64url, splitting, header, signature paths). Mode 1: the input is header and
// payload JSON split at the first 0x00, signed here with the verifier's secret, so the fuzzer
// reaches the claims parser behind the signature. Traps when an accepted token breaks the
// verifier's promises.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/auth/jwt.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::auth {
namespace {

constexpr std::string_view kSecret = "fuzzing-secret-of-at-least-32-bytes";
constexpr int64_t kNow = 1'800'000'000;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::string base64url(std::string_view in) {
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

std::string sign(std::string_view header, std::string_view payload) {
  std::string signed_part = base64url(header) + "." + base64url(payload);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int bytes = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac.data(),
       &bytes);
  return signed_part + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(mac.data()), bytes));
}

const Verifier& verifier() {
  static const std::unique_ptr<Verifier> instance = [] {
    std::string error;
    return Verifier::from_secret(kSecret, error);
  }();
  return *instance;
}

void check_result(const VerifyResult& result) {
  if (result.error != TokenError::kNone) {
    check(result.claims.sub_allow.empty() && result.claims.pub_allow.empty());
    return;
  }
  check(result.claims.expires_s >= kNow - kLeewaySeconds);
  for (const auto* list : {&result.claims.sub_allow, &result.claims.pub_allow}) {
    check(list->size() <= kPatternsMax);
    for (const std::string& pattern : *list) {
      check(protocol::pubsub::check_filter(pattern) == protocol::pubsub::TopicError::kNone);
    }
  }
}

}  // namespace
}  // namespace herald::broker::auth

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::broker::auth;
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    const VerifyResult result = verifier().verify(input, kNow);
    check_result(result);
    std::string decoded;
    if (base64url_decode(input, decoded)) check(base64url(decoded) == input);
    return 0;
  }
  const size_t split = input.find('\0');
  const std::string_view header =
      split == std::string_view::npos ? R"({"alg":"HS256"})" : input.substr(0, split);
  const std::string_view payload =
      split == std::string_view::npos ? input : input.substr(split + 1);
  const VerifyResult result = verifier().verify(sign(header, payload), kNow);
  check_result(result);
  return 0;
}
