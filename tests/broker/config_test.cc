// Flag parsing: defaults, both value spellings, and one-line errors for bad input.
#include "broker/net/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::broker::net {
namespace {

FlagsResult parse(std::vector<const char*> args) { return parse_flags(args); }

TEST(ConfigTest, Defaults) {
  FlagsResult result = parse({});
  ASSERT_EQ(result.status, FlagsResult::Status::kRun);
  EXPECT_EQ(result.config.host, "0.0.0.0");
  EXPECT_EQ(result.config.port, 8080);
  EXPECT_EQ(result.config.workers, 0u);
  EXPECT_FALSE(result.config.echo);
  EXPECT_EQ(result.config.max_connections, 0u);  // what the workers' tables hold
  EXPECT_EQ(result.config.max_message_bytes, 16777216u);
  EXPECT_EQ(result.config.handshake_timeout_ms, 10000u);
  EXPECT_EQ(result.config.idle_timeout_ms, 60000u);
  EXPECT_EQ(result.config.close_timeout_ms, 5000u);
  EXPECT_EQ(result.config.shutdown_timeout_ms, 5000u);
  EXPECT_EQ(result.config.max_queued_bytes, 1048576u);
  EXPECT_EQ(result.config.slow_consumer_policy, protocol::pubsub::Policy::kDrop);
  EXPECT_EQ(result.config.max_subscriptions, 1000u);
  EXPECT_EQ(result.config.max_topics, 1000000u);
}

TEST(ConfigTest, PubSubFlags) {
  FlagsResult result = parse({"--max-queued-bytes", "65536", "--slow-consumer-policy=conflate",
                              "--max-subscriptions", "3", "--max-topics=7"});
  ASSERT_EQ(result.status, FlagsResult::Status::kRun) << result.error;
  EXPECT_EQ(result.config.max_queued_bytes, 65536u);
  EXPECT_EQ(result.config.slow_consumer_policy, protocol::pubsub::Policy::kConflate);
  EXPECT_EQ(result.config.max_subscriptions, 3u);
  EXPECT_EQ(result.config.max_topics, 7u);
  EXPECT_EQ(parse({"--slow-consumer-policy", "disconnect"}).config.slow_consumer_policy,
            protocol::pubsub::Policy::kDisconnect);
  EXPECT_EQ(parse({"--slow-consumer-policy", "drop"}).config.slow_consumer_policy,
            protocol::pubsub::Policy::kDrop);
}

TEST(ConfigTest, HistoryFlags) {
  FlagsResult result = parse({});
  EXPECT_EQ(result.config.data_dir, "./data");
  EXPECT_TRUE(result.config.history.empty());
  result = parse({"--data-dir", "/var/lib/herald", "--history", "prices.>=rocksdb,count=10",
                  "--history=tmp.>=none", "--slow-consumer-policy", "catchup"});
  ASSERT_EQ(result.status, FlagsResult::Status::kRun) << result.error;
  EXPECT_EQ(result.config.data_dir, "/var/lib/herald");
  EXPECT_EQ(result.config.history,
            (std::vector<std::string>{"prices.>=rocksdb,count=10", "tmp.>=none"}));
  EXPECT_EQ(result.config.slow_consumer_policy, protocol::pubsub::Policy::kCatchup);
  // A bad rule is refused at parse time, with the flag named.
  result = parse({"--history", "prices.>=floppy"});
  ASSERT_EQ(result.status, FlagsResult::Status::kError);
  EXPECT_EQ(result.error.rfind("--history: ", 0), 0u) << result.error;
  EXPECT_EQ(parse({"--history", "game.>=memory"}).status, FlagsResult::Status::kError)
      << "a memory rule must be bounded";
  EXPECT_EQ(parse({"--data-dir", ""}).status, FlagsResult::Status::kError);
}

TEST(ConfigTest, EveryFlag) {
  FlagsResult result =
      parse({"--host", "127.0.0.1", "--port=9001", "--workers", "6", "--echo", "--max-connections",
             "10", "--max-message-bytes=1024", "--handshake-timeout-ms", "1", "--idle-timeout-ms",
             "2", "--close-timeout-ms", "3", "--shutdown-timeout-ms", "0"});
  ASSERT_EQ(result.status, FlagsResult::Status::kRun) << result.error;
  EXPECT_EQ(result.config.host, "127.0.0.1");
  EXPECT_EQ(result.config.port, 9001);
  EXPECT_EQ(result.config.workers, 6u);
  EXPECT_TRUE(result.config.echo);
  EXPECT_EQ(result.config.max_connections, 10u);
  EXPECT_EQ(result.config.max_message_bytes, 1024u);
  EXPECT_EQ(result.config.handshake_timeout_ms, 1u);
  EXPECT_EQ(result.config.idle_timeout_ms, 2u);
  EXPECT_EQ(result.config.close_timeout_ms, 3u);
  EXPECT_EQ(result.config.shutdown_timeout_ms, 0u);
}

TEST(ConfigTest, Help) { EXPECT_EQ(parse({"--help"}).status, FlagsResult::Status::kHelp); }

TEST(ConfigTest, Errors) {
  for (const auto& args : std::vector<std::vector<const char*>>{
           {"--nope"},
           {"--port"},
           {"--port", "x"},
           {"--port", "65536"},
           {"--port", "-1"},
           {"--port", "80a"},
           {"--workers", "0"},
           {"--echo=1"},
           {"--host="},
           {"stray"},
           {"--slow-consumer-policy", "default"},
           {"--slow-consumer-policy", "block"},
           {"--slow-consumer-policy="},
           {"--max-queued-bytes", "0"},
           {"--max-subscriptions", "0"},
           {"--max-topics", "0"},
       }) {
    FlagsResult result = parse(args);
    EXPECT_EQ(result.status, FlagsResult::Status::kError) << args[0];
    EXPECT_FALSE(result.error.empty());
    EXPECT_EQ(result.error.find('\n'), std::string::npos);
  }
}

TEST(ConfigTest, UsageListsEveryFlagWithItsDefault) {
  std::string usage = usage_text();
  for (const char* flag : {"--host", "--port", "--workers", "--echo", "--max-connections",
                           "--max-message-bytes", "--handshake-timeout-ms", "--idle-timeout-ms",
                           "--close-timeout-ms", "--shutdown-timeout-ms", "--max-queued-bytes",
                           "--slow-consumer-policy", "--max-subscriptions", "--max-topics"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(usage.find("(default: 8080)"), std::string::npos);
  EXPECT_NE(usage.find("(default: drop)"), std::string::npos);
  // Every help line keeps a space between the flag and its text.
  EXPECT_NE(usage.find("--slow-consumer-policy NAME "), std::string::npos);
}

}  // namespace
}  // namespace herald::broker::net
