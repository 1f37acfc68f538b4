// A node's links to its --redis servers (PROTOCOL.md section 12): made from the configuration,
// one per server, each worker given its port on every link, started before the workers serve
// and stopped before they end. Thread: the server's (start-up and shutdown only).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "broker/cluster/redis_config.h"
#include "broker/cluster/redis_link.h"
#include "broker/core/history_topics.h"
#include "broker/net/config.h"
#include "protocol/common/status.h"
#include "storage/history_rules.h"

namespace herald::broker::net {

class Worker;

class ClusterNodes {
 public:
  // Null (and ok) without --redis. Fails with one line: a bad password file, for example.
  [[nodiscard]] static common::Result<std::unique_ptr<ClusterNodes>> open(
      const ServerConfig& config, uint32_t workers);
  ~ClusterNodes();  // stop()s

  // Before the workers start. `topics` (the topics with history seen, for pattern
  // recoveries) outlives the workers.
  void attach(const std::vector<std::unique_ptr<Worker>>& workers, core::HistoryTopics& topics);
  // Connects in the background; /readyz fails until every server answers (worker 0's timer).
  [[nodiscard]] common::Status start();
  // Fails what is pending (unavailable), closes the connections.
  void stop();
  [[nodiscard]] size_t size() const { return links_.size(); }

 private:
  ClusterNodes() = default;

  cluster::RedisConfig config_;
  storage::HistoryRules rules_;  // the redis rules, read by every worker
  std::vector<std::unique_ptr<cluster::RedisLink>> links_;
  std::vector<cluster::RedisLink*> pointers_;
};

}  // namespace herald::broker::net
