// The broker's statistics on the reserved topics $sys.stats and $sys.topics (PROTOCOL.md
// section 11), published once a second when --admin-token-file is set. The StatsBoard is where
// the workers leave their part (the busiest topics they own, subscriber counts); the
// StatsPublisher turns counters and the board into the two JSON messages. Neither issues I/O
// nor publishes: the worker does (worker_stats.cc), through the ordinary publish path.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "broker/core/metrics.h"
#include "broker/core/topic_table.h"

namespace herald::broker::net {

inline constexpr std::string_view kStatsTopic = "$sys.stats";
inline constexpr std::string_view kTopicsTopic = "$sys.topics";
inline constexpr size_t kBusiestTopics = 20;

// One row of $sys.topics. `subscribers` is -1 until every worker has counted the topic (they
// count the previous second's list, so a topic new to the list shows its count a second later).
struct BusyTopic {
  std::string topic;
  uint64_t publishes = 0;
  int64_t subscribers = -1;
};

// Any thread; each call takes a mutex, once a second per worker.
class StatsBoard {
 public:
  explicit StatsBoard(uint32_t worker_count) : slots_(worker_count) {}

  // Worker `index`: the busiest topics it owns over its last second, and its subscriber
  // counts of `counted` (what watched() returned to it), in the same order.
  void post(uint32_t index, std::vector<core::TopicRate> busiest, std::vector<std::string> counted,
            std::vector<uint64_t> subscribers);
  // The topics of the last merge: each worker counts its subscribers of them.
  [[nodiscard]] std::vector<std::string> watched() const;
  // The `count` busiest topics of all workers (each topic has one owner, so this is exact
  // for the workers' last seconds), with the subscriber sums; they become watched().
  [[nodiscard]] std::vector<BusyTopic> merge(size_t count);

 private:
  struct Slot {
    std::vector<core::TopicRate> busiest;
    std::vector<std::string> counted;
    std::vector<uint64_t> subscribers;
  };
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<std::string> watched_;
};

// What the broker-wide gauges say besides the counters.
struct StatsState {
  uint64_t topics = 0;     // topics known (the --max-topics count)
  uint32_t not_ready = 0;  // the NotReady mask of /readyz
  bool history = false;    // --history rules are configured
};

// Thread: worker 0's. Keeps the previous second's counters, so rates are exact deltas over the
// measured interval rather than samples.
class StatsPublisher {
 public:
  explicit StatsPublisher(uint64_t start_ms)
      : start_ms_(start_ms), last_ms_(start_ms), last_turn_ms_(start_ms) {}

  // True (and the turn taken) once a second has nearly passed since the last turn: the
  // worker's timer ticks every 100 ms during a drain.
  [[nodiscard]] bool take_turn(uint64_t now_ms) {
    if (now_ms - last_turn_ms_ < 900) return false;
    last_turn_ms_ = now_ms;
    return true;
  }

  // The $sys.stats payload for `workers` (each worker's counters, by index) at `now_ms`
  // (monotonic) and `unix_ms`; remembers them for the next deltas.
  [[nodiscard]] std::string stats_json(const std::vector<core::WorkerMetrics>& workers,
                                       const StatsState& state, uint64_t now_ms, int64_t unix_ms);
  // The $sys.topics payload; per-second rates over the interval stats_json() last measured.
  [[nodiscard]] std::string topics_json(const std::vector<BusyTopic>& topics,
                                        int64_t unix_ms) const;

 private:
  const uint64_t start_ms_;
  uint64_t last_ms_;       // of the last stats_json()
  uint64_t last_turn_ms_;  // of the last take_turn()
  uint64_t interval_ms_ = 1000;
  std::vector<core::WorkerMetrics> last_;
};

}  // namespace herald::broker::net
