// One message's fan-out as plain calls: one target per subscriber with the exact policy
// winning, then per policy at the bound: enqueue, gap notice before the next message,
// conflate, catch-up, drop with a full gap table, disconnect, and subscribers that are closing.
#include "broker/core/fan_out.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace herald::broker::core {
namespace {

using protocol::pubsub::Policy;
using Frame = int;  // the fan-out only passes frames on

// Subscribers whose queues are counters and logs.
class FakeSubscribers final : public Subscribers<Frame> {
 public:
  struct Subscriber {
    size_t queued_bytes = 0;
    bool can_send = true;
    bool history = false;  // start_catchup() succeeds
    std::unique_ptr<SlowConsumerState> slow;
    std::vector<std::string> log;     // what it was sent, in order
    std::map<uint64_t, Frame> queue;  // by serial
    uint64_t first_free = 0;
  };
  bool can_send(uint64_t id) override { return at(id).can_send; }
  size_t queued_bytes(uint64_t id) override { return at(id).queued_bytes; }
  SlowConsumerState* slow_state(uint64_t id, bool create) override {
    if (create && at(id).slow == nullptr) at(id).slow = std::make_unique<SlowConsumerState>();
    return at(id).slow.get();
  }
  void send_gap(uint64_t id, std::string_view topic, uint64_t missed) override {
    std::string entry = "gap ";
    entry.append(topic).append(" ").append(std::to_string(missed));
    at(id).log.push_back(std::move(entry));
  }
  uint64_t enqueue(uint64_t id, const Frame& frame) override {
    at(id).log.push_back("frame " + std::to_string(frame));
    const uint64_t serial = next_serial_++;
    at(id).queue[serial] = frame;
    return serial;
  }
  uint64_t first_free(uint64_t id) override { return at(id).first_free; }
  void replace(uint64_t id, uint64_t serial, const Frame& frame) override {
    at(id).queue[serial] = frame;
    at(id).log.push_back("replace " + std::to_string(frame));
  }
  bool start_catchup(uint64_t id, const Frame& frame, std::string_view) override {
    if (at(id).history) at(id).log.push_back("catchup " + std::to_string(frame));
    return at(id).history;
  }
  void close_slow(uint64_t id) override {
    at(id).log.push_back("close");
    at(id).can_send = false;
  }
  Subscriber& at(uint64_t id) { return subscribers_[id]; }

 private:
  std::map<uint64_t, Subscriber> subscribers_;
  uint64_t next_serial_ = 0;
};

constexpr size_t kBound = 100;

TEST(FanOutTest, OneTargetPerSubscriberTheExactPolicyWins) {
  FanOut<Frame> fan_out(kBound);
  std::vector<Subscription> subscriptions = {
      {1 | kExactBit, Policy::kDisconnect, 5},
      {2 | kExactBit, Policy::kDrop, 6},
      {1, Policy::kConflate, 1},
      {3, Policy::kConflate, 9},
      {3, Policy::kCatchup, 2},
      {4, Policy::kDrop, 3},
  };
  std::vector<const Subscription*> matches;
  for (const Subscription& subscription : subscriptions) matches.push_back(&subscription);
  std::vector<FanOutTarget> targets;
  fan_out.targets(matches, targets);
  ASSERT_EQ(targets.size(), 4u);
  EXPECT_EQ(targets[0].subscriber, 1u);
  EXPECT_EQ(targets[0].policy, Policy::kDisconnect);
  EXPECT_TRUE(targets[0].exact);
  EXPECT_EQ(targets[1].subscriber, 2u);
  EXPECT_EQ(targets[2].subscriber, 3u);
  EXPECT_EQ(targets[2].policy, Policy::kCatchup);  // the earliest pattern
  EXPECT_FALSE(targets[2].exact);
  EXPECT_EQ(targets[3].subscriber, 4u);

  matches.resize(2);  // exact ones only: no index needed, still one each
  fan_out.targets(matches, targets);
  EXPECT_EQ(targets.size(), 2u);
}

TEST(FanOutTest, DroppedMessagesAreCountedInTheNextGapNotice) {
  FanOut<Frame> fan_out(kBound);
  FakeSubscribers subscribers;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 10, 60, "t", Policy::kDrop), FanOutAction::kEnqueue);
  subscribers.at(1).queued_bytes = 60;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 11, 60, "t", Policy::kDrop), FanOutAction::kDrop);
  EXPECT_EQ(fan_out.offer(subscribers, 1, 12, 60, "t", Policy::kDrop), FanOutAction::kDrop);
  subscribers.at(1).queued_bytes = 0;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 13, 60, "t", Policy::kDrop), FanOutAction::kEnqueue);
  EXPECT_EQ(fan_out.offer(subscribers, 1, 14, 60, "t", Policy::kDrop), FanOutAction::kEnqueue);
  EXPECT_EQ(subscribers.at(1).log,
            (std::vector<std::string>{"frame 10", "gap t 2", "frame 13", "frame 14"}));
}

