// The Origin allow-list: exact origins, subdomain patterns, scheme, case, missing Origin.
#include "broker/auth/origin_policy.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::broker::auth {
namespace {

TEST(OriginPolicyTest, AnyOriginByDefault) {
  OriginPolicy policy;
  EXPECT_TRUE(policy.allows("https://evil.example"));
  EXPECT_TRUE(policy.allows(""));
  ASSERT_TRUE(policy.parse("*").is_ok());
  EXPECT_TRUE(policy.allows("null"));
}

TEST(OriginPolicyTest, ExactAndPatterns) {
  OriginPolicy policy;
  const common::Status parsed = policy.parse(
      "https://app.example.com, http://localhost:3000,*.trusted.org,"
      "https://*.example.net");
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  EXPECT_TRUE(policy.allows("https://app.example.com"));
  EXPECT_TRUE(policy.allows("HTTPS://App.Example.COM"));
  EXPECT_FALSE(policy.allows("http://app.example.com"));
  EXPECT_FALSE(policy.allows("https://app.example.com:8443"));
  EXPECT_FALSE(policy.allows("https://app.example.com.evil.io"));
  EXPECT_TRUE(policy.allows("http://localhost:3000"));
  EXPECT_FALSE(policy.allows("http://localhost:3001"));
  EXPECT_TRUE(policy.allows("https://a.trusted.org"));
  EXPECT_TRUE(policy.allows("http://a.b.trusted.org:8080"));
  EXPECT_FALSE(policy.allows("https://trusted.org"));
  EXPECT_FALSE(policy.allows("https://eviltrusted.org"));
  EXPECT_TRUE(policy.allows("https://x.example.net"));
  EXPECT_FALSE(policy.allows("http://x.example.net"));
  EXPECT_FALSE(policy.allows("null"));
  EXPECT_FALSE(policy.allows("app.example.com"));
}

TEST(OriginPolicyTest, MissingOriginIsAFlag) {
  OriginPolicy policy;
  ASSERT_TRUE(policy.parse("https://a.com").is_ok());
  EXPECT_TRUE(policy.allows(""));
  policy.set_allow_missing(false);
  EXPECT_FALSE(policy.allows(""));
  EXPECT_TRUE(policy.allows("https://a.com"));
}

TEST(OriginPolicyTest, RefusesBadLists) {
  OriginPolicy policy;
  for (const char* list : {"", ",", "app.example.com", "://x", "https://", "*.", "https://a b"}) {
    const common::Status parsed = policy.parse(list);
    EXPECT_EQ(parsed.code(), common::Status::Code::kInvalidArgument) << list;
    EXPECT_FALSE(parsed.message().empty()) << list;
  }
}

}  // namespace
}  // namespace herald::broker::auth
