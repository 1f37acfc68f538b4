// The shared set of topics with history (history_topics.h).
#include "broker/core/history_topics.h"

#include "protocol/pubsub/topic.h"

namespace herald::broker::core {

bool HistoryTopics::add(std::string_view topic) {
  std::lock_guard lock(mutex_);
  return topics_.emplace(topic).second;
}

void HistoryTopics::matching(std::string_view filter, std::vector<std::string>& out) const {
  std::lock_guard lock(mutex_);
  for (const std::string& topic : topics_) {
    if (protocol::pubsub::filter_matches(filter, topic)) out.push_back(topic);
  }
}

size_t HistoryTopics::size() const {
  std::lock_guard lock(mutex_);
  return topics_.size();
}

}  // namespace herald::broker::core
