#include "broker/net/cluster_nodes.h"

#include "broker/net/worker.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::net {

common::Result<std::unique_ptr<ClusterNodes>> ClusterNodes::open(const ServerConfig& config,
                                                                 uint32_t workers) {
  if (config.redis.empty()) return {};
  std::unique_ptr<ClusterNodes> nodes(new ClusterNodes());
  for (const std::string& url : config.redis) {
    if (common::Status added = cluster::add_redis_url(nodes->config_, url); !added.is_ok()) {
      return {added, nullptr};
    }
  }
  if (!config.redis_password_file.empty()) {
    if (common::Status read =
            cluster::read_redis_password(nodes->config_, config.redis_password_file);
        !read.is_ok()) {
      return {read, nullptr};
    }
  }
  nodes->config_.tls_ca_file = config.redis_tls_ca_file;
  auto rules = storage::HistoryRules::parse(config.history);  // checked at parse time
  if (!rules.status.is_ok())
    return {common::Status::invalid_argument(rules.status.message()), nullptr};
  nodes->rules_ = std::move(rules.value);
  const auto shards = static_cast<uint32_t>(nodes->config_.servers.size());
  for (uint32_t shard = 0; shard < shards; ++shard) {
    nodes->links_.push_back(std::make_unique<cluster::RedisLink>(nodes->config_, shard, workers));
    nodes->pointers_.push_back(nodes->links_.back().get());
  }
  return {common::Status::ok(), std::move(nodes)};
}

ClusterNodes::~ClusterNodes() { stop(); }

void ClusterNodes::attach(const std::vector<std::unique_ptr<Worker>>& workers,
                          core::HistoryTopics& topics) {
  for (const std::unique_ptr<Worker>& worker : workers) {
    worker->attach_cluster(pointers_, rules_, topics);
  }
  // Topics with history that other nodes published, so that a pattern subscribe here replays
  // them too. Names come from Redis: only valid topics this node's rules keep are listed.
  for (const std::unique_ptr<cluster::RedisLink>& link : links_) {
    link->set_topic_listener([this, &topics](std::string_view topic) {
      if (protocol::pubsub::check_topic(topic) == protocol::pubsub::TopicError::kNone &&
          !protocol::pubsub::is_reserved(topic) && rules_.match(topic) != nullptr) {
        topics.add(topic);
      }
    });
  }
}

common::Status ClusterNodes::start() {
  for (const std::unique_ptr<cluster::RedisLink>& link : links_) {
    if (common::Status started = link->start(); !started.is_ok()) return started;
  }
  return common::Status::ok();
}

void ClusterNodes::stop() {
  for (const std::unique_ptr<cluster::RedisLink>& link : links_) link->stop();
}

}  // namespace herald::broker::net