TEST(FanOutTest, ConflateReplacesTheQueuedFrameOfTheTopic) {
  FanOut<Frame> fan_out(kBound);
  FakeSubscribers subscribers;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 10, 60, "t", Policy::kConflate), FanOutAction::kEnqueue);
  subscribers.at(1).queued_bytes = 60;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 11, 60, "t", Policy::kConflate), FanOutAction::kConflate);
  EXPECT_EQ(subscribers.at(1).queue[0], 11);
  // Handed to a send: nothing to replace, so it is dropped and told as a gap.
  subscribers.at(1).first_free = 1;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 12, 60, "t", Policy::kConflate), FanOutAction::kDrop);
  // Another topic has no queued frame at all.
  EXPECT_EQ(fan_out.offer(subscribers, 1, 13, 60, "u", Policy::kConflate), FanOutAction::kDrop);
}

TEST(FanOutTest, CatchupNeedsHistoryElseDrops) {
  FanOut<Frame> fan_out(kBound);
  FakeSubscribers subscribers;
  subscribers.at(1).queued_bytes = 90;
  subscribers.at(1).history = true;
  subscribers.at(2).queued_bytes = 90;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 10, 60, "t", Policy::kCatchup), FanOutAction::kCatchup);
  EXPECT_EQ(fan_out.offer(subscribers, 2, 10, 60, "t", Policy::kCatchup), FanOutAction::kDrop);
  EXPECT_EQ(subscribers.at(1).log, std::vector<std::string>{"catchup 10"});
}

TEST(FanOutTest, DisconnectAndAFullGapTableClose) {
  FanOut<Frame> fan_out(kBound);
  FakeSubscribers subscribers;
  subscribers.at(1).queued_bytes = 90;
  EXPECT_EQ(fan_out.offer(subscribers, 1, 10, 60, "t", Policy::kDisconnect), FanOutAction::kClose);
  EXPECT_EQ(fan_out.offer(subscribers, 1, 11, 60, "t", Policy::kDisconnect), FanOutAction::kSkip);
  EXPECT_EQ(subscribers.at(1).log, std::vector<std::string>{"close"});

  subscribers.at(2).queued_bytes = 90;
  for (size_t i = 0; i < GapTable::kTopicsMax; ++i) {
    const std::string topic = "t." + std::to_string(i);
    ASSERT_EQ(fan_out.offer(subscribers, 2, 1, 60, topic, Policy::kDrop), FanOutAction::kDrop);
  }
  EXPECT_EQ(fan_out.offer(subscribers, 2, 1, 60, "one.more", Policy::kDrop),
            FanOutAction::kDropClose);
  EXPECT_EQ(subscribers.at(2).log, std::vector<std::string>{"close"});
}

}  // namespace
}  // namespace herald::broker::core
