// One message's fan-out on one worker (PROTOCOL.md sections 2 and 6): the router's matches
// reduced to one target per subscriber, and per target the slow-consumer action its policy
// asks for. No I/O: subscribers are ids, their queues sit behind the Subscribers interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/core/router.h"
#include "broker/core/slow_consumer.h"
#include "protocol/pubsub/command.h"

namespace herald::broker::core {

// Set in a router SubscriberId when its filter is an exact topic: the exact subscription's
// policy wins over pattern ones. Subscriber ids themselves use at most 63 bits.
inline constexpr uint64_t kExactBit = uint64_t{1} << 63;

// One subscriber a message goes to, with the subscription whose policy applies.
struct FanOutTarget {
  uint64_t subscriber = 0;  // without kExactBit
  protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDrop;
  bool exact = false;
  uint64_t order = 0;
};

enum class FanOutAction : uint8_t {
  kEnqueue,    // queued, after a gap notice when messages of the topic were missed
  kConflate,   // replaced the topic's queued frame not yet handed to a send
  kDrop,       // skipped and counted: a gap notice precedes the topic's next message
  kDropClose,  // skipped, but the gap table is full: closed as a slow consumer
  kCatchup,    // skipped; the subscriber is fed from the log from this message on
  kClose,      // closed 1008 "slow consumer"
  kSkip,       // the subscriber can no longer be sent to (closing)
};

// What the fan-out needs from the subscribers it serves, and the actions it takes on them.
// Implemented by the worker; called on its thread during FanOut::offer().
template <typename Frame>
class Subscribers {
 public:
  [[nodiscard]] virtual bool can_send(uint64_t subscriber) = 0;
  // Bytes queued and not yet sent (with TLS, ciphertext made but not sent too).
  [[nodiscard]] virtual size_t queued_bytes(uint64_t subscriber) = 0;
  // The subscriber's slow-consumer state; with `create`, made on first use, else may be null.
  virtual SlowConsumerState* slow_state(uint64_t subscriber, bool create) = 0;
  virtual void send_gap(uint64_t subscriber, std::string_view topic, uint64_t missed) = 0;
  // Queues the frame and returns its serial in the subscriber's send queue.
  virtual uint64_t enqueue(uint64_t subscriber, const Frame& frame) = 0;
  // The first queue serial neither sent nor handed to a send in flight.
  [[nodiscard]] virtual uint64_t first_free(uint64_t subscriber) = 0;
  virtual void replace(uint64_t subscriber, uint64_t serial, const Frame& frame) = 0;
  // The catchup policy: feeds `topic` from the log from `frame` on; false without history.
  virtual bool start_catchup(uint64_t subscriber, const Frame& frame, std::string_view topic) = 0;
  // Drops the backlog and its slow-consumer state, and closes 1008 "slow consumer".
  virtual void close_slow(uint64_t subscriber) = 0;

 protected:
  ~Subscribers() = default;
};

// Thread: one worker's. Holds scratch space reused by every message.
template <typename Frame>
class FanOut {
 public:
  explicit FanOut(size_t queued_bytes_max) : queued_bytes_max_(queued_bytes_max) {}

  // One target per subscriber (PROTOCOL.md section 2), into `out` (cleared first): the policy
  // of its exact subscription, else of its earliest pattern (section 6). The Router lists
  // exact subscriptions first, at most one per subscriber, so only pattern matches need the
  // index.
  // Callers with only exact matches (!needs_targets()) may skip the copy and take each match's
  // target_of() in place: at 10,000 subscribers the copy wrote 320 KB per message.
  void targets(const std::vector<const Subscription*>& matches, std::vector<FanOutTarget>& out) {
    out.clear();
    const bool patterns = needs_targets(matches);
    if (patterns) index_.clear();
    for (const Subscription* subscription : matches) {
      const FanOutTarget target = target_of(*subscription);
      if (!patterns) {
        out.push_back(target);
        continue;
      }
      auto [it, added] = index_.try_emplace(target.subscriber, out.size());
      if (added) {
        out.push_back(target);
        continue;
      }
      FanOutTarget& kept = out[it->second];
      if (!kept.exact && (target.exact || target.order < kept.order)) kept = target;
    }
  }

