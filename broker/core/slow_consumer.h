// Slow-consumer logic (PROTOCOL.md section 6), free of I/O: the decision when a frame would
// push a connection over its bound, the per-topic missed counts behind `gap` messages, and
// the index of queued frames that `conflate` may replace. Bounded: each table holds at most
// kTopicsMax topics, and the caller treats a full table as a reason to stop serving.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/common/string_hash.h"
#include "protocol/pubsub/command.h"

namespace herald::broker::core {

enum class SlowDecision : uint8_t {
  kEnqueue,     // under the bound: queue the frame
  kDisconnect,  // close 1008 "slow consumer"
  kDrop,        // skip and count it for a gap
  kConflate,    // replace a queued frame of the topic if there is one, else drop
};

// `policy` must not be kDefault (the caller resolves the server default first).
[[nodiscard]] SlowDecision decide(size_t queued_bytes, size_t frame_bytes, size_t queued_bytes_max,
                                  protocol::pubsub::Policy policy);

// Messages skipped per topic for one connection. Thread: the connection's worker.
class GapTable {
 public:
  static constexpr size_t kTopicsMax = 1024;

  // Counts one more missed message of `topic`. False when the table is full and `topic` is
  // not in it: the gap can no longer be reported, so the caller disconnects.
  [[nodiscard]] bool add_missed(std::string_view topic);
  // The missed count of `topic` (0 when none), forgotten once taken.
  [[nodiscard]] uint64_t take(std::string_view topic);
  [[nodiscard]] bool empty() const { return missed_.empty(); }
  [[nodiscard]] size_t size() const { return missed_.size(); }

 private:
  common::StringMap<uint64_t> missed_;
};

// The newest queued frame per topic of one connection, for `conflate`, by its serial number in
// the send queue: an entry below the caller's `first_free` (the first one neither sent nor
// handed to a send in flight) is gone or busy, so it is trusted only at or above it.
// Thread: the connection's worker.
class ConflateIndex {
 public:
  static constexpr size_t kTopicsMax = 1024;
  static constexpr uint64_t kNone = UINT64_MAX;

  // Remembers that queue entry `serial` holds the newest frame of `topic`. When full, entries
  // below `first_free` are pruned first; if none are, nothing is recorded.
  void record(std::string_view topic, uint64_t serial, uint64_t first_free);
  // The serial of a replaceable frame of `topic`, or kNone.
  [[nodiscard]] uint64_t find(std::string_view topic, uint64_t first_free) const;
  [[nodiscard]] size_t size() const { return entries_.size(); }

 private:
  common::StringMap<uint64_t> entries_;
};

// One subscriber's slow-consumer state, created the first time a policy needs it.
struct SlowConsumerState {
  GapTable gaps;
  ConflateIndex conflate;
};

}  // namespace herald::broker::core
