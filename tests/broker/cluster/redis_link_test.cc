// The Redis link against real redis-server processes: the publish function, two nodes on one
// server, restarts with and without persistence, a promoted replica, a pub/sub connection cut
// by Redis, range reads, AUTH and SELECT.
#include "broker/cluster/redis_link.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/broker/cluster/link_harness.h"
#include "tests/broker/cluster/numbered.h"
#include "tests/broker/cluster/redis_server.h"
#include "tests/broker/cluster/tcp_proxy.h"

namespace herald::broker::cluster::test {
namespace {

TEST(RedisLink, PublishNumbersAppendsAndTrimsByCount) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node node(redis.url());
  ASSERT_TRUE(node.wait_healthy());
  uint64_t epoch = 0;
  for (uint64_t i = 1; i <= 5; ++i) {
    PublishResult result = node.publish_sync("a.b", numbered("m", i), 3);
    ASSERT_EQ(result.status, LinkStatus::kOk) << result.error;
    EXPECT_EQ(result.seq, i);
    if (i == 1) epoch = result.epoch;
    EXPECT_EQ(result.epoch, epoch);
  }
  EXPECT_NE(epoch, 0u);
  EXPECT_EQ(redis.cli("XLEN 'herald:{a.b}:log'"), "3");
  // Stream ids are the sequence numbers.
  EXPECT_EQ(redis.cli("XRANGE 'herald:{a.b}:log' - + | grep -- '-0$' | tr '\\n' ' '"),
            "3-0 4-0 5-0 ");
  RangeResult range = node.range("a.b", 1, 100);
  ASSERT_EQ(range.status, LinkStatus::kOk) << range.error;
  ASSERT_EQ(range.entries.size(), 3u);
  EXPECT_EQ(range.entries[0].seq, 3u);
  EXPECT_EQ(range.entries[2].message, "m5");
  EXPECT_EQ(range.last_seq, 5u);
  EXPECT_EQ(range.epoch, epoch);
}

TEST(RedisLink, TrimsByAgeAndKeepsNoStreamWithoutHistory) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node node(redis.url());
  ASSERT_TRUE(node.wait_healthy());
  for (int64_t t : {1000, 2000, 3000, 7000}) {
    ASSERT_EQ(node.publish_sync("aged", "x", 100, 5000, t).status, LinkStatus::kOk);
  }
  // At t=7000 with age 5000, the entries of 1000 (and only those before 2000) are gone.
  RangeResult range = node.range("aged", 1, 100);
  ASSERT_EQ(range.status, LinkStatus::kOk) << range.error;
  ASSERT_EQ(range.entries.size(), 3u);
  EXPECT_EQ(range.entries[0].seq, 2u);
  EXPECT_EQ(range.entries[0].time_ms, 2000);
  ASSERT_EQ(node.publish_sync("aged", "x", 100, 5000, 20000).status, LinkStatus::kOk);
  range = node.range("aged", 1, 100);
  ASSERT_EQ(range.entries.size(), 1u);
  EXPECT_EQ(range.entries[0].seq, 5u);

  // count 0: numbers and an epoch, no stream.
  PublishResult first = node.publish_sync("nohist", "x", 0);
  PublishResult second = node.publish_sync("nohist", "y", 0);
  ASSERT_EQ(second.status, LinkStatus::kOk) << second.error;
  EXPECT_EQ(first.seq, 1u);
  EXPECT_EQ(second.seq, 2u);
  EXPECT_EQ(second.epoch, first.epoch);
  EXPECT_EQ(redis.cli("EXISTS 'herald:{nohist}:log'"), "0");
}