  // Whether `matches` holds a pattern match, which may repeat a subscriber: only then must
  // targets() merge them. Exact matches come first and are one per subscriber.
  [[nodiscard]] static bool needs_targets(const std::vector<const Subscription*>& matches) {
    return !matches.empty() && (matches.back()->subscriber & kExactBit) == 0;
  }
  [[nodiscard]] static FanOutTarget target_of(const Subscription& subscription) {
    return FanOutTarget{subscription.subscriber & ~kExactBit, subscription.policy,
                        (subscription.subscriber & kExactBit) != 0, subscription.order};
  }

  // Sends `frame` (of `topic`, `frame_bytes` long) to `subscriber` under `policy` (resolved,
  // not kDefault), or applies the policy when it would go over the bound.
  FanOutAction offer(Subscribers<Frame>& subscribers, uint64_t subscriber, const Frame& frame,
                     size_t frame_bytes, std::string_view topic, protocol::pubsub::Policy policy) {
    using protocol::pubsub::Policy;
    if (!subscribers.can_send(subscriber)) return FanOutAction::kSkip;
    switch (decide(subscribers.queued_bytes(subscriber), frame_bytes, queued_bytes_max_, policy)) {
      case SlowDecision::kEnqueue:
        break;
      case SlowDecision::kDisconnect:
        subscribers.close_slow(subscriber);
        return FanOutAction::kClose;
      case SlowDecision::kConflate:
        if (conflate(subscribers, subscriber, frame, topic)) return FanOutAction::kConflate;
        return drop(subscribers, subscriber, topic);
      case SlowDecision::kDrop:
        if (policy == Policy::kCatchup && subscribers.start_catchup(subscriber, frame, topic)) {
          return FanOutAction::kCatchup;
        }
        return drop(subscribers, subscriber, topic);
    }
    SlowConsumerState* slow = subscribers.slow_state(subscriber, false);
    if (slow != nullptr && !slow->gaps.empty()) {
      if (uint64_t missed = slow->gaps.take(topic); missed > 0) {
        subscribers.send_gap(subscriber, topic, missed);
      }
    }
    const uint64_t serial = subscribers.enqueue(subscriber, frame);
    if (policy == Policy::kConflate) {
      slow = subscribers.slow_state(subscriber, true);
      slow->conflate.record(topic, serial, subscribers.first_free(subscriber));
    }
    return FanOutAction::kEnqueue;
  }

 private:
  bool conflate(Subscribers<Frame>& subscribers, uint64_t subscriber, const Frame& frame,
                std::string_view topic) {
    SlowConsumerState* slow = subscribers.slow_state(subscriber, false);
    if (slow == nullptr) return false;
    const uint64_t serial = slow->conflate.find(topic, subscribers.first_free(subscriber));
    if (serial == ConflateIndex::kNone) return false;
    // Not yet handed to a send: the newest value replaces the waiting one (seq jumps).
    subscribers.replace(subscriber, serial, frame);
    return true;
  }

  FanOutAction drop(Subscribers<Frame>& subscribers, uint64_t subscriber, std::string_view topic) {
    // A full gap table could no longer tell the client what it missed: stop serving it.
    if (subscribers.slow_state(subscriber, true)->gaps.add_missed(topic)) {
      return FanOutAction::kDrop;
    }
    subscribers.close_slow(subscriber);
    return FanOutAction::kDropClose;
  }

  const size_t queued_bytes_max_;
  std::unordered_map<uint64_t, size_t> index_;  // subscriber to its place in the targets
};

}  // namespace herald::broker::core
