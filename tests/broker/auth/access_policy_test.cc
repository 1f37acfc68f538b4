// The access flags and the policy built from them: defaults, values, one-line errors for
// settings that cannot work, and pulling tokens out of requests.
#include "broker/auth/access_policy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "broker/net/config.h"
#include "tests/broker/auth/token_signer.h"

namespace herald::broker::auth {
namespace {

net::FlagsResult parse(std::vector<const char*> args) { return net::parse_flags(args); }

TEST(AccessFlagsTest, DefaultsAreOffAndOpen) {
  net::FlagsResult result = parse({});
  ASSERT_EQ(result.status, net::FlagsResult::Status::kRun);
  const AccessSettings& access = result.config.access_settings;
  EXPECT_FALSE(access.auth_required);
  EXPECT_EQ(access.allowed_origins, "*");
  EXPECT_TRUE(access.allow_missing_origin);
  EXPECT_EQ(access.connections_per_ip_max, 0u);
  EXPECT_EQ(access.new_connections_per_ip_per_s, 0u);
  EXPECT_EQ(result.config.max_publish_rate, 0u);
  auto built = AccessPolicy::build(access);
  ASSERT_TRUE(built.status.is_ok()) << built.status.message();
  const AccessPolicy* policy = built.value.get();
  EXPECT_FALSE(policy->auth_required());
  EXPECT_NE(policy->describe().find("auth off"), std::string::npos);
  EXPECT_FALSE(policy->needs_peer_address());
}

TEST(AccessFlagsTest, EveryFlag) {
  net::FlagsResult result =
      parse({"--auth", "required", "--jwt-secret-file=/s", "--allowed-origins", "https://a.com",
             "--allow-missing-origin", "false", "--max-publish-rate", "5", "--max-publish-burst",
             "9", "--max-connections-per-ip=3", "--max-new-connections-per-ip-per-s", "4",
             "--trusted-proxies", "10.0.0.0/8"});
  ASSERT_EQ(result.status, net::FlagsResult::Status::kRun) << result.error;
  const AccessSettings& access = result.config.access_settings;
  EXPECT_TRUE(access.auth_required);
  EXPECT_EQ(access.jwt_secret_file, "/s");
  EXPECT_EQ(access.allowed_origins, "https://a.com");
  EXPECT_FALSE(access.allow_missing_origin);
  EXPECT_EQ(result.config.max_publish_rate, 5u);
  EXPECT_EQ(result.config.max_publish_burst, 9u);
  EXPECT_EQ(access.connections_per_ip_max, 3u);
  EXPECT_EQ(access.new_connections_per_ip_per_s, 4u);
  EXPECT_EQ(access.trusted_proxies, "10.0.0.0/8");
  EXPECT_EQ(parse({"--jwt-public-key", "k.pem"}).config.access_settings.jwt_public_key, "k.pem");
}

TEST(AccessFlagsTest, BadValues) {
  EXPECT_EQ(parse({"--auth", "maybe"}).status, net::FlagsResult::Status::kError);
  EXPECT_EQ(parse({"--allow-missing-origin", "yes"}).status, net::FlagsResult::Status::kError);
  EXPECT_EQ(parse({"--max-publish-rate", "-1"}).status, net::FlagsResult::Status::kError);
  const std::string usage = net::usage_text();
  for (const char* flag :
       {"--auth", "--jwt-secret-file FILE", "--jwt-public-key FILE", "--allowed-origins LIST",
        "--allow-missing-origin", "--max-publish-rate N", "--max-connections-per-ip N",
        "--max-new-connections-per-ip-per-s N", "--trusted-proxies CIDRS"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

class AccessPolicyTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content) {
    std::string path = ::testing::TempDir() + "/access_policy_test_" + name;
    std::ofstream(path, std::ios::binary) << content;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& path : paths_) std::remove(path.c_str());
  }
  std::vector<std::string> paths_;
};

// The message of a build that must fail (empty, and a test failure, when it succeeds).
std::string build_error(const AccessSettings& settings) {
  auto built = AccessPolicy::build(settings);
  EXPECT_FALSE(built.status.is_ok());
  EXPECT_EQ(built.value, nullptr);
  return built.status.message();
}

TEST_F(AccessPolicyTest, BuildErrors) {
  AccessSettings settings;
  settings.auth_required = true;
  std::string error = build_error(settings);
  EXPECT_NE(error.find("exactly one"), std::string::npos) << error;
  settings.jwt_secret_file = write("short", "short\n");
  error = build_error(settings);
  EXPECT_NE(error.find("32"), std::string::npos) << error;
  settings.jwt_secret_file = "/nonexistent/secret";
  error = build_error(settings);
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
  EXPECT_EQ(AccessPolicy::build(settings).status.code(), common::Status::Code::kIoError);
  settings.jwt_public_key = write("key", "not a key");
  error = build_error(settings);
  settings = AccessSettings();
  settings.jwt_secret_file = write("secret", std::string(40, 's'));
  error = build_error(settings);
  EXPECT_NE(error.find("--auth required"), std::string::npos) << error;
  settings = AccessSettings();
  settings.allowed_origins = "example.com";
  error = build_error(settings);
  EXPECT_EQ(AccessPolicy::build(settings).status.code(), common::Status::Code::kInvalidArgument);
  settings = AccessSettings();
  settings.trusted_proxies = "10.0.0.0/99";
  error = build_error(settings);
  EXPECT_NE(error.find("--trusted-proxies"), std::string::npos) << error;
}

TEST_F(AccessPolicyTest, VerifiesWithTheSecretFile) {
  const std::string secret(40, 'k');
  AccessSettings settings;
  settings.auth_required = true;
  settings.jwt_secret_file = write("secret", secret + "\r\n");
  settings.connections_per_ip_max = 2;
  auto built = AccessPolicy::build(settings);
  ASSERT_TRUE(built.status.is_ok()) << built.status.message();
  const AccessPolicy* policy = built.value.get();
  EXPECT_TRUE(policy->auth_required());
  EXPECT_TRUE(policy->needs_peer_address());
  EXPECT_NE(policy->describe().find("HS256"), std::string::npos);
  const std::string good = testing::hs256_token(
      secret, R"({"exp":)" + std::to_string(unix_now_s() + 60) + R"(,"sub_allow":["a"]})");
  EXPECT_EQ(policy->verify(good).error, TokenError::kNone);
  const std::string old = testing::hs256_token(secret, R"({"exp":1})");
  EXPECT_EQ(policy->verify(old).error, TokenError::kExpired);
}

// SIGHUP: a new key from the same file and a new Origin list, swapped together; a reload that
// fails changes nothing; the auth mode stays what build() made it.
TEST_F(AccessPolicyTest, ReloadSwapsTheKeyAndOriginsOrNothing) {
  const std::string first(40, 'a');
  const std::string second(40, 'b');
  AccessSettings settings;
  settings.auth_required = true;
  settings.jwt_secret_file = write("rotated", first);
  settings.allowed_origins = "https://a.example";
  auto built = AccessPolicy::build(settings);
  ASSERT_TRUE(built.status.is_ok()) << built.status.message();
  const AccessPolicy& policy = *built.value;
  const std::string claims = R"({"exp":)" + std::to_string(unix_now_s() + 60) + "}";
  const std::string old_token = testing::hs256_token(first, claims);
  const std::string new_token = testing::hs256_token(second, claims);
  AccessPolicy::Origins before = policy.origins();  // a reader holding the old snapshot
  EXPECT_EQ(policy.verify(old_token).error, TokenError::kNone);
  EXPECT_TRUE(policy.origins().allows("https://a.example"));

  write("rotated", second);
  settings.allowed_origins = "https://b.example";
  ASSERT_TRUE(policy.reload(settings).is_ok());
  EXPECT_EQ(policy.verify(old_token).error, TokenError::kBadSignature);
  EXPECT_EQ(policy.verify(new_token).error, TokenError::kNone);
  EXPECT_TRUE(policy.origins().allows("https://b.example"));
  EXPECT_FALSE(policy.origins().allows("https://a.example"));
  EXPECT_TRUE(before.allows("https://a.example")) << "a held snapshot stays valid";

  // A bad key or Origin list is refused whole: neither part changes.
  write("rotated", "short");
  settings.allowed_origins = "https://c.example";
  EXPECT_FALSE(policy.reload(settings).is_ok());
  settings.jwt_secret_file = write("rotated", second);
  settings.allowed_origins = "c.example";
  EXPECT_FALSE(policy.reload(settings).is_ok());
  EXPECT_EQ(policy.verify(new_token).error, TokenError::kNone);
  EXPECT_TRUE(policy.origins().allows("https://b.example"));
  // The mode is fixed: settings with auth off still need the key of a required policy.
  settings.auth_required = false;
  settings.allowed_origins = "*";
  ASSERT_TRUE(policy.reload(settings).is_ok());
  EXPECT_TRUE(policy.auth_required());
  EXPECT_EQ(policy.verify(new_token).error, TokenError::kNone);
  EXPECT_TRUE(policy.origins().allows("https://c.example"));
}

TEST(TokenSourcesTest, BearerAndQuery) {
  EXPECT_EQ(bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(bearer_token("bearer   abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER x"), "x");
  EXPECT_EQ(bearer_token("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token(""), "");
  EXPECT_EQ(query_token("token=abc"), "abc");
  EXPECT_EQ(query_token("topic=t&token=abc&x=1"), "abc");
  EXPECT_EQ(query_token("mytoken=abc"), "");
  EXPECT_EQ(query_token(""), "");
}

}  // namespace
}  // namespace herald::broker::auth
