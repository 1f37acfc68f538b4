// TopicTable: a hash map from topic to the last sequence given, with the shared topic limit.
#include "broker/core/topic_table.h"

#include <algorithm>

namespace herald::broker::core {

uint32_t owner_of(std::string_view topic, uint32_t worker_count) {
  // FNV-1a: stable across runs and threads (std::hash need not be), and cheap for short keys.
  uint64_t hash = 1469598103934665603ull;
  for (char c : topic) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ull;
  }
  return static_cast<uint32_t>(hash % worker_count);
}

TopicTable::TopicTable(std::atomic<uint64_t>& topic_count, uint64_t topics_max)
    : topic_count_(topic_count), topics_max_(topics_max) {}

uint64_t TopicTable::next_seq(std::string_view topic) {
  auto it = next_.find(topic);
  if (it != next_.end()) return ++it->second;
  // A new topic: claim one unit of the shared budget first, so concurrent owners cannot
  // together pass the limit.
  if (topic_count_.fetch_add(1, std::memory_order_relaxed) >= topics_max_) {
    topic_count_.fetch_sub(1, std::memory_order_relaxed);
    return 0;
  }
  next_.emplace(std::string(topic), 1);
  return 1;
}

bool TopicTable::continue_after(std::string_view topic, uint64_t last_seq) {
  auto it = next_.find(topic);
  if (it != next_.end()) {
    it->second = std::max(it->second, last_seq);
    return true;
  }
  if (topic_count_.fetch_add(1, std::memory_order_relaxed) >= topics_max_) {
    topic_count_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  next_.emplace(std::string(topic), last_seq);
  return true;
}

}  // namespace herald::broker::core
