// A worker as one of several nodes (PROTOCOL.md section 12): what its ClusterClient asks of
// it. Messages from Redis become one encoded frame per worker, fanned out as any other; gaps
// go to each subscriber of the topic; answers to its publishers. Worker 0 also reports the
// links' health to /readyz.
#include <algorithm>
#include <cassert>
#include <vector>

#include "broker/core/replay_cursor.h"
#include "broker/core/sequencer.h"
#include "broker/net/worker.h"
#include "protocol/pubsub/notice.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;

void Worker::attach_cluster(const std::vector<cluster::RedisLink*>& links,
                            const storage::HistoryRules& rules, core::HistoryTopics& topics) {
  assert(!links.empty());
  for (cluster::RedisLink* link : links) link->port(index_).set_wake([this] { wake(); });
  cluster_ = std::make_unique<ClusterClient>(links, rules, index_,
                                             static_cast<ClusterClient::Host&>(*this), counters_);
  if (!rules.uses(storage::Backend::kRedis)) return;
  // Replays read the topics' streams in Redis, through the same client.
  history_ = std::make_unique<HistoryClient>(static_cast<HistoryReads&>(*cluster_), rules, topics);
  replays_ =
      std::make_unique<Replays>(config_, counters_, *history_, static_cast<Replays::Host&>(*this));
}

void Worker::follow_replayed_topics(std::string_view pattern) {
  cluster_topics_.clear();
  history_->matching(pattern, cluster_topics_);
  for (const std::string& topic : cluster_topics_) cluster_->follow(topic);
}

bool Worker::has_subscribers(std::string_view topic) {
  probe_.clear();
  router_.match(topic, probe_);
  return !probe_.empty();
}

void Worker::deliver_clustered(std::string_view topic, uint64_t seq,
                               const cluster::ClusterMessage& message, bool own) {
  // A pattern's recovery covers the topics with history this node has seen.
  if (history_ != nullptr) (void)history_->has_history(topic, true);
  core::PublishRequest::Fields fields;
  fields.topic = topic;
  fields.payload = message.payload;
  fields.binary = message.binary;
  fields.echo = message.echo;
  // Another node's connection keys mean nothing here: no worker has that index.
  fields.reply = own ? core::ReplyAddress{message.worker, message.connection}
                     : core::ReplyAddress{UINT32_MAX, 0};
  deliver(core::Sequencer<SharedRef>::encode(fields, seq));
}

void Worker::deliver_gap(std::string_view topic, uint64_t missed) {
  notify_subscribers(topic, pubsub::Gap{topic, missed});
}

void Worker::deliver_reset(std::string_view topic, uint64_t epoch) {
  const std::string epoch_hex = core::epoch_text(epoch);
  notify_subscribers(topic, pubsub::Recovery{topic, epoch_hex, 0, 1, 1, false});
}

void Worker::notify_subscribers(std::string_view topic, const pubsub::Notice& notice) {
  probe_.clear();
  router_.match(topic, probe_);
  // One notice per connection, though a topic and a pattern may both match it.
  std::vector<uint64_t> keys;
  keys.reserve(probe_.size());
  for (const core::Subscription* match : probe_)
    keys.push_back(match->subscriber & ~core::kExactBit);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (uint64_t key : keys) {
    Connection* connection = find(key);
    if (connection == nullptr || !connection->session().can_send()) continue;
    send_notice(*connection, notice);
  }
}

void Worker::answer_clustered(core::PublishRequest* request) { on_publish_answer(request); }

void Worker::cluster_timer() {
  if (index_ != 0) return;  // one reporter is enough: the links are shared
  if (cluster_->healthy()) {
    hub_.readiness().clear(NotReady::kRedis);
  } else {
    hub_.readiness().set(NotReady::kRedis);
  }
}

}  // namespace herald::broker::net
