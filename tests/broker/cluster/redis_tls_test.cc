// rediss://: the link over TLS to a real redis-server listening with --tls-port, verified
// against a test CA made here with the openssl tool; a server the CA did not sign is refused.
#include <gtest/gtest.h>

#include "broker/cluster/redis_link.h"
#include "tests/broker/cluster/link_harness.h"
#include "tests/broker/cluster/redis_server.h"

namespace herald::broker::cluster::test {
namespace {

// A CA and a server certificate for 127.0.0.1 and localhost in `dir`, prefixed `name`.
bool make_certificates(const std::string& dir, const std::string& name) {
  const std::string p = dir + "/" + name;
  const std::string script =
      "set -e; cd " + dir + "; " +
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
      "/CN=test-ca -keyout " +
      p + "-ca.key -out " + p + "-ca.pem; " +
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost "
      "-keyout " +
      p + ".key -out " + p + ".csr; " + "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > " +
      p + ".ext; " + "openssl x509 -req -in " + p + ".csr -CA " + p + "-ca.pem -CAkey " + p +
      "-ca.key -CAcreateserial -days 2 -extfile " + p + ".ext -out " + p + ".pem; echo ok";
  return shell("(" + script + ") 2>/dev/null") == "ok";
}

TEST(RedisTls, PublishesAndSubscribesOverTlsAndRefusesAnUnknownCa) {
  RedisServer redis;
  const std::string dir = redis.dir().path();
  ASSERT_TRUE(make_certificates(dir, "server"));
  ASSERT_TRUE(make_certificates(dir, "other"));
  redis.set_cli_auth("--tls --cacert " + dir + "/server-ca.pem");
  ASSERT_TRUE(redis.start({"--save", "", "--appendonly", "no", "--port", "0", "--tls-port",
                           std::to_string(redis.port()), "--tls-cert-file", dir + "/server.pem",
                           "--tls-key-file", dir + "/server.key", "--tls-ca-cert-file",
                           dir + "/server-ca.pem", "--tls-auth-clients", "no"}));
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    RedisConfig config = config_for("rediss://" + host + ":" + std::to_string(redis.port()));
    config.tls_ca_file = dir + "/server-ca.pem";
    Node publisher(config);
    Node subscriber(config);
    ASSERT_TRUE(publisher.wait_healthy()) << host;
    ASSERT_TRUE(subscriber.wait_healthy()) << host;
    subscriber.interest("tls.t", false);
    IncomingMessage m;
    bool arrived = false;
    PublishResult result;
    for (int i = 0; i < 50 && !arrived; ++i) {
      result = publisher.publish_sync("tls.t", std::string(100000, 'z'));
      ASSERT_EQ(result.status, LinkStatus::kOk) << result.error;
      arrived = subscriber.message(m, 100ms);
    }
    ASSERT_TRUE(arrived) << host;
    EXPECT_EQ(m.message.size(), 100000u);
    RangeResult range = subscriber.range("tls.t", 1, result.seq);
    EXPECT_EQ(range.entries.size(), result.seq);
  }

  RedisConfig untrusted = config_for("rediss://127.0.0.1:" + std::to_string(redis.port()));
  untrusted.tls_ca_file = dir + "/other-ca.pem";
  Node refused(untrusted);
  EXPECT_FALSE(refused.wait_healthy(500ms));
  EXPECT_EQ(refused.publish_sync("tls.t", "m").status, LinkStatus::kUnavailable);

  RedisConfig plain = config_for(redis.url());  // redis:// to a TLS-only port
  Node confused(plain);
  EXPECT_FALSE(confused.wait_healthy(500ms));
}

}  // namespace
}  // namespace herald::broker::cluster::test