TEST(RedisLink, RetriedPublishIsIdempotent) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node publisher(redis.url());
  Node subscriber(redis.url());
  ASSERT_TRUE(publisher.wait_healthy());
  ASSERT_TRUE(subscriber.wait_healthy());
  subscriber.interest("idem.t", false);
  ASSERT_TRUE(subscriber.wait_healthy());
  // Interest takes effect once the SUBSCRIBE is confirmed: probe until a message arrives.
  IncomingMessage message;
  PublishResult probe;
  for (int i = 0; i < 50 && subscriber.messages().empty(); ++i) {
    probe = publisher.publish_sync("idem.t", "probe");
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(subscriber.message(message));
  subscriber.messages().clear();
  PublishResult one = publisher.publish_sync("idem.t", "once", 100, 0, 1, "7:42");
  PublishResult again = publisher.publish_sync("idem.t", "once", 100, 0, 1, "7:42", true);
  PublishResult next = publisher.publish_sync("idem.t", "after", 100, 0, 1, "7:43");
  // A retry whose first attempt never reached Redis is applied now.
  PublishResult first_time = publisher.publish_sync("idem.t", "late", 100, 0, 1, "7:44", true);
  ASSERT_EQ(one.status, LinkStatus::kOk) << one.error;
  EXPECT_EQ(again.seq, one.seq);
  EXPECT_EQ(again.epoch, one.epoch);
  EXPECT_EQ(next.seq, one.seq + 1);
  EXPECT_EQ(first_time.seq, one.seq + 2);
  RangeResult range = publisher.range("idem.t", one.seq, 1000);
  ASSERT_EQ(range.entries.size(), 3u) << "appended once";
  // Published once: the subscriber sees "once", "after" and "late", nothing in between.
  for (const auto& [text, seq] : {std::pair{"once", one.seq}, std::pair{"after", next.seq},
                                  std::pair{"late", first_time.seq}}) {
    ASSERT_TRUE(subscriber.message(message));
    EXPECT_EQ(message.message, text);
    EXPECT_EQ(message.seq, seq);
  }
}

// The idempotency record lasts the configured window (the link's buckets follow the
// publishes' clock, so the test sets it), and not forever: a retry later than that is a new
// publish.
TEST(RedisLink, RetryFindsItsFirstResultWithinTheWindowOnly) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  RedisConfig config = config_for(redis.url());
  config.idempotency_ttl_ms = 4000;  // buckets of 1,000 ms
  Node node(config);
  ASSERT_TRUE(node.wait_healthy());
  const int64_t t0 = 1'700'000'000'500;
  PublishResult one = node.publish_sync("window.t", "m", 100, 0, t0, "1:1");
  ASSERT_EQ(one.status, LinkStatus::kOk) << one.error;
  PublishResult soon = node.publish_sync("window.t", "m", 100, 0, t0 + 3900, "1:1", true);
  EXPECT_EQ(soon.seq, one.seq) << "retried within the window";
  PublishResult late = node.publish_sync("window.t", "m", 100, 0, t0 + 5400, "1:1", true);
  EXPECT_EQ(late.seq, one.seq + 1) << "a retry after the window is a new publish";
  // Not a retry: the same field is not looked up, however recent.
  PublishResult fresh = node.publish_sync("window.t", "m", 100, 0, t0 + 5400, "1:1");
  EXPECT_EQ(fresh.seq, one.seq + 2);
  // The bucket that left the window is freed, not kept until it expires; the newest is kept
  // for its window and a margin, no longer.
  const std::string bucket = "herald:idem:" + node.link().node_token() + ":";
  EXPECT_EQ(redis.cli("EXISTS " + bucket + std::to_string(t0 / 1000)), "0");
  const int ttl = std::stoi(redis.cli("PTTL " + bucket + std::to_string((t0 + 5400) / 1000)));
  EXPECT_GT(ttl, 4000);
  EXPECT_LE(ttl, 6000);
}

// Waits until `node` receives a message on `topic` that `publisher` keeps sending.
void prime(Node& publisher, Node& node, const std::string& topic) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(publisher.publish_sync(topic, "prime").status, LinkStatus::kOk);
    std::this_thread::sleep_for(10ms);
    for (const IncomingMessage& m : node.messages()) {
      if (m.topic == topic) {
        node.messages().clear();
        return;
      }
    }
  }
  FAIL() << "interest in " << topic << " never took effect";
}

