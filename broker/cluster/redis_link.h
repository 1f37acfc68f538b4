// The link to one Redis server: a dedicated thread that owns a command connection (pipelined
// FCALLs of the `herald` function library) and a pub/sub connection, and the per-worker ports
// through which workers publish, read ranges and register interest without ever blocking.
//
// Design note (Herald issue 13, part one)
// ---------------------------------------
// Threads. One thread per Redis server. A server is a shard and a failure domain of its own:
// one that is slow or down delays only its own topics, and its reconnect backoff, handshake
// and canary live on a thread that has nothing else to do. Servers are few (one per
// --redis), so a thread each is cheap; workers never touch a socket of the link.
//
// Workers and the link. Like the storage writer (storage/storage_writer.h): each worker owns
// one RedisPort with two bounded lock-free SPSC queues, requests in and events out. A worker
// pushes, calls submit() once per loop tick (an eventfd write, only when the link sleeps), and
// is woken through its own wake function when events wait. Publish results come back in the
// order the worker submitted them (one pipelined connection answers in order). Every incoming
// message, range answer and "reconnected" notice arrives on the same queue, in the link's
// order. The link never drops an event: when a worker's queue is full it keeps the rest in an
// outbox and retries (counted in outbox_waits()).
//
// Publishing. A round's publishes go out as one FCALL herald_publish_batch (herald.lua), which
// does for each, atomically in Redis: for a retry, the idempotency lookup; the epoch check and
// the next number of the topic's sequence (each topic's state is read and written once per
// batch); XADD with the stream id "<seq>-0", trimmed by count (MAXLEN) and by age (bounded per
// call); PUBLISH "<seq> <epoch> <message>" on the topic's channel; the idempotency record. A
// topic published with count 0 keeps no stream: it still gets one global sequence and epoch
// across all nodes, and no history. Results are ok (seq, epoch) or kUnavailable: sent while
// the command connection was down, or lost with it. An unavailable publish may or may not have
// been applied; sent again with the same idempotency id and `retry`, it gets the first result
// if it was applied, and is applied now if it was not.
//
// The epoch (16 hex digits, as PROTOCOL.md's). It must change whenever Redis may have lost
// acknowledged writes, and not otherwise:
//  - herald:instance, a random token made when missing, is folded into every topic's epoch;
//    a topic's state hash remembers the instance its epoch was made under, and a publish that
//    finds another instance starts a new history (new epoch, numbers from 1, old stream gone).
//  - Restart without persistence, or eviction of herald:instance: the key is gone, a new one
//    is made, every topic gets a new epoch. Eviction of one topic's state hash (seq, epoch and
//    instance live in that one hash, so they go together): a new epoch for that topic.
//  - Failover to a replica that may have lagged: on every connect, the node reads INFO
//    replication and calls herald_hello with master_replid and master_replid2. herald:replid
//    holds the replid the nodes last saw. A master whose replid2 equals it was promoted from
//    a replica of that history: herald_hello makes a new herald:instance (every topic gets a
//    new epoch). It then stores the current replid. A restart with AOF has a new replid but
//    replid2 all zeros, so the instance (and every epoch) is kept. A clean switchover to an
//    up-to-date replica also changes epochs: safe, at the price of a `reset` for clients.
//  - Limits: a replica promoted while no node was connected to the old primary's history
//    (replid never stored) is not detected; `maxmemory-policy noeviction` is recommended.
//    herald:instance is one server-wide key: under Redis Cluster it would need one per slot.
//
// Reading history. FCALL herald_range (read-only) returns a topic's state (last seq, epoch),
// its first retained seq and a page of its stream, all in one atomic call: from a seq, the
// last N or a time (PROTOCOL.md section 9's from, last/snapshot and since), within count and
// byte limits (RangeRequest). Owners use it to answer recoveries and to repair a jump in the
// sequence numbers they receive.
//
// Subscriptions. The pub/sub connection carries SUBSCRIBE/PSUBSCRIBE for the union of the
// workers' interests, batched (every change queued in a loop round goes out as one command per
// kind), UNSUBSCRIBE when the last worker loses interest, everything again after a reconnect.
// A Herald pattern maps to a wider Redis glob (channel_pattern()); the worker's router filters.
// A worker that registered overlapping interests (a topic and a pattern matching it) receives
// such a message once per interest; its per-topic sequence check drops the repeat.
//
// Faults. A connection that fails, times out (connect, or a reply older than
// command_timeout_ms) or is cut by Redis (client-output-buffer-limit) is closed; pending
// publishes and ranges fail kUnavailable; reconnects follow capped, jittered exponential
// backoff. When both connections are back (hello done, functions loaded, everything
// resubscribed) every port gets a Reconnected event (also at the first connect): messages may
// have been missed, the owner repairs gaps with read_range().
//
// Topics with history. herald:topics holds every topic published with history; each new one
// is announced on herald:<db>:topics. A link with a topic listener subscribes to that channel
// with its others, and once both connections are up reads the whole set (SSCAN), so that
// a pattern subscribe on any node replays topics only other nodes have published.
//
// Health. Every canary_interval_ms the link publishes to its own node channel and times the
// return on its pub/sub connection. healthy() is false while either connection is down or
// while the last canary came back more than two intervals ago.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "broker/cluster/redis_config.h"
#include "protocol/common/spsc_queue.h"

