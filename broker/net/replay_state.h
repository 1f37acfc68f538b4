// A connection's subscriptions between their subscribe and the live stream (PROTOCOL.md
// section 9): a core::ReplayCursor per topic, and what pattern subscriptions wait for.
// Plain data owned by one connection; the worker's history code (worker_history.cc) drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/core/replay_cursor.h"
#include "broker/net/shared_buffer.h"
#include "protocol/common/string_hash.h"
#include "protocol/pubsub/command.h"

namespace herald::broker::net {

// Tables by topic, searched with a string_view (no copy per lookup).
template <typename Value>
using TopicMap = common::StringMap<Value>;
using TopicSet = common::StringSet;

// A subscription between its subscribe and the live stream, or a catch-up (the `catchup`
// policy): the cursor that runs the seam, and what the worker needs around it.
struct ReplayEntry {
  core::ReplayCursor<SharedRef> cursor;
  uint64_t token = 0;  // of the read in flight; a result with another token is stale
  std::string ack_id;  // raw JSON id to acknowledge after the recovery, or empty
  protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDrop;
  std::string filter;  // the pattern that started it, or empty (an exact topic, a catch-up)
  uint64_t group = 0;  // a pattern subscribe's ack waits for this recovery (PatternHistory)
};

// One connection's subscriptions in replay, and finished ones still keeping a live floor, by
// exact topic.
using ReplayTable = TopicMap<ReplayEntry>;

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
