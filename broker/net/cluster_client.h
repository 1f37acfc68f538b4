// A worker's side of several nodes (PROTOCOL.md section 12): its publishes go to the Redis
// server that owns the topic and are answered when Redis has numbered them; the messages of the
// topics and patterns its subscribers follow come back from Redis, through a TopicFeed each,
// in order and gap-checked, as frames it encodes once for all its subscribers. It never sees a
// connection or a socket: the worker is its Host. Thread: the owning worker's.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/cluster/cluster_message.h"
#include "broker/cluster/redis_link.h"
#include "broker/cluster/topic_feed.h"
#include "broker/core/publication.h"
#include "broker/net/counters.h"
#include "broker/net/history_reads.h"
#include "protocol/common/string_hash.h"
#include "storage/history_rules.h"

namespace herald::broker::net {

class ClusterClient final : public HistoryReads {
 public:
  class Host {
   public:
    // Whether a subscriber of this worker follows `topic` (a Redis glob is wider than the
    // pattern it stands for).
    [[nodiscard]] virtual bool has_subscribers(std::string_view topic) = 0;
    // Message `seq` of `topic`, from any node, to this worker's subscribers.
    // `own`: published on this node (its worker and connection fields are this node's).
    virtual void deliver_clustered(std::string_view topic, uint64_t seq,
                                   const cluster::ClusterMessage& message, bool own) = 0;
    // `missed` messages of `topic` are lost to this worker's subscribers: a `gap` to each.
    virtual void deliver_gap(std::string_view topic, uint64_t missed) = 0;
    // Redis lost `topic`'s history: a new epoch, numbers from 1 again. Each subscriber gets a
    // `recovery` (complete false) before the new history's messages.
    virtual void deliver_reset(std::string_view topic, uint64_t epoch) = 0;
    // A publish's answer: status kSequenced (seq set) or kUnavailable. The host owns it.
    virtual void answer_clustered(core::PublishRequest* request) = 0;

   protected:
    ~Host() = default;
  };

  // `links` (one per --redis server, in shard order) and `rules` (the redis history rules)
  // outlive the client; this worker uses port `worker` of each link.
  ClusterClient(const std::vector<cluster::RedisLink*>& links, const storage::HistoryRules& rules,
                uint32_t worker, Host& host, WorkerCounters& counters);
  ~ClusterClient() override;  // frees the requests still waiting for Redis
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Sends a publish to its topic's server. The answer comes through the host (at once when
  // the link's queue is full: kUnavailable); a publish that wants none gets none.
  void publish(const core::PublishRequest::Fields& fields);
  // A subscriber of this worker started (on) or stopped following `filter`; counted, so
  // Redis hears only the first on and the last off.
  void interest(std::string_view filter, bool on);
  // A pattern subscriber replays `topic` (a concrete topic the pattern matches) from Redis:
  // its feed starts now, anchored at the topic's last number, as an exact subscribe's does.
  // Else the feed would start at the first message the pattern's Redis subscription brings,
  // which may come after messages that were published between the replay's read and that
  // subscription taking effect, and nothing would notice them missing.
  void follow(std::string_view topic);
  // Once per loop tick: every event the links sent, then wakes the links for what was queued.
  void tick();
  // HistoryReads: the replays' reads (PROTOCOL.md section 9) from the topic's stream in Redis,
  // answered as the storage writer would answer them.
  [[nodiscard]] bool try_read(storage::ReadRequest&& request) override;
  [[nodiscard]] bool try_take_read_result(storage::ReadResult& out) override;
  void submit() override {}  // tick() wakes the links

  // Whether every link is connected with a fresh canary (/readyz).
  [[nodiscard]] bool healthy() const;
  [[nodiscard]] const std::vector<cluster::RedisLink*>& links() const { return links_; }

 private:
  struct Pending {
    uint64_t ticket;
    core::PublishRequest* request;
    uint64_t tag;  // its idempotency tag (0: none)
  };
  struct Feed {
    cluster::TopicFeed feed;
    uint32_t shard = 0;
    uint64_t read_token = 0;  // the read this feed waits for; 0: none
  };
  struct PendingInterest {
    std::string filter;
    bool pattern;
    bool on;
    uint32_t shard;
  };
  class Sink;

  void take(uint32_t shard, cluster::LinkEvent& event);
  void on_publish_result(uint32_t shard, const cluster::PublishResult& result);
  void on_incoming(uint32_t shard, cluster::IncomingMessage&& message);
  void on_range(cluster::RangeResult&& range);
  void on_replay_read(uint64_t storage_token, const std::string& topic,
                      cluster::RangeResult&& range);
  void on_reconnected(uint32_t shard);
  void request_interest(PendingInterest request);
  void start_feed(std::string_view topic, uint32_t shard);
  // The idempotency tag of a publish with an id: a fresh one, or the tag of the same
  // connection's publish with the same id that was answered unavailable (its retry).
  [[nodiscard]] uint64_t idempotency_tag(const core::PublishRequest::Fields& fields, bool& retry);
  void remember_unavailable(const core::PublishRequest& request, uint64_t tag);
  void forget_unfollowed_feeds();

  std::vector<cluster::RedisLink*> links_;
  const storage::HistoryRules& rules_;
  uint32_t worker_;
  Host& host_;
  WorkerCounters& counters_;
  std::string node_;  // this node's token: its own messages' publisher field
  std::vector<std::deque<Pending>> pending_;      // per shard, in ticket order
  std::vector<bool> pushed_;                      // per shard: something to submit
  common::StringMap<uint32_t> interests_;         // filter -> subscribers on this worker
  std::deque<PendingInterest> interest_backlog_;  // a full request queue: retried each tick
  common::StringMap<Feed> feeds_;
  std::unordered_map<uint64_t, std::string> reads_;  // read token -> topic
  struct ReplayRead {
    uint64_t storage_token;
    std::string topic;
  };
  std::unordered_map<uint64_t, ReplayRead> replay_reads_;  // read token -> the replay's read
  std::deque<storage::ReadResult> replay_results_;
  uint64_t read_tokens_ = 0;
  uint64_t tags_ = 0;
  common::StringMap<uint64_t> retry_tags_;  // "<connection>:<id>" answered unavailable
  std::deque<std::string> retry_order_;     // oldest first, to bound retry_tags_
  bool unfollowed_ = false;  // an interest ended: forget_unfollowed_feeds() at the next tick
};

// The links' own figures for /metrics (herald_redis_*), one series per --redis server.
[[nodiscard]] std::string render_link_metrics(const std::vector<cluster::RedisLink*>& links);

}  // namespace herald::broker::net
