// The in-memory ring per topic. Count and bytes bounds are applied on append, so memory never
// grows past them; age is applied by enforce_retention(), which the storage worker runs.
#include "storage/memory_log.h"

#include <algorithm>

namespace herald::storage {
namespace {}  // namespace

MemoryLog::MemoryLog(RetentionFor retention_for) : retention_for_(std::move(retention_for)) {}

MemoryLog::Topic* MemoryLog::find(std::string_view topic) {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : &it->second;
}

Status MemoryLog::append(std::span<const AppendEntry> entries, bool /*sync*/) {
  // Validate first, so that a bad entry appends nothing (the interface's all-or-nothing).
  // Entries of one topic must rise within the call as well as above what is stored.
  std::unordered_map<std::string_view, uint64_t>& last_in_call = last_in_call_;
  last_in_call.clear();
  for (const AppendEntry& entry : entries) {
    auto [it, inserted] = last_in_call.try_emplace(entry.topic, 0);
    if (inserted) {
      const Topic* topic = find(entry.topic);
      it->second = topic ? topic->state.last_seq : 0;
    }
    if (entry.seq <= it->second) {
      return Status::invalid_argument("seq " + std::to_string(entry.seq) + " of " +
                                      std::string(entry.topic) + " is not above " +
                                      std::to_string(it->second));
    }
    it->second = entry.seq;
  }
  for (const AppendEntry& entry : entries) {
    auto it = topics_.find(entry.topic);
    if (it == topics_.end()) {
      Topic fresh;
      fresh.state.topic = entry.topic;
      fresh.state.topic_id = next_topic_id_++;
      fresh.state.epoch = new_epoch();
      fresh.retention = retention_for_(entry.topic);
      it = topics_.emplace(std::string(entry.topic), std::move(fresh)).first;
    }
    Topic& topic = it->second;
    topic.messages.push_back(
        Kept{entry.seq, entry.time_ms, entry.binary, std::string(entry.payload)});
    topic.bytes += entry.payload.size();
    topic.state.last_seq = entry.seq;
    trim(topic, INT64_MIN);
  }
  return Status::ok();
}

// Drops the oldest messages past the topic's bounds; `now_ms` INT64_MIN skips the age bound.
void MemoryLog::trim(Topic& topic, int64_t now_ms) {
  const Retention& bounds = topic.retention;
  auto too_many = [&] {
    if (topic.messages.empty()) return false;
    if (bounds.count_max && topic.messages.size() > bounds.count_max) return true;
    if (bounds.bytes_max && topic.bytes > bounds.bytes_max) return true;
    return bounds.age_ms_max && now_ms != INT64_MIN &&
           topic.messages.front().time_ms < oldest_kept_ms(now_ms, bounds.age_ms_max);
  };
  while (too_many()) {
    topic.bytes -= topic.messages.front().payload.size();
    topic.messages.pop_front();
  }
  topic.state.first_seq = topic.messages.empty() ? 0 : topic.messages.front().seq;
}

Result<TopicState> MemoryLog::state(std::string_view topic) {
  const Topic* found = find(topic);
  if (!found) return {};
  return {Status::ok(), found->state};
}

Result<MessagePage> MemoryLog::read(std::string_view topic, uint64_t from_seq, ReadLimits limits) {
  Result<MessagePage> result;
  const Topic* found = find(topic);
  if (!found) return result;
  const auto& messages = found->messages;
  auto it = std::lower_bound(messages.begin(), messages.end(), from_seq,
                             [](const Kept& m, uint64_t seq) { return m.seq < seq; });
  // Sized first, so that the page is filled with one allocation for each of its vectors.
  auto end = it;
  uint64_t count = 0;
  uint64_t bytes = 0;
  for (; end != messages.end() && count < limits.count_max; ++end, ++count) {
    if (bytes + end->payload.size() > limits.bytes_max && count > 0) break;
    bytes += end->payload.size();
  }
  result.value.reserve(count, bytes);
  for (; it != end; ++it) result.value.add(it->seq, it->time_ms, it->binary, it->payload);
  return result;
}

Result<uint64_t> MemoryLog::find_seq_at_or_after_time(std::string_view topic, int64_t time_ms) {
  const Topic* found = find(topic);
  if (!found) return {Status::ok(), 1};
  const auto& messages = found->messages;
  auto it = std::lower_bound(messages.begin(), messages.end(), time_ms,
                             [](const Kept& m, int64_t t) { return m.time_ms < t; });
  return {Status::ok(), it == messages.end() ? found->state.last_seq + 1 : it->seq};
}

Result<uint64_t> MemoryLog::first_of_last(std::string_view topic, uint64_t count) {
  const Topic* found = find(topic);
  if (!found) return {Status::ok(), 1};
  const auto& messages = found->messages;
  if (count == 0 || messages.empty()) return {Status::ok(), found->state.last_seq + 1};
  return {Status::ok(), messages[messages.size() > count ? messages.size() - count : 0].seq};
}

Result<std::vector<TopicState>> MemoryLog::topics() {
  Result<std::vector<TopicState>> result;
  result.value.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) result.value.push_back(topic.state);
  return result;
}

Status MemoryLog::enforce_retention(int64_t now_ms) {
  for (auto& [name, topic] : topics_) trim(topic, now_ms);
  return Status::ok();
}

}  // namespace herald::storage
