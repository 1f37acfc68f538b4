// History kept in memory: per topic a ring of the most recent messages, bounded by count and
// bytes on append and by age in enforce_retention(). Lost on restart, so every topic starts a
// new epoch in each process.
#pragma once

#include <deque>
#include <string>
#include <unordered_map>

#include "protocol/common/string_hash.h"
#include "storage/log.h"

namespace herald::storage {

class MemoryLog final : public Log {
 public:
  explicit MemoryLog(RetentionFor retention_for);

  Status append(std::span<const AppendEntry> entries, bool sync) override;
  Result<TopicState> state(std::string_view topic) override;
  Result<MessagePage> read(std::string_view topic, uint64_t from_seq, ReadLimits limits) override;
  Result<uint64_t> find_seq_at_or_after_time(std::string_view topic, int64_t time_ms) override;
  Result<uint64_t> first_of_last(std::string_view topic, uint64_t count) override;
  Result<std::vector<TopicState>> topics() override;
  Status enforce_retention(int64_t now_ms) override;

 private:
  struct Kept {
    uint64_t seq = 0;
    int64_t time_ms = 0;
    bool binary = false;
    std::string payload;
  };
  struct Topic {
    TopicState state;
    Retention retention;
    std::deque<Kept> messages;  // seq ascending
    uint64_t bytes = 0;         // payload bytes in `messages`
  };

  Topic* find(std::string_view topic);
  void trim(Topic& topic, int64_t now_ms);

  RetentionFor retention_for_;
  uint64_t next_topic_id_ = 1;
  common::StringMap<Topic> topics_;
  std::unordered_map<std::string_view, uint64_t> last_in_call_;  // append()'s, kept for reuse
};

}  // namespace herald::storage