namespace herald::broker::cluster {

enum class LinkStatus : uint8_t {
  kOk,
  kUnavailable,  // the server could not be reached, or the connection was lost
  kError,        // the server refused the command (error() has its text)
};

struct PublishRequest {
  std::string topic;            // a valid concrete topic
  std::string message;          // the encoded message, opaque to the link and to Redis
  uint32_t history_count = 0;   // messages retained in the stream; 0: no history
  uint64_t history_age_ms = 0;  // retained messages younger than this; 0: no age limit
  int64_t time_ms = 0;          // Unix ms, stored with the entry and used for age trimming
  std::string idempotency_id;   // unique among this link's publishes, e.g. "<worker>:<n>";
                                // empty: none (a publish that nobody will retry)
  bool retry = false;           // a retry of idempotency_id: its first result, if it has one
};

struct PublishResult {
  uint64_t ticket = 0;
  LinkStatus status = LinkStatus::kOk;
  uint64_t seq = 0;
  uint64_t epoch = 0;
  std::string error;
};

// A read of `topic`'s retained entries and its state, as the single node's history reads
// (storage::ReadRequest): one FCALL herald_range, so the state and the entries are read
// together. Where the entries start:
//  - kSeq: at from_seq (or the first retained, if later); `value` is unused;
//  - kLast: at the first of the last `value` retained entries (0: none);
//  - kTime: at the first retained entry published at or after Unix ms `value` (none when
//    every retained entry is older).
// In every mode the entries then stop after seq to_seq, after count_max entries (0: the state
// only), and before their message bytes would pass bytes_max, but always include one entry
// when one is there (so that a reader paging on from the last entry + 1 progresses).
struct RangeRequest {
  enum class RangeStart : uint8_t { kSeq, kLast, kTime };

  std::string topic;
  uint64_t from_seq = 1;
  uint64_t to_seq = UINT64_MAX;
  uint32_t count_max = 1000;
  uint64_t token = 0;  // the worker's, returned as is
  RangeStart start = RangeStart::kSeq;
  uint64_t value = 0;  // kLast: a count; kTime: Unix ms
  uint64_t bytes_max = UINT64_MAX;
};
using RangeStart = RangeRequest::RangeStart;

struct RangeEntry {
  uint64_t seq = 0;
  int64_t time_ms = 0;
  std::string message;
};

struct RangeResult {
  uint64_t token = 0;
  LinkStatus status = LinkStatus::kOk;
  uint64_t last_seq = 0;            // the topic's last number, read with the entries (0: none yet)
  uint64_t epoch = 0;               // its epoch (0: the topic has none yet)
  std::vector<RangeEntry> entries;  // ascending; a trimmed start shows as a later first seq
  std::string error;
  uint64_t first_seq = 0;  // the first retained seq, read with the entries (0: none retained)
};

// A message published on any node, for a channel this worker registered interest in.
struct IncomingMessage {
  std::string topic;
  uint64_t seq = 0;
  uint64_t epoch = 0;
  std::string message;
};

// Both connections are up (hello done, functions loaded, every interest subscribed): the first
// time (reconnects 0) and after every outage. Messages published while the link was down were
// not received: the owner compares sequence numbers and repairs with read_range().
struct Reconnected {
  uint64_t reconnects = 0;  // the link's reconnects() count at this return
};

using LinkEvent =
    std::variant<std::monostate, PublishResult, RangeResult, IncomingMessage, Reconnected>;

struct InterestRequest {
  std::string channel;  // channel_of(topic) or channel_pattern(pattern)
  bool pattern = false;
  bool on = true;
};
struct TicketedPublish {
  uint64_t ticket = 0;
  PublishRequest request;
};
using LinkRequest = std::variant<std::monostate, TicketedPublish, RangeRequest, InterestRequest>;

// The Redis channel of a topic, and a Redis glob at least as wide as a Herald pattern (up to
// its first wildcard token, then `*`). Pub/sub channels are server-wide, not per database, so
// the database is in the name: two deployments on one server's databases do not hear each
// other.
[[nodiscard]] std::string channel_prefix(uint32_t db);  // "herald:<db>:m:"
[[nodiscard]] std::string channel_of(uint32_t db, std::string_view topic);
[[nodiscard]] std::string channel_pattern(uint32_t db, std::string_view herald_pattern);

class RedisLink;

// One worker's handle on a link. Thread: every call but set_wake() is made by the one worker
// thread that owns it; set_wake() before RedisLink::start().
class RedisPort {
 public:
  // Queues a publish; returns its ticket (1, 2, 3... per port), or 0 when the queue is full
  // (the request is then left untouched).
  [[nodiscard]] uint64_t try_publish(PublishRequest&& request);
  // Queues a range read; false when the queue is full. Answered on the same connection as the
  // publishes, so it sees every publish of this port queued before it.
  [[nodiscard]] bool try_read_range(RangeRequest&& request);
  // Interest in a topic (pattern false) or a Herald pattern. Counted per port: as many offs as
  // ons remove it. False when the queue is full. It takes effect when Redis confirms the
  // SUBSCRIBE, a moment later: messages published before are not received (the owner's
  // sequence check and read_range() cover them). A node's own publishes come back to it too,
  // when it holds interest: that is how its local subscribers receive them, in Redis's order.
  [[nodiscard]] bool try_interest(std::string_view topic_or_pattern, bool pattern, bool on);
  // Wakes the link for everything queued since the last submit. Never blocks.
  void submit();
  // Takes the next event; false when none waits.
  [[nodiscard]] bool try_take(LinkEvent& out) { return events_.try_pop(out); }
  // Called on the link's thread when events wait; must not block (write an eventfd).
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

