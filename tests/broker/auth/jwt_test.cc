// Token verification: good HS256, RS256 and ES256 tokens; expired, not-yet-valid, badly
// signed, wrongly typed and malformed ones; algorithm confusion; base64url edge cases.
#include "broker/auth/jwt.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/broker/auth/token_signer.h"

namespace herald::broker::auth {
namespace {

using testing::base64url;
using testing::hs256_token;
using testing::key_token;

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef";

std::string claims(int64_t exp, std::string extra = "") {
  return R"({"sub":"alice","exp":)" + std::to_string(exp) + extra +
         R"(,"sub_allow":["prices.>"],"pub_allow":["chat.*"]})";
}

std::unique_ptr<Verifier> hs_verifier() {
  auto built = Verifier::from_secret(kSecret);
  EXPECT_TRUE(built.status.is_ok()) << built.status.message();
  return std::move(built.value);
}

TEST(JwtTest, AcceptsAGoodHs256Token) {
  auto verifier = hs_verifier();
  VerifyResult result = verifier->verify(hs256_token(kSecret, claims(kNow + 60)), kNow);
  ASSERT_EQ(result.error, TokenError::kNone) << token_error_text(result.error);
  EXPECT_EQ(result.claims.subject, "alice");
  EXPECT_EQ(result.claims.expires_s, kNow + 60);
  ASSERT_EQ(result.claims.sub_allow.size(), 1u);
  EXPECT_EQ(result.claims.sub_allow[0], "prices.>");
  ASSERT_EQ(result.claims.pub_allow.size(), 1u);
  EXPECT_EQ(result.claims.pub_allow[0], "chat.*");
}

TEST(JwtTest, ExpiryAndNotBeforeWithLeeway) {
  auto verifier = hs_verifier();
  auto verify = [&](const std::string& payload) {
    return verifier->verify(hs256_token(kSecret, payload), kNow).error;
  };
  EXPECT_EQ(verify(claims(kNow - kLeewaySeconds)), TokenError::kNone);
  EXPECT_EQ(verify(claims(kNow - kLeewaySeconds - 1)), TokenError::kExpired);
  EXPECT_EQ(verify(claims(kNow - 100000)), TokenError::kExpired);
  EXPECT_EQ(verify(claims(kNow + 60, ",\"nbf\":" + std::to_string(kNow + kLeewaySeconds))),
            TokenError::kNone);
  EXPECT_EQ(verify(claims(kNow + 60, ",\"nbf\":" + std::to_string(kNow + kLeewaySeconds + 1))),
            TokenError::kNotYetValid);
  // NumericDate may carry a fraction (RFC 7519 §2).
  EXPECT_EQ(verify(claims(kNow + 60, ",\"nbf\":1.5")), TokenError::kNone);
  EXPECT_EQ(verify(R"({"exp":1e300})"), TokenError::kNone);
  EXPECT_EQ(verify(R"({"exp":-1e300})"), TokenError::kExpired);
}

TEST(JwtTest, RequiresExp) {
  auto verifier = hs_verifier();
  EXPECT_EQ(verifier->verify(hs256_token(kSecret, R"({"sub":"a"})"), kNow).error,
            TokenError::kMalformed);
}

TEST(JwtTest, RefusesBadSignatures) {
  auto verifier = hs_verifier();
  std::string token = hs256_token(kSecret, claims(kNow + 60));
  EXPECT_EQ(
      verifier->verify(hs256_token("another secret of thirty-two bytes!!", claims(kNow + 60)), kNow)
          .error,
      TokenError::kBadSignature);
  // One signature character changed; a truncated signature; an empty one.
  std::string flipped = token;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verifier->verify(flipped, kNow).error, TokenError::kBadSignature);
  EXPECT_EQ(verifier->verify(token.substr(0, token.size() - 4), kNow).error,
            TokenError::kBadSignature);
  EXPECT_EQ(verifier->verify(token.substr(0, token.rfind('.') + 1), kNow).error,
            TokenError::kBadSignature);
  // The payload changed after signing (permissions widened).
  std::string widened = token.substr(0, token.find('.') + 1) +
                        base64url(R"({"exp":1900000000,"sub_allow":[">"]})") +
                        token.substr(token.rfind('.'));
  EXPECT_EQ(verifier->verify(widened, kNow).error, TokenError::kBadSignature);
}

TEST(JwtTest, PinsTheAlgorithm) {
  auto verifier = hs_verifier();
  const std::string payload = claims(kNow + 60);
  EXPECT_EQ(verifier->verify(hs256_token(kSecret, payload, R"({"alg":"none"})"), kNow).error,
            TokenError::kUnsupportedAlg);
  std::string unsigned_token = base64url(R"({"alg":"none"})") + "." + base64url(payload) + ".";
  EXPECT_EQ(verifier->verify(unsigned_token, kNow).error, TokenError::kUnsupportedAlg);
  EXPECT_EQ(verifier->verify(hs256_token(kSecret, payload, R"({"alg":"HS512"})"), kNow).error,
            TokenError::kUnsupportedAlg);
  EXPECT_EQ(verifier->verify(hs256_token(kSecret, payload, R"({"typ":"JWT"})"), kNow).error,
            TokenError::kMalformed);
  EXPECT_EQ(verifier->verify(hs256_token(kSecret, payload, R"({"alg":"HS256","crit":["x"]})"), kNow)
                .error,
            TokenError::kMalformed);
}

TEST(JwtTest, RefusesMalformedTokens) {
  auto verifier = hs_verifier();
  const std::string good = hs256_token(kSecret, claims(kNow + 60));
  const std::string bad[] = {
      "",
      "abc",
      "a.b",
      good + ".x",
      "!!!." + good.substr(good.find('.') + 1),
      std::string(kTokenBytesMax + 1, 'a'),
      hs256_token(kSecret, "[1,2]"),
      hs256_token(kSecret, "not json"),
      hs256_token(kSecret, R"({"exp":"soon"})"),
      hs256_token(kSecret, R"({"exp":1900000000,"sub":7})"),
      hs256_token(kSecret, R"({"exp":1900000000,"sub_allow":"a"})"),
      hs256_token(kSecret, R"({"exp":1900000000,"sub_allow":[1]})"),
      hs256_token(kSecret, R"({"exp":1900000000,"pub_allow":["a..b"]})"),
      hs256_token(kSecret, R"({"exp":1900000000,"pub_allow":["a.>.b"]})"),
      hs256_token(kSecret, "{\"exp\":1900000000} trailing"),
  };
  for (const std::string& token : bad) {
    EXPECT_EQ(verifier->verify(token, kNow).error, TokenError::kMalformed) << token;
  }
  // The signature is checked before the payload is read: an empty payload with a wrong
  // signature is a bad signature.
  EXPECT_EQ(verifier->verify(good.substr(0, good.find('.')) + "..c2ln", kNow).error,
            TokenError::kBadSignature);
}

TEST(JwtTest, LimitsThePatternCount) {
  auto verifier = hs_verifier();
  auto with = [](size_t count) {
    std::string payload = R"({"exp":1900000000,"sub_allow":[)";
    for (size_t i = 0; i < count; ++i) payload += std::string(i ? "," : "") + "\"a\"";
    return payload + "]}";
  };
  EXPECT_EQ(verifier->verify(hs256_token(kSecret, with(kPatternsMax)), kNow).error,
            TokenError::kNone);
  EXPECT_EQ(verifier->verify(hs256_token(kSecret, with(kPatternsMax + 1)), kNow).error,
            TokenError::kMalformed);
}

TEST(JwtTest, RefusesShortSecrets) {
  auto built = Verifier::from_secret("short");
  EXPECT_EQ(built.status.code(), common::Status::Code::kInvalidArgument);
  EXPECT_EQ(built.value, nullptr);
  EXPECT_NE(built.status.message().find("32"), std::string::npos) << built.status.message();
}

TEST(JwtTest, Rs256) {
  testing::Key key = testing::make_rsa_key();
  ASSERT_TRUE(key);
  auto built = Verifier::from_public_key_pem(testing::public_pem(key.get()));
  ASSERT_TRUE(built.status.is_ok()) << built.status.message();
  const std::unique_ptr<Verifier> verifier = std::move(built.value);
  EXPECT_EQ(verifier->algorithm(), Verifier::Algorithm::kRs256);
  const std::string payload = claims(kNow + 60);
  EXPECT_EQ(verifier->verify(key_token(key.get(), "RS256", payload), kNow).error,
            TokenError::kNone);
  testing::Key other = testing::make_rsa_key();
  EXPECT_EQ(verifier->verify(key_token(other.get(), "RS256", payload), kNow).error,
            TokenError::kBadSignature);
  // Algorithm confusion: the public key's PEM used as an HS256 secret.
  EXPECT_EQ(verifier->verify(hs256_token(testing::public_pem(key.get()), payload), kNow).error,
            TokenError::kUnsupportedAlg);
}

TEST(JwtTest, Es256) {
  testing::Key key = testing::make_ec_key();
  ASSERT_TRUE(key);
  auto built = Verifier::from_public_key_pem(testing::public_pem(key.get()));
  ASSERT_TRUE(built.status.is_ok()) << built.status.message();
  const std::unique_ptr<Verifier> verifier = std::move(built.value);
  EXPECT_EQ(verifier->algorithm(), Verifier::Algorithm::kEs256);
  const std::string payload = claims(kNow + 60);
  const std::string token = key_token(key.get(), "ES256", payload);
  EXPECT_EQ(verifier->verify(token, kNow).error, TokenError::kNone);
  testing::Key other = testing::make_ec_key();
  EXPECT_EQ(verifier->verify(key_token(other.get(), "ES256", payload), kNow).error,
            TokenError::kBadSignature);
  // A DER signature where JWS wants raw r || s.
  std::string signed_part = token.substr(0, token.rfind('.'));
  EXPECT_EQ(verifier->verify(signed_part + "." + base64url(std::string(72, '\x30')), kNow).error,
            TokenError::kBadSignature);
  EXPECT_EQ(verifier->verify(key_token(key.get(), "RS256", payload), kNow).error,
            TokenError::kUnsupportedAlg);
}

TEST(JwtTest, RefusesUnsuitableKeys) {
  // The message of a key that must be refused.
  auto refused = [](std::string_view pem) {
    auto built = Verifier::from_public_key_pem(pem);
    EXPECT_EQ(built.status.code(), common::Status::Code::kInvalidArgument);
    EXPECT_EQ(built.value, nullptr);
    return built.status.message();
  };
  EXPECT_FALSE(refused("not a key").empty());
  testing::Key p384 = testing::make_ec_key("P-384");
  ASSERT_TRUE(p384);
  std::string error = refused(testing::public_pem(p384.get()));
  EXPECT_NE(error.find("P-256"), std::string::npos) << error;
  testing::Key small = testing::make_rsa_key(1024);
  ASSERT_TRUE(small);
  error = refused(testing::public_pem(small.get()));
  EXPECT_NE(error.find("2048"), std::string::npos) << error;
}

TEST(Base64UrlTest, DecodesAndRefuses) {
  std::string out;
  EXPECT_TRUE(base64url_decode("", out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(base64url_decode("aGk", out));
  EXPECT_EQ(out, "hi");
  EXPECT_TRUE(base64url_decode("-_8", out));
  EXPECT_EQ(out, "\xfb\xff");
  EXPECT_FALSE(base64url_decode("aGk=", out));   // padding
  EXPECT_FALSE(base64url_decode("a+/b", out));   // base64, not base64url
  EXPECT_FALSE(base64url_decode("aGkxa", out));  // length 1 mod 4
  EXPECT_FALSE(base64url_decode("aGl", out));    // non-zero leftover bits
  for (const std::string& text :
       std::vector<std::string>{"a", "ab", "abc", std::string(100, '\xff')}) {
    EXPECT_TRUE(base64url_decode(base64url(text), out));
    EXPECT_EQ(out, text);
  }
}

}  // namespace
}  // namespace herald::broker::auth
