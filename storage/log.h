// The message-log interface every history backend implements (memory ring, RocksDB), and the
// plain types that cross it. Nothing here names a backend's own types: reads return owned
// buffers, errors are storage::Status.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/history_rules.h"
#include "storage/status.h"

namespace herald::storage {

// One message as read back. The payload views the MessagePage that holds it.
struct StoredMessage {
  uint64_t seq = 0;
  int64_t time_ms = 0;  // publish time, Unix milliseconds (set by the broker)
  bool binary = false;  // published as a binary frame, else text
  std::string_view payload;
};

// Messages read from one topic, in order, with their payloads in one buffer the page owns:
// a page of a thousand messages is two allocations, not a thousand and one, and it moves
// (through the storage worker's result ring) without copying or invalidating a payload.
class MessagePage {
 public:
  MessagePage() = default;
  MessagePage(MessagePage&&) noexcept = default;
  MessagePage& operator=(MessagePage&&) noexcept = default;
  MessagePage(const MessagePage&) = delete;
  MessagePage& operator=(const MessagePage&) = delete;

  void reserve(size_t messages, size_t payload_bytes);
  void add(uint64_t seq, int64_t time_ms, bool binary, std::string_view payload);
  void clear();

  [[nodiscard]] size_t size() const { return messages_.size(); }
  [[nodiscard]] bool empty() const { return messages_.empty(); }
  [[nodiscard]] const StoredMessage& operator[](size_t i) const { return messages_[i]; }
  [[nodiscard]] const StoredMessage& front() const { return messages_.front(); }
  [[nodiscard]] const StoredMessage& back() const { return messages_.back(); }
  [[nodiscard]] auto begin() const { return messages_.cbegin(); }
  [[nodiscard]] auto end() const { return messages_.cend(); }

 private:
  std::vector<StoredMessage> messages_;
  std::vector<char> bytes_;  // the payloads back to back, in message order
};

// One topic's history at a moment.
struct TopicState {
  std::string topic;
  uint64_t topic_id = 0;   // the log's own short id for the topic
  uint64_t epoch = 0;      // random, nonzero, chosen when the topic's history started
  uint64_t first_seq = 0;  // the first retained message, 0 when none is retained
  uint64_t last_seq = 0;   // the last message ever appended, kept even after retention
};

// One message to append. The views only need to live for the append() call.
struct AppendEntry {
  std::string_view topic;  // a valid concrete topic
  uint64_t seq = 0;        // above the topic's last_seq (gaps are allowed, reuse is not)
  int64_t time_ms = 0;
  bool binary = false;
  std::string_view payload;
};

struct ReadLimits {
  uint64_t count_max = UINT64_MAX;
  // Stop before the payload bytes would pass this, but always return at least one message
  // when one is available, so that a reader paging through the log always progresses.
  uint64_t bytes_max = UINT64_MAX;
};

// Thread: not thread-safe. One thread at a time uses a log (the storage worker); the
// constructor's thread may hand it over before the worker starts.
class Log {
 public:
  // Tells the log each topic's bounds; called on the log's thread, at most once per topic
  // per process (the log caches the answer), so it may be a rules lookup.
  using RetentionFor = std::function<Retention(std::string_view topic)>;

  virtual ~Log() = default;

  // Appends every entry in order, atomically as a group where the backend can. A topic seen
  // for the first time (or again after its history was lost) starts a new epoch. `sync`:
  // return only once the entries are on stable storage (fsync); memory logs ignore it.
  // An entry whose seq is not above its topic's last_seq fails the whole call with
  // kInvalidArgument and appends nothing.
  virtual Status append(std::span<const AppendEntry> entries, bool sync) = 0;

  // The topic's state; value.epoch == 0 when the topic has no history in this log.
  virtual Result<TopicState> state(std::string_view topic) = 0;

  // Retained messages of `topic` with seq >= from_seq, in order, within `limits`.
  virtual Result<MessagePage> read(std::string_view topic, uint64_t from_seq,
                                   ReadLimits limits) = 0;

  // The first retained seq whose message was published at or after `time_ms`, or last_seq + 1
  // when there is none. Assumes publish times do not decrease along a topic (the broker stamps
  // them in sequence order); with a clock step backwards the answer may be late by the step.
  virtual Result<uint64_t> find_seq_at_or_after_time(std::string_view topic, int64_t time_ms) = 0;

  // The seq where the topic's last `count` retained messages start: first_seq when fewer are
  // retained, last_seq + 1 when none is (or count is 0). Counts messages, not seqs, so gaps
  // in the sequence do not shorten it.
  virtual Result<uint64_t> first_of_last(std::string_view topic, uint64_t count) = 0;

  // Every topic with history, for the broker to continue sequence numbers after a restart.
  virtual Result<std::vector<TopicState>> topics() = 0;

  // Drops messages outside each topic's retention as of `now_ms`. Meant for the background:
  // the storage worker calls it between batches, never the I/O threads.
  virtual Status enforce_retention(int64_t now_ms) = 0;
};

// A random, nonzero epoch (from the OS's random source).
[[nodiscard]] uint64_t new_epoch();

// The oldest publish time an age bound of `age_ms_max` keeps at `now_ms`, saturating instead
// of overflowing for absurd bounds or clocks.
[[nodiscard]] int64_t oldest_kept_ms(int64_t now_ms, uint64_t age_ms_max);

}  // namespace herald::storage