TEST(RedisLink, TwoNodesShareNumbersAndOnlyInterestedNodesReceive) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node a(redis.url());
  Node b(redis.url());
  Node c(redis.url());
  ASSERT_TRUE(a.wait_healthy() && b.wait_healthy() && c.wait_healthy());
  b.interest("t.x", false);
  b.interest("p.>", true);
  c.interest("c.only", false);
  prime(a, b, "t.x");
  prime(a, b, "p.prime");
  prime(a, c, "c.only");

  PublishResult x = a.publish_sync("t.x", "hello");
  PublishResult deep = a.publish_sync("p.q.r", "deep");
  PublishResult other = a.publish_sync("other.z", "nobody");
  ASSERT_EQ(other.status, LinkStatus::kOk);
  PublishResult last = a.publish_sync("c.only", "for c");
  IncomingMessage m;
  ASSERT_TRUE(b.message(m));
  EXPECT_EQ(m.topic, "t.x");
  EXPECT_EQ(m.seq, x.seq);
  EXPECT_EQ(m.epoch, x.epoch);
  EXPECT_EQ(m.message, "hello");
  ASSERT_TRUE(b.message(m));
  EXPECT_EQ(m.topic, "p.q.r");
  EXPECT_EQ(m.seq, deep.seq);
  EXPECT_EQ(m.epoch, deep.epoch);
  // c is interested in c.only alone: the first thing it receives is the last publish.
  ASSERT_TRUE(c.message(m));
  EXPECT_EQ(m.topic, "c.only");
  EXPECT_EQ(m.seq, last.seq);
  EXPECT_TRUE(c.messages().empty());

  // Interest withdrawn: b gets nothing more on t.x (a later p.* message shows delivery goes on).
  b.interest("t.x", false, false);
  std::this_thread::sleep_for(100ms);
  a.publish_sync("t.x", "gone");
  PublishResult marker = a.publish_sync("p.end", "end");
  ASSERT_TRUE(b.message(m));
  EXPECT_EQ(m.topic, "p.end");
  EXPECT_EQ(m.seq, marker.seq);
  EXPECT_TRUE(b.messages().empty());
}

TEST(RedisLink, RestartWithAofKeepsTheEpochAndReconnectsByItself) {
  RedisServer redis;
  const std::vector<std::string> aof{"--save",        "",      "--appendonly", "yes",
                                     "--appendfsync", "always"};
  ASSERT_TRUE(redis.start(aof));
  Node node(redis.url());
  ASSERT_TRUE(node.wait_healthy());
  PublishResult before;
  for (int i = 0; i < 3; ++i) before = node.publish_sync("durable", "m");
  ASSERT_EQ(before.seq, 3u);
  EXPECT_EQ(node.ups(), 1) << "the first connect is reported";
  redis.kill();
  ASSERT_TRUE(node.wait_disconnected());
  EXPECT_FALSE(node.link().healthy());
  for (int i = 0; i < 3; ++i) {
    PublishResult during = node.publish_sync("durable", "lost");
    EXPECT_EQ(during.status, LinkStatus::kUnavailable) << "never acked while Redis is down";
  }
  ASSERT_TRUE(redis.start(aof));
  ASSERT_TRUE(node.wait_reconnected());
  ASSERT_TRUE(node.wait_healthy());
  PublishResult after = node.publish_sync("durable", "m");
  ASSERT_EQ(after.status, LinkStatus::kOk) << after.error;
  EXPECT_EQ(after.epoch, before.epoch);
  EXPECT_EQ(after.seq, 4u);
  EXPECT_GE(node.link().reconnects(), 1u);
  EXPECT_GE(node.ups(), 2);
}

TEST(RedisLink, RestartWithoutPersistenceChangesTheEpoch) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node node(redis.url());
  ASSERT_TRUE(node.wait_healthy());
  PublishResult before = node.publish_sync("volatile", "m");
  ASSERT_EQ(before.status, LinkStatus::kOk);
  node.publish_sync("volatile", "m");
  redis.kill();
  ASSERT_TRUE(node.wait_disconnected());
  ASSERT_TRUE(redis.start());
  ASSERT_TRUE(node.wait_reconnected());
  PublishResult after = node.publish_sync("volatile", "m");
  ASSERT_EQ(after.status, LinkStatus::kOk) << after.error;
  EXPECT_NE(after.epoch, before.epoch);
  EXPECT_EQ(after.seq, 1u);
}

