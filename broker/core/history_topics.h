// Every topic with history the broker knows of, for pattern subscriptions to replay each
// matching topic (PROTOCOL.md section 9). Shared by the workers: owners add a topic before
// its first message is broadcast; subscribers list the topics a pattern matches. I/O-free.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace herald::broker::core {

// Thread: any; add() and matching() take one mutex. Topics are never removed, as sequences
// never restart while the broker runs.
class HistoryTopics {
 public:
  // Adds `topic` (a valid concrete topic); false when it was already there.
  bool add(std::string_view topic);
  // Appends to `out` every known topic that `filter` (a valid filter) matches.
  void matching(std::string_view filter, std::vector<std::string>& out) const;
  [[nodiscard]] size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_set<std::string> topics_;
};

}  // namespace herald::broker::core
