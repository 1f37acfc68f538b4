// The link thread's state, private to redis_link.cc and redis_link_pubsub.cc: its two
// connections, the commands in flight, the workers' interests and the events not yet taken.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/cluster/cluster_message.h"
#include "broker/cluster/redis_connection.h"
#include "broker/cluster/redis_link.h"

namespace herald::broker::cluster {

[[nodiscard]] int64_t steady_us();

struct RedisLink::Loop {
  enum class OpKind : uint8_t { kSetup, kInfo, kHello, kPublish, kRange, kCanary, kTopics };
  // One publish of a batch: whose ticket.
  struct Ticket {
    uint32_t port;
    uint64_t ticket;
  };
  // One command in flight on the command connection; replies come in this order.
  struct Op {
    OpKind kind;
    uint32_t port;
    uint64_t id;  // the range's token
    int64_t sent_us;
    std::vector<Ticket> publishes = {};  // kPublish: the batch's publishes, in order
  };
  // One channel or pattern: how many interests each port holds in it.
  struct Interest {
    std::vector<uint32_t> counts;
    uint32_t total = 0;
    bool subscribed = false;  // as last sent on the pub/sub connection
  };
  using Interests = std::unordered_map<std::string, Interest>;

  explicit Loop(RedisLink& owner);
  ~Loop();
  Status setup_tls();
  void run();

  // redis_link.cc
  void shut_down();
  void wait(int64_t now_ms);
  void maintain(int64_t now_ms);
  int64_t next_retry(uint32_t& backoff_ms, int64_t now_ms);
  void push_event(uint32_t port, LinkEvent&& event);
  void deliver();
  void open_command(int64_t now_ms);
  void fail_command(const std::string& why, int64_t now_ms);
  void went_down();
  void check_up(int64_t now_ms);
  void scan_topics(std::string_view cursor);
  void on_topics_page(const redisReply& reply);
  void drain_command(int64_t now_ms);
  void on_command_reply(const Op& op, const redisReply& reply, int64_t now_ms);
  PublishResult publish_result(uint64_t ticket, const redisReply& reply);
  RangeResult range_result(uint64_t token, const redisReply& reply);
  void take_requests();
  void queue_publish(uint32_t port, TicketedPublish&& publish);
  void flush_publishes();
  void queue_range(uint32_t port, const RangeRequest& range);

  // redis_link_pubsub.cc
  void open_pubsub(int64_t now_ms);
  void fail_pubsub(const std::string& why, int64_t now_ms);
  void drain_pubsub(int64_t now_ms);
  void on_pubsub_reply(const redisReply& reply, int64_t now_ms);
  void dispatch(const Interests& interests, std::string_view key, std::string_view channel,
                std::string_view payload);
  void change_interest(uint32_t port, const InterestRequest& interest);
  void send_subscription_changes();

  RedisLink& link;
  const RedisConfig& config;
  const RedisAddress& address;
  SSL_CTX* tls = nullptr;
  std::mt19937_64 rng;

  RedisConnection command;
  std::deque<Op> ops;
  // Publishes taken this round, sent as one herald_publish_batch before anything else.
  std::vector<Ticket> batch_tickets;
  std::vector<PublishRequest> batch;
  size_t batch_bytes = 0;      // of batch's messages
  bool command_ready = false;  // hello answered: publishes may go
  int64_t command_opened_ms = 0;
  int64_t command_retry_ms = 0;
  uint32_t command_backoff_ms = 0;
  std::string last_error;

  RedisConnection pubsub;
  bool pubsub_ready = false;     // every subscription of the last (re)connect confirmed
  uint32_t pubsub_confirms = 0;  // confirmations still awaited before ready
  int64_t pubsub_opened_ms = 0;
  int64_t pubsub_retry_ms = 0;
  uint32_t pubsub_backoff_ms = 0;
  Interests channels;
  Interests patterns;
  std::unordered_set<std::string> dirty_channels;  // changed since the last round
  std::unordered_set<std::string> dirty_patterns;

  bool outage = false;  // a connection was lost since both were last up
  int64_t up_since_ms = 0;
  int64_t canary_due_ms = 0;
  std::string canary_channel;
  std::string topic_channel_prefix;  // channel_prefix(db)
  std::string topics_channel;        // herald:<db>:topics, new topics with history

  std::vector<std::deque<LinkEvent>> outbox;  // per port: events its full queue refused
  std::vector<bool> woken;                    // per port: events pushed this round
};

}  // namespace herald::broker::cluster