TEST(RedisLink, PromotedReplicaChangesTheEpoch) {
  RedisServer primary;
  RedisServer replica;
  ASSERT_TRUE(
      primary.start({"--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"}));
  ASSERT_TRUE(replica.start({"--save", "", "--appendonly", "no", "--replicaof", "127.0.0.1",
                             std::to_string(primary.port())}));
  Node old_node(primary.url());
  ASSERT_TRUE(old_node.wait_healthy());
  PublishResult before;
  for (int i = 0; i < 3; ++i) before = old_node.publish_sync("fo", "m");
  ASSERT_EQ(before.seq, 3u);
  bool replicated = false;
  for (int i = 0; i < 500 && !replicated; ++i) {
    replicated = replica.cli("HGET 'herald:{fo}:state' seq") == "3" &&
                 replica.cli("GET herald:replid") == primary.cli("GET herald:replid");
    if (!replicated) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(replicated);
  ASSERT_EQ(replica.cli("REPLICAOF NO ONE"), "OK");
  Node new_node(replica.url());
  ASSERT_TRUE(new_node.wait_healthy());
  PublishResult after = new_node.publish_sync("fo", "m");
  ASSERT_EQ(after.status, LinkStatus::kOk) << after.error;
  EXPECT_NE(after.epoch, before.epoch) << "writes the old primary had not replicated must "
                                          "never be re-acked under the old epoch";
  EXPECT_EQ(after.seq, 1u);
  // A second node connecting afterwards keeps the promoted server's new history.
  Node late(replica.url());
  ASSERT_TRUE(late.wait_healthy());
  PublishResult later = late.publish_sync("fo", "m");
  EXPECT_EQ(later.epoch, after.epoch);
  EXPECT_EQ(later.seq, 2u);
}

TEST(RedisLink, PubSubCutByRedisReconnectsResubscribesAndReports) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node publisher(redis.url());
  Node subscriber(redis.url());
  ASSERT_TRUE(publisher.wait_healthy() && subscriber.wait_healthy());
  subscriber.interest("load.t", false);
  prime(publisher, subscriber, "load.t");
  ASSERT_EQ(redis.cli("CONFIG SET client-output-buffer-limit 'pubsub 1024 1024 0'"), "OK");
  // A message larger than Redis's 16 KiB reply buffer goes to the output list, over the limit.
  const std::string big(200 * 1024, 'x');
  PublishResult lost;
  for (int i = 0; i < 5; ++i) lost = publisher.publish_sync("load.t", big);
  ASSERT_EQ(lost.status, LinkStatus::kOk);
  ASSERT_EQ(redis.cli("CONFIG SET client-output-buffer-limit 'pubsub 33554432 8388608 60'"), "OK");
  ASSERT_TRUE(subscriber.wait_reconnected()) << "the cut pub/sub connection is reported";
  EXPECT_GE(subscriber.link().reconnects(), 1u);
  // Resubscribed: new messages arrive again, and the missed ones are in the stream.
  subscriber.messages().clear();
  PublishResult after;
  IncomingMessage m;
  bool arrived = false;
  for (int i = 0; i < 50 && !arrived; ++i) {
    after = publisher.publish_sync("load.t", "small");
    arrived = subscriber.message(m, 100ms);
  }
  ASSERT_TRUE(arrived);
  EXPECT_EQ(m.topic, "load.t");
  RangeResult missed = subscriber.range("load.t", lost.seq, lost.seq);
  ASSERT_EQ(missed.entries.size(), 1u);
  EXPECT_EQ(missed.entries[0].message, big);
}

TEST(RedisLink, RangeReadReturnsExactlyTheAskedRange) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node node(redis.url());
  ASSERT_TRUE(node.wait_healthy());
  for (int i = 1; i <= 10; ++i) node.publish("r.t", numbered("m", i));
  PublishResult result;
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(node.next(result));
    ASSERT_EQ(result.seq, static_cast<uint64_t>(i)) << "pipelined results come in order";
  }
  RangeResult range = node.range("r.t", 3, 7);
  ASSERT_EQ(range.entries.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(range.entries[i].seq, 3 + i);
    EXPECT_EQ(range.entries[i].message, numbered("m", 3 + i));
  }
  range = node.range("r.t", 8, 100);
  ASSERT_EQ(range.entries.size(), 3u);
  EXPECT_EQ(range.entries.back().seq, 10u);
  range = node.range("r.t", 1, 100, 2);
  ASSERT_EQ(range.entries.size(), 2u);
  EXPECT_EQ(range.entries[1].seq, 2u);
  range = node.range("r.t", 11, 20);
  EXPECT_TRUE(range.entries.empty());
  EXPECT_EQ(range.last_seq, 10u);
  range = node.range("never.published", 1, 10);
  ASSERT_EQ(range.status, LinkStatus::kOk) << range.error;
  EXPECT_TRUE(range.entries.empty());
  EXPECT_EQ(range.last_seq, 0u);
  EXPECT_EQ(range.epoch, 0u);
}

