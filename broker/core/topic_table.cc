// TopicTable: a hash map from topic to the last sequence given, with the shared topic limit.
#include "broker/core/topic_table.h"

#include <algorithm>

#include "protocol/pubsub/topic.h"

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
  if (it != next_.end()) return ++it->second.seq;
  // A new topic: claim one unit of the shared budget first, so concurrent owners cannot
  // together pass the limit.
  if (topic_count_.fetch_add(1, std::memory_order_relaxed) >= topics_max_) {
    topic_count_.fetch_sub(1, std::memory_order_relaxed);
    return 0;
  }
  next_.emplace(std::string(topic), Entry{1, 0});
  return 1;
}

bool TopicTable::continue_after(std::string_view topic, uint64_t last_seq) {
  auto it = next_.find(topic);
  if (it != next_.end()) {
    it->second.seq = std::max(it->second.seq, last_seq);
    it->second.marked = std::max(it->second.marked, last_seq);
    return true;
  }
  if (topic_count_.fetch_add(1, std::memory_order_relaxed) >= topics_max_) {
    topic_count_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  next_.emplace(std::string(topic), Entry{last_seq, last_seq});  // restored, not published
  return true;
}

void TopicTable::take_busiest(size_t count, std::vector<TopicRate>& out) {
  out.clear();
  if (count == 0) return;
  struct Candidate {
    uint64_t publishes;
    std::string_view topic;
  };
  // Busier first; among equals, the name decides, so the list is stable from one second to
  // the next.
  auto busier = [](const Candidate& a, const Candidate& b) {
    return a.publishes != b.publishes ? a.publishes > b.publishes : a.topic < b.topic;
  };
  std::vector<Candidate> heap;  // the `count` best so far, the worst of them at the front
  heap.reserve(count + 1);
  for (auto& [topic, entry] : next_) {
    const uint64_t publishes = entry.seq - entry.marked;
    entry.marked = entry.seq;
    if (publishes == 0 || protocol::pubsub::is_reserved(topic)) continue;
    heap.push_back(Candidate{publishes, topic});
    std::push_heap(heap.begin(), heap.end(), busier);
    if (heap.size() > count) {
      std::pop_heap(heap.begin(), heap.end(), busier);
      heap.pop_back();
    }
  }
  std::sort(heap.begin(), heap.end(), busier);
  for (const Candidate& candidate : heap) {
    out.push_back(TopicRate{std::string(candidate.topic), candidate.publishes});
  }
}

}  // namespace herald::broker::core
