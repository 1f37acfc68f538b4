// A subscription between its subscribe and the live stream (PROTOCOL.md section 9): what it
// asked for, how far the log has been replayed, and the live frames held back meanwhile.
// Plain data owned by one connection; the worker's history code (worker_history.cc) drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "broker/net/shared_buffer.h"
#include "protocol/pubsub/command.h"

namespace herald::broker::net {

// Lets tables keyed by std::string be searched with a string_view (no copy per lookup).
struct TopicHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};
template <typename Value>
using TopicMap = std::unordered_map<std::string, Value, TopicHash, std::equal_to<>>;
using TopicSet = std::unordered_set<std::string, TopicHash, std::equal_to<>>;

// Also a catch-up (the `catchup` policy): a live subscription whose queue overflowed, fed from
// the log until it meets the live stream again; it sends no recovery.
struct ReplayState {
  uint64_t token = 0;  // of the read in flight; a result with another token is stale
  protocol::pubsub::Replay start = protocol::pubsub::Replay::kNone;
  uint64_t value = 0;        // from N, last K or since ms, as asked
  std::string epoch_wanted;  // with from: the client's epoch, or empty
  std::string ack_id;        // raw JSON id to acknowledge after the recovery, or empty
  protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDrop;
  std::string filter;          // the pattern that started it, or empty (an exact topic, a catch-up)
  uint64_t group = 0;          // a pattern subscribe's ack waits for this recovery (PatternHistory)
  bool recovery_sent = false;  // the first answer came and `recovery` went out
  bool restarted = false;      // the epoch differed: replaying the whole retained history
  bool complete = true;
  bool waiting_drain = false;  // the next page waits for the send queue to drain
  uint64_t next_read = 0;      // the next sequence to take from the log
  uint64_t dropped_upto = 0;   // live frames up to this sequence were let go: read them back
  // Live frames that arrived since the subscription was registered, in sequence order.
  std::deque<SharedRef> held;
  size_t held_bytes = 0;
};

// One connection's subscriptions in replay, by exact topic.
using ReplayTable = TopicMap<ReplayState>;

// A connection's pattern subscriptions where topics have history: the topics already
// introduced with a `recovery` (a topic first seen later gets one before its first message),
// and subscribe acks that wait for the recoveries of every matching topic.
struct PatternHistory {
  struct Group {
    std::string ack_id;  // raw JSON, may be empty
    size_t remaining = 0;
    bool complete = true;
  };
  TopicSet introduced;
  std::unordered_map<uint64_t, Group> groups;
};

}  // namespace herald::broker::net
