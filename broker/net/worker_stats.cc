// The worker's part of the $sys statistics (PROTOCOL.md section 11): its busiest topics and
// subscriber counts once a second, and on worker 0 the two messages, published through
// route_publish so that they are sequenced, encoded once and fanned out like any other.
#include <algorithm>
#include <chrono>

#include "broker/net/worker.h"

namespace herald::broker::net {

void Worker::stats_tick() {
  if (stats_ == nullptr) stats_ = std::make_unique<StatsPublisher>(now_ms_);
  if (!stats_->take_turn(now_ms_)) return;
  StatsBoard& board = hub_.stats_board();
  topics_.take_busiest(kBusiestTopics, busiest_);
  // Subscribers of last second's busiest topics here: at most 20 matches a second. A
  // connection subscribed through several filters counts once.
  std::vector<std::string> watched = board.watched();
  std::vector<uint64_t> subscribers;
  subscribers.reserve(watched.size());
  std::vector<const core::Subscription*> matches;
  std::vector<uint64_t> connections;
  for (const std::string& topic : watched) {
    matches.clear();
    router_.match(topic, matches);
    connections.clear();
    for (const core::Subscription* match : matches) {
      connections.push_back(match->subscriber & ~core::kExactBit);
    }
    std::sort(connections.begin(), connections.end());
    subscribers.push_back(static_cast<uint64_t>(
        std::unique(connections.begin(), connections.end()) - connections.begin()));
  }
  board.post(index_, busiest_, std::move(watched), std::move(subscribers));
  if (index_ != 0) return;
  const int64_t unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  StatsState state;
  state.topics = hub_.topic_count().load(std::memory_order_relaxed);
  state.not_ready = hub_.not_ready();
  state.history = history_ != nullptr;
  publish_stats(kStatsTopic, stats_->stats_json(hub_.worker_metrics(), state, now_ms_, unix_ms));
  publish_stats(kTopicsTopic, stats_->topics_json(board.merge(kBusiestTopics), unix_ms));
}

void Worker::publish_stats(std::string_view topic, const std::string& json) {
  core::PublishRequest::Fields fields;
  fields.topic = topic;
  fields.payload = {reinterpret_cast<const uint8_t*>(json.data()), json.size()};
  fields.echo = true;                            // no publishing connection to leave out
  fields.reply = core::ReplyAddress{index_, 0};  // no id: nobody waits for an answer
  core::PublishRequest::Status status = core::PublishRequest::Status::kPending;
  uint64_t seq = 0;
  // At the topic limit the statistics are refused like any new topic; nothing else to do.
  (void)route_publish(fields, status, seq);
}

}  // namespace herald::broker::net