TEST(RedisLink, AuthenticatesWithUserAndPasswordAndSelectsTheDatabase) {
  RedisServer redis;
  redis.set_cli_auth("--user herald --pass s3cret --no-auth-warning");
  ASSERT_TRUE(redis.start({"--save", "", "--appendonly", "no", "--user", "default", "off", "--user",
                           "herald", "on", ">s3cret", "~*", "&*", "+@all"}));
  RedisConfig config =
      config_for("redis://herald@127.0.0.1:" + std::to_string(redis.port()) + "/3");
  config.password = "s3cret";
  Node node(config);
  ASSERT_TRUE(node.wait_healthy());
  ASSERT_EQ(node.publish_sync("db.t", "m").status, LinkStatus::kOk);
  EXPECT_EQ(redis.cli("-n 3 EXISTS 'herald:{db.t}:state'"), "1");

  RedisConfig wrong = config;
  wrong.password = "nope";
  Node refused(wrong);
  EXPECT_FALSE(refused.wait_healthy(500ms));
  EXPECT_EQ(refused.publish_sync("db.t", "m").status, LinkStatus::kUnavailable);
}

// Large messages queued together: the link cuts its batch at 1 MiB and Redis its PUBLISHes at
// 64 KiB, and the receiving node still gets every message whole, once, numbered in order.
TEST(RedisLink, LargeMessagesPublishedTogetherArriveWholeAndInOrder) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node publisher(redis.url());
  Node subscriber(redis.url());
  ASSERT_TRUE(publisher.wait_healthy());
  subscriber.interest("large.t", false);
  ASSERT_TRUE(subscriber.wait_healthy());
  prime(publisher, subscriber, "large.t");
  redis.cli("CONFIG RESETSTAT");
  constexpr uint64_t kCount = 300;  // 1.5 MB in all
  std::vector<uint64_t> tickets;
  for (uint64_t i = 0; i < kCount; ++i) {
    std::string message = numbered("m", i);
    message.resize(5000, static_cast<char>('a' + i % 26));
    PublishRequest request{"large.t", std::move(message), 1000, 0, 1, ""};
    tickets.push_back(publisher.port().try_publish(std::move(request)));
    ASSERT_NE(tickets.back(), 0u);
  }
  publisher.port().submit();  // all in one round of the link
  PublishResult result;
  for (uint64_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(publisher.next(result)) << i;
    ASSERT_EQ(result.status, LinkStatus::kOk) << result.error;
    ASSERT_EQ(result.ticket, tickets[i]);
  }
  const uint64_t last_seq = result.seq;
  IncomingMessage message;
  for (uint64_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(subscriber.message(message)) << i;
    EXPECT_EQ(message.seq, last_seq - kCount + 1 + i);
    ASSERT_EQ(message.message.size(), 5000u);
    EXPECT_TRUE(message.message.starts_with(numbered("m", i))) << i;
    EXPECT_EQ(message.message.back(), static_cast<char>('a' + i % 26));
  }
  EXPECT_FALSE(subscriber.message(message, 200ms)) << "each message once";
  // More than one call and more than one PUBLISH per call.
  const std::string stats = redis.cli("INFO commandstats");
  auto calls = [&](const std::string& command) {
    const size_t at = stats.find("cmdstat_" + command + ":calls=");
    return at == std::string::npos ? 0 : std::stoull(stats.substr(at + command.size() + 15));
  };
  EXPECT_GE(calls("fcall"), 2u);
  EXPECT_GE(calls("publish"), 1'500'000u / 65536);
}

TEST(RedisLink, ThousandsOfPipelinedPublishesComeBackInOrder) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node node(redis.url());
  ASSERT_TRUE(node.wait_healthy());
  constexpr uint64_t kCount = 20000;
  const auto started = std::chrono::steady_clock::now();
  uint64_t queued = 0;
  uint64_t answered = 0;
  PublishResult result;
  // The port's queue is bounded: publish while there is room, take results meanwhile.
  for (int spins = 0; answered < kCount && spins < 2000000; ++spins) {
    while (queued < kCount) {
      PublishRequest request{"bulk", numbered("m", queued + 1), 1000, 0, 1, ""};
      if (node.port().try_publish(std::move(request)) == 0) break;
      ++queued;
    }
    node.port().submit();
    while (answered < queued && node.next(result, 0ms)) {
      ++answered;
      ASSERT_EQ(result.status, LinkStatus::kOk) << result.error;
      ASSERT_EQ(result.ticket, answered);
      ASSERT_EQ(result.seq, answered);
    }
    if (answered < queued) std::this_thread::sleep_for(100us);
  }
  ASSERT_EQ(answered, kCount);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RecordProperty("publishes_per_second", static_cast<int>(kCount / seconds));
  EXPECT_EQ(redis.cli("XLEN 'herald:{bulk}:log'"), "1000");
}

