// Fuzzes the token verifier (broker/auth/jwt). Mode byte 0: the input is a token, verified
// as is (base64url, splitting, header, signature paths). Mode 1: the input is header and
// payload JSON split at the first 0x00, signed here with the verifier's secret, so the fuzzer
// reaches the claims parser behind the signature. Traps when an accepted token breaks the
// verifier's promises.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/auth/jwt.h"
#include "protocol/pubsub/topic.h"
#include "tests/broker/auth/token_signer.h"

namespace herald::broker::auth {
namespace {

constexpr std::string_view kSecret = "fuzzing-secret-of-at-least-32-bytes";
constexpr int64_t kNow = 1'800'000'000;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// Signed with the tests' own minting code (token_signer.h), not the verifier's.
std::string sign(std::string_view header, std::string_view payload) {
  std::string signed_part = testing::base64url(header) + "." + testing::base64url(payload);
  return signed_part + "." + testing::base64url(testing::hs256(kSecret, signed_part));
}

const Verifier& verifier() {
  static const std::unique_ptr<Verifier> instance = Verifier::from_secret(kSecret).value;
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
    if (base64url_decode(input, decoded)) check(testing::base64url(decoded) == input);
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
