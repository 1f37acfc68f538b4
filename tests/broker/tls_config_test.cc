// The TLS flags: --tls-port with --cert and --key (beside the plain port, or --tls-only), and
// one-line errors when they come incomplete.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/net/config.h"

namespace herald::broker::net {
namespace {

FlagsResult parse(std::vector<const char*> args) { return parse_flags(args); }

TEST(TlsConfigTest, OffByDefault) {
  FlagsResult result = parse({});
  ASSERT_EQ(result.status, FlagsResult::Status::kRun);
  EXPECT_FALSE(result.config.tls);
  EXPECT_FALSE(result.config.tls_only);
  EXPECT_TRUE(result.config.cert_path.empty());
}

TEST(TlsConfigTest, PortCertAndKey) {
  FlagsResult result = parse({"--tls-port", "8443", "--cert=/etc/h/chain.pem", "--key",
                              "/etc/h/key.pem", "--port", "8080"});
  ASSERT_EQ(result.status, FlagsResult::Status::kRun) << result.error;
  EXPECT_TRUE(result.config.tls);
  EXPECT_EQ(result.config.tls_port, 8443);
  EXPECT_EQ(result.config.port, 8080);
  EXPECT_EQ(result.config.cert_path, "/etc/h/chain.pem");
  EXPECT_EQ(result.config.key_path, "/etc/h/key.pem");
  EXPECT_FALSE(result.config.tls_only);

  FlagsResult only = parse({"--tls-port=0", "--cert", "c", "--key", "k", "--tls-only"});
  ASSERT_EQ(only.status, FlagsResult::Status::kRun) << only.error;
  EXPECT_TRUE(only.config.tls_only);
  EXPECT_EQ(only.config.tls_port, 0);  // 0 picks a free port, as for --port
}

TEST(TlsConfigTest, IncompleteCombinationsAreOneLineErrors) {
  for (const std::vector<const char*>& args : std::vector<std::vector<const char*>>{
           {"--tls-port", "8443"},
           {"--tls-port", "8443", "--cert", "c"},
           {"--tls-port", "8443", "--key", "k"},
           {"--cert", "c", "--key", "k"},
           {"--tls-only"},
           {"--tls-port", "8443", "--cert", "", "--key", "k"},
           {"--tls-port", "70000", "--cert", "c", "--key", "k"},
           {"--tls-only=1", "--tls-port", "1", "--cert", "c", "--key", "k"},
       }) {
    FlagsResult result = parse(args);
    EXPECT_EQ(result.status, FlagsResult::Status::kError) << args.size();
    EXPECT_FALSE(result.error.empty());
    EXPECT_EQ(result.error.find('\n'), std::string::npos) << result.error;
  }
}

TEST(TlsConfigTest, UsageListsTheFlags) {
  std::string usage = usage_text();
  for (const char* flag : {"--tls-port N", "--cert FILE", "--key FILE", "--tls-only"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace herald::broker::net