TEST(RedisLink, AHungServerFailsPendingPublishesAndIsLeftForANewConnection) {
  RedisServer redis;
  ASSERT_TRUE(redis.start({"--save", "", "--appendonly", "yes", "--appendfsync", "always"}));
  RedisConfig config = config_for(redis.url());
  config.command_timeout_ms = 400;
  Node node(config);
  ASSERT_TRUE(node.wait_healthy());
  PublishResult before = node.publish_sync("hang", "m");
  ASSERT_EQ(before.status, LinkStatus::kOk);
  redis.pause();
  // No reply comes: after command_timeout_ms the publish fails, never acked.
  PublishResult during = node.publish_sync("hang", "m");
  EXPECT_EQ(during.status, LinkStatus::kUnavailable) << during.error;
  EXPECT_FALSE(node.link().healthy());
  redis.resume();
  ASSERT_TRUE(node.wait_reconnected());
  ASSERT_TRUE(node.wait_healthy());
  PublishResult after = node.publish_sync("hang", "m");
  ASSERT_EQ(after.status, LinkStatus::kOk) << after.error;
  EXPECT_EQ(after.epoch, before.epoch);
  // The timed-out publish may have been applied once Redis resumed (it was sent): the number
  // after it is 2 or 3, never a reuse.
  EXPECT_GE(after.seq, 2u);
}

TEST(RedisLink, DatabasesOnOneServerDoNotHearEachOther) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  Node one(redis.url() + "/1");
  Node two(redis.url() + "/2");
  ASSERT_TRUE(one.wait_healthy() && two.wait_healthy());
  one.interest("shared", false);
  two.interest("shared", false);
  two.interest("marker", false);
  prime(one, one, "shared");
  prime(two, two, "marker");
  PublishResult from_one = one.publish_sync("shared", "db1");
  PublishResult marker = two.publish_sync("marker", "end");
  IncomingMessage m;
  ASSERT_TRUE(one.message(m));
  EXPECT_EQ(m.message, "db1");
  ASSERT_TRUE(two.message(m));
  EXPECT_EQ(m.topic, "marker") << "db 2 must not receive db 1's topic";
  EXPECT_EQ(from_one.status, LinkStatus::kOk);
  EXPECT_EQ(marker.status, LinkStatus::kOk);
  EXPECT_EQ(two.messages().size(), 0u);
}

TEST(RedisLink, AStuckSubscriptionIsNoticedByTheCanaryAndStartedOver) {
  RedisServer redis;
  ASSERT_TRUE(redis.start());
  TcpProxy proxy(redis.port());
  Node publisher(redis.url());
  Node node("redis://127.0.0.1:" + std::to_string(proxy.port()));
  ASSERT_TRUE(publisher.wait_healthy() && node.wait_healthy());
  node.interest("stuck.t", false);
  prime(publisher, node, "stuck.t");
  // The pub/sub connection stays open but delivers nothing: the command connection still
  // works, so only the canary can tell.
  proxy.freeze_subscribers();
  bool unhealthy = false;
  for (int i = 0; i < 500 && !unhealthy; ++i) {
    unhealthy = !node.link().healthy();
    if (!unhealthy) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(unhealthy) << "readiness must fail while delivery is stuck";
  ASSERT_TRUE(node.wait_reconnected()) << "the stuck connection is replaced and reported";
  ASSERT_TRUE(node.wait_healthy());
  node.messages().clear();
  PublishResult after = publisher.publish_sync("stuck.t", "again");
  IncomingMessage m;
  ASSERT_TRUE(node.message(m));
  EXPECT_EQ(m.seq, after.seq);
}

}  // namespace
}  // namespace herald::broker::cluster::test