 private:
  friend class RedisLink;
  RedisPort(RedisLink& link, uint32_t capacity);

  RedisLink& link_;
  common::SpscQueue<LinkRequest> requests_;
  common::SpscQueue<LinkEvent> events_;
  std::function<void()> wake_;
  uint64_t tickets_ = 0;
  bool pushed_ = false;
};

// Thread: construction, port(), start(), stop() and the destructor on one thread; the
// metrics and healthy() from any thread.
class RedisLink {
 public:
  // `shard`: the index of `config.servers` this link serves.
  RedisLink(const RedisConfig& config, uint32_t shard, uint32_t port_count,
            uint32_t queue_capacity = 1 << 14);
  ~RedisLink();  // stop()s
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  [[nodiscard]] RedisPort& port(uint32_t index) { return *ports_.at(index); }
  // Before start(): `listener` learns the topics with history in this server (herald:topics),
  // for pattern replays: every one after each connect, and each new one as it is first
  // published. Called on the link's thread, with names as Redis holds them (unvalidated);
  // a topic may come more than once.
  void set_topic_listener(std::function<void(std::string_view)> listener) {
    topic_listener_ = std::move(listener);
  }
  // Starts the thread, which connects at once. Fails only on a bad TLS setup (CA file).
  [[nodiscard]] Status start();
  // Fails what is pending (kUnavailable), closes the connections, joins.
  void stop();

  // The database of this link's server (its channels carry it). Any thread.
  [[nodiscard]] uint32_t db() const { return config_.servers[shard_].db; }
  // This node's random token (16 hex), in its canary channel and every new epoch's seed.
  [[nodiscard]] const std::string& node_token() const { return node_token_; }

  // Any thread.
  [[nodiscard]] bool healthy() const;
  [[nodiscard]] bool connected() const { return connected_.load(std::memory_order_acquire); }
  [[nodiscard]] uint64_t round_trip_us() const { return rtt_us_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t pending_commands() const {
    return pending_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t reconnects() const { return reconnects_.load(std::memory_order_relaxed); }
  // Milliseconds since the last canary came back; UINT64_MAX before the first.
  [[nodiscard]] uint64_t canary_age_ms() const;
  [[nodiscard]] uint64_t outbox_waits() const {
    return outbox_waits_.load(std::memory_order_relaxed);
  }
  // The herald:instance the last hello returned (empty before the first): tests and logs.
  [[nodiscard]] std::string instance() const;

 private:
  friend class RedisPort;
  struct Loop;  // the thread's state (redis_link.cc)

  void run();
  void wake_link();

  RedisConfig config_;
  uint32_t shard_;
  std::function<void(std::string_view)> topic_listener_;
  std::string node_token_;
  std::vector<std::unique_ptr<RedisPort>> ports_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> canary_returned_ms_{-1};  // steady clock
  std::atomic<uint64_t> rtt_us_{0};
  std::atomic<uint64_t> pending_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> outbox_waits_{0};
  mutable std::mutex instance_mutex_;
  std::string instance_;
};

}  // namespace herald::broker::cluster
