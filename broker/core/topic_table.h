// The topics a worker owns and each one's next sequence number (PROTOCOL.md section 6), plus
// which worker owns a topic. I/O-free; the limit on distinct topics is shared by all workers
// through one atomic count. Topics are never forgotten, so a sequence never restarts.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/string_hash.h"

namespace herald::broker::core {

// The worker (of `worker_count`) that sequences `topic`. The same on every thread.
[[nodiscard]] uint32_t owner_of(std::string_view topic, uint32_t worker_count);

// A topic and the messages it was given a sequence number for over an interval.
struct TopicRate {
  std::string topic;
  uint64_t publishes = 0;
};

// Thread: the owning worker's. `topic_count` is shared by every worker's table and must
// outlive them; `topics_max` bounds it.
class TopicTable {
 public:
  TopicTable(std::atomic<uint64_t>& topic_count, uint64_t topics_max);
  TopicTable(const TopicTable&) = delete;
  TopicTable& operator=(const TopicTable&) = delete;

  // The sequence number of the next message of `topic` (1 for the first), or 0 when the topic
  // is new and the broker already holds topics_max topics (too_many_topics).
  [[nodiscard]] uint64_t next_seq(std::string_view topic);

  // Continues `topic` after `last_seq` (from its history log at start-up), so no sequence
  // number is reused after a restart. Counts against topics_max; false when over it.
  bool continue_after(std::string_view topic, uint64_t last_seq);

  // Topics this table owns.
  [[nodiscard]] size_t size() const { return next_.size(); }

  // The `count` topics given the most sequence numbers since the previous call (busiest
  // first, ties by name; reserved "$sys" topics and idle ones left out) into `out`, which is
  // cleared. The sequence numbers are the per-topic counters, so publishing costs nothing more;
  // this call walks every topic once (the 1 Hz statistics, not the hot path).
  void take_busiest(size_t count, std::vector<TopicRate>& out);

 private:
  struct Entry {
    uint64_t seq = 0;     // the last sequence number given
    uint64_t marked = 0;  // seq at the previous take_busiest()
  };

  std::atomic<uint64_t>& topic_count_;
  const uint64_t topics_max_;
  common::StringMap<Entry> next_;
};

}  // namespace herald::broker::core
