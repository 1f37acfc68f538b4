// A subscription between its subscribe and the live stream (PROTOCOL.md section 9): what it
// asked for, how far the log has been replayed, and the live frames held back meanwhile.
// Plain data owned by one connection; the worker's history code (worker_history.cc) drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "broker/net/shared_buffer.h"
#include "protocol/pubsub/command.h"

namespace herald::broker::net {

// Also a catch-up (the `catchup` policy): a live subscription whose queue overflowed, fed from
// the log until it meets the live stream again; it sends no recovery.
struct ReplayState {
  uint64_t token = 0;  // of the read in flight; a result with another token is stale
  protocol::pubsub::Replay start = protocol::pubsub::Replay::kNone;
  uint64_t value = 0;        // from N, last K or since ms, as asked
  std::string epoch_wanted;  // with from: the client's epoch, or empty
  std::string ack_id;        // raw JSON id to acknowledge after the recovery, or empty
  protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDrop;
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
using ReplayTable = std::unordered_map<std::string, ReplayState>;

}  // namespace herald::broker::net
