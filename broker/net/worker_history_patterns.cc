// Pattern subscriptions on topics with history (PROTOCOL.md section 9): each matching topic
// replays from its own position, the ack waits for every topic's recovery, and a topic first
// seen after the subscribe is introduced by a recovery before its first message. Built on
// the per-topic replay of worker_history.cc.
#include <atomic>
#include <cassert>
#include <memory>

#include "broker/net/worker.h"
#include "protocol/pubsub/encode.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;

void Worker::start_pattern_replay(Connection& connection, const pubsub::Command& command,
                                  pubsub::Policy policy) {
  // Pairs with the bump in append_history(), as for an exact topic.
  bump_seams();
  if (command.replay != pubsub::Replay::kNone) ++counters_.replays;
  pattern_topics_.clear();
  history_->matching(command.topic, pattern_topics_);
  if (connection.pubsub.pattern_history == nullptr) {
    connection.pubsub.pattern_history = std::make_unique<PatternHistory>();
  }
  PatternHistory& patterns = *connection.pubsub.pattern_history;
  uint64_t group = 0;
  if (!command.id.empty()) {
    if (pattern_topics_.empty()) {
      send_notice(connection, pubsub::SubscribeAck{command.id, true});
    } else {
      group = ++group_ids_;
      patterns.groups[group] =
          PatternHistory::Group{std::string(command.id), pattern_topics_.size(), true};
    }
  }
  for (const std::string& topic : pattern_topics_) {
    patterns.introduced.insert(topic);
    pubsub::Replay start = command.replay;
    uint64_t value = command.replay_value;
    std::string_view epoch;
    if (start == pubsub::Replay::kFrom) {
      // Topics the `from` object does not name are not replayed: they learn where live starts.
      start = pubsub::Replay::kNone;
      for (const pubsub::TopicPosition& position : command.positions) {
        if (position.topic != topic) continue;
        start = pubsub::Replay::kFrom;
        value = position.seq;
        epoch = position.epoch;
      }
    }
    begin_replay(connection, topic, start, value, epoch, {}, policy, command.topic, group);
  }
}

bool Worker::introduce_topic(Connection& connection, const SharedRef& frame, std::string_view topic,
                             pubsub::Policy policy) {
  PatternHistory& patterns = *connection.pubsub.pattern_history;
  if (patterns.introduced.contains(topic) || !history_->has_history(topic, false)) return false;
  patterns.introduced.emplace(topic);
  // A replay from this very message: the read returns the topic's epoch and state, and the
  // frame is held until the recovery has gone out.
  const uint64_t seq = core::frame_origin_read(frame.meta()).seq;
  begin_replay(connection, std::string(topic), pubsub::Replay::kFrom, seq, {}, {}, policy, {}, 0);
  [[maybe_unused]] bool held = take_for_replay(connection, frame, topic);
  assert(held);
  return true;
}

void Worker::group_recovered(Connection& connection, uint64_t group, bool complete) {
  if (connection.pubsub.pattern_history == nullptr) return;
  auto& groups = connection.pubsub.pattern_history->groups;
  auto it = groups.find(group);
  if (it == groups.end()) return;
  it->second.complete = it->second.complete && complete;
  if (--it->second.remaining > 0) return;
  send_notice(connection, pubsub::SubscribeAck{it->second.ack_id, it->second.complete});
  groups.erase(it);
}

void Worker::end_pattern_replays(Connection& connection, std::string_view filter) {
  if (connection.pubsub.replays == nullptr) return;
  for (auto it = connection.pubsub.replays->begin(); it != connection.pubsub.replays->end();) {
    // A finished replay's live floor stays: it belongs to the topic, not to the filter.
    if (it->second.filter == filter && it->second.cursor.replaying()) {
      if (it->second.group != 0 && it->second.cursor.awaits_recovery()) {
        group_recovered(connection, it->second.group, true);
      }
      it = connection.pubsub.replays->erase(it);
    } else {
      ++it;
    }
  }
  if (connection.pubsub.replays->empty()) connection.pubsub.replays.reset();
}

}  // namespace herald::broker::net
