// --redis URLs, the password file and the topic hash.
#include "broker/cluster/redis_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "broker/cluster/redis_link.h"
#include "tests/storage/temp_dir.h"

namespace herald::broker::cluster {
namespace {

TEST(RedisConfig, ParsesPlainUrl) {
  Result<RedisAddress> parsed = parse_redis_url("redis://127.0.0.1:6379");
  ASSERT_TRUE(parsed.status.is_ok()) << parsed.status.message();
  EXPECT_FALSE(parsed.value.tls);
  EXPECT_EQ(parsed.value.host, "127.0.0.1");
  EXPECT_EQ(parsed.value.port, 6379);
  EXPECT_EQ(parsed.value.db, 0u);
  EXPECT_TRUE(parsed.value.user.empty());
}

TEST(RedisConfig, ParsesTlsUserDbAndIpv6) {
  Result<RedisAddress> parsed = parse_redis_url("rediss://herald@redis-1.example:6380/3");
  ASSERT_TRUE(parsed.status.is_ok()) << parsed.status.message();
  EXPECT_TRUE(parsed.value.tls);
  EXPECT_EQ(parsed.value.user, "herald");
  EXPECT_EQ(parsed.value.host, "redis-1.example");
  EXPECT_EQ(parsed.value.port, 6380);
  EXPECT_EQ(parsed.value.db, 3u);
  Result<RedisAddress> v6 = parse_redis_url("redis://[::1]:7000");
  ASSERT_TRUE(v6.status.is_ok()) << v6.status.message();
  EXPECT_EQ(v6.value.host, "::1");
  EXPECT_EQ(v6.value.port, 7000);
}

TEST(RedisConfig, RefusesBadUrlsWithAReason) {
  const struct {
    const char* url;
    const char* reason;
  } cases[] = {
      {"http://h:1", "must start with redis://"},
      {"redis://h", "a port is required"},
      {"redis://h:0", "the port must be"},
      {"redis://h:65536", "the port must be"},
      {"redis://h:x", "the port must be"},
      {"redis://:6379", "empty host"},
      {"redis://u:pw@h:1", "password in the URL"},
      {"redis://@h:1", "empty user"},
      {"redis://h:1/x", "database"},
      {"redis://h:1/", "database"},
      {"redis://[::1:1", "unclosed"},
      {"redis://h h:1", "invalid character"},
  };
  for (const auto& c : cases) {
    Result<RedisAddress> parsed = parse_redis_url(c.url);
    ASSERT_FALSE(parsed.status.is_ok()) << c.url;
    EXPECT_NE(parsed.status.message().find(c.reason), std::string::npos)
        << c.url << ": " << parsed.status.message();
    EXPECT_NE(parsed.status.message().find(c.url), std::string::npos) << "names the URL";
  }
}

TEST(RedisConfig, RepeatedUrlsAreShardsAndDuplicatesAreRefused) {
  RedisConfig config;
  EXPECT_TRUE(add_redis_url(config, "redis://a:1").is_ok());
  EXPECT_TRUE(add_redis_url(config, "redis://a:1/2").is_ok());
  EXPECT_TRUE(add_redis_url(config, "redis://b:1").is_ok());
  EXPECT_FALSE(add_redis_url(config, "rediss://a:1").is_ok());
  EXPECT_EQ(config.servers.size(), 3u);
}

TEST(RedisConfig, ReadsThePasswordFile) {
  storage::test::TempDir dir;
  RedisConfig config;
  std::ofstream(dir.sub("pw")) << "s3cret\r\nignored\n";
  ASSERT_TRUE(read_redis_password(config, dir.sub("pw")).is_ok());
  EXPECT_EQ(config.password, "s3cret");
  std::ofstream(dir.sub("empty")) << "\n";
  EXPECT_FALSE(read_redis_password(config, dir.sub("empty")).is_ok());
  EXPECT_FALSE(read_redis_password(config, dir.sub("missing")).is_ok());
}

TEST(RedisConfig, ShardHashIsFnv1a64AndStable) {
  // Published FNV-1a 64 test vectors: the mapping must never change between versions.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(shard_of("prices.AAPL", 1), 0u);
  EXPECT_EQ(shard_of("foobar", 7), static_cast<uint32_t>(0x85944171f73967e8ULL % 7));
  uint32_t used[4] = {};
  for (int i = 0; i < 400; ++i) ++used[shard_of("topic." + std::to_string(i), 4)];
  for (uint32_t count : used) EXPECT_GT(count, 60u) << "spreads topics";
}

TEST(RedisConfig, ChannelsAndPatterns) {
  EXPECT_EQ(channel_of(0, "prices.AAPL"), "herald:0:m:prices.AAPL");
  EXPECT_EQ(channel_of(3, "prices.AAPL"), "herald:3:m:prices.AAPL");
  EXPECT_EQ(channel_pattern(0, "prices.>"), "herald:0:m:prices.*");
  EXPECT_EQ(channel_pattern(0, "prices.*.AAPL"), "herald:0:m:prices.*");
  EXPECT_EQ(channel_pattern(12, "*.AAPL"), "herald:12:m:*");
  EXPECT_EQ(channel_pattern(0, "a.b"), "herald:0:m:a.b");
}

}  // namespace
}  // namespace herald::broker::cluster
