// A worker's client of the storage writer: which topics keep history (the rules, cached per
// topic), the appends it queues and the publishes whose acks wait for them, the publishes it
// holds while its queue is full, and the reads it sends with the subscriber each answer is
// for. It never sees a connection or issues I/O; the worker turns what it returns into
// deliveries, acks and replays (worker_history.cc). Thread: the owning worker's.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/core/history_topics.h"
#include "broker/core/publication.h"
#include "broker/net/counters.h"
#include "broker/net/history_reads.h"
#include "protocol/common/string_hash.h"
#include "storage/storage_writer.h"

namespace herald::broker::net {

class HistoryClient {
 public:
  // Where a read's answer goes: a connection key and the topic it replays.
  struct ReadTarget {
    uint64_t connection = 0;
    std::string topic;
  };

  // All three must outlive the client.
  HistoryClient(storage::StorageProducer& producer, const storage::HistoryRules& rules,
                core::HistoryTopics& topics);
  // Reads only, from `reads` (Redis, with several nodes): appends, holds and acks are the
  // cluster link's there, so must_wait() is always false and nothing is ever settled.
  HistoryClient(HistoryReads& reads, const storage::HistoryRules& rules,
                core::HistoryTopics& topics);
  ~HistoryClient();  // frees the requests still held or waiting for their append
  HistoryClient(const HistoryClient&) = delete;
  HistoryClient& operator=(const HistoryClient&) = delete;

  // Whether `topic` keeps history. `owner`: the caller sequences it, so the topic is listed
  // in HistoryTopics before its first append and broadcast; a pattern subscribe either finds
  // it there or receives that first message live (and introduces it then).
  [[nodiscard]] bool has_history(std::string_view topic, bool owner);
  // False when no topic `filter` matches can have history (a replay option has nothing to read).
  [[nodiscard]] bool may_have_history(std::string_view filter);
  // The topics with history that `pattern` matches.
  void matching(std::string_view pattern, std::vector<std::string>& out) const;

  // Appends. A message must not take a sequence number it cannot append (the seam), so the
  // owner asks first: true when `topic` keeps history and the queue is full, or publishes are
  // already held (they keep their order).
  [[nodiscard]] bool must_wait(std::string_view topic);
  // Queues the append of a message numbered `seq` (must_wait() was false). Returns its ticket.
  [[nodiscard]] uint64_t append(const core::PublishRequest::Fields& fields, uint64_t seq,
                                int64_t time_ms);
  void hold(core::PublishRequest* request);
  // The oldest held publish once there is room for its append, else null.
  [[nodiscard]] core::PublishRequest* take_held();
  [[nodiscard]] bool holding() const { return !held_.empty(); }
  // The ack of `request` waits until `ticket` is settled.
  void ack_after(uint64_t ticket, core::PublishRequest* request);
  // Every request whose append is settled, in ticket order, marked kStorageFailed when the
  // write failed; `answer(request)` takes it over.
  template <typename Answer>
  void settle(Answer&& answer) {
    if (acks_.empty()) return;
    const uint64_t done = producer_->done_upto();
    const uint64_t failed = producer_->failed_from();
    while (!acks_.empty() && acks_.front().ticket <= done) {
      PendingAck ack = acks_.front();
      acks_.pop_front();
      if (ack.ticket >= failed) ack.request->status = core::PublishRequest::Status::kStorageFailed;
      answer(ack.request);
    }
  }
  // This worker's appends that failed so far (a failure is sticky: every later ticket fails).
  [[nodiscard]] uint64_t failed_appends() const;

  // Reads: queued now, or once the read queue has room. Returns the read's token.
  uint64_t read(storage::ReadRequest request, ReadTarget target);
  // The next answered read and whom it is for; false when none is waiting. An answer whose
  // target forgot it (a new read replaced it) still comes; the caller checks the token.
  [[nodiscard]] bool take_result(storage::ReadResult& result, ReadTarget& target);

  // Once per loop tick: pushes waiting reads and wakes the writer for what was queued.
  void submit();

 private:
  struct PendingAck {
    uint64_t ticket;
    core::PublishRequest* request;
  };
  struct Cached {
    bool kept;    // a rule gives the topic history
    bool listed;  // this worker (its owner) put it in topics_
  };

  storage::StorageProducer* producer_;  // null with reads only
  std::unique_ptr<StorageReads> storage_reads_;
  HistoryReads& reads_;
  const storage::HistoryRules& rules_;
  core::HistoryTopics& topics_;
  common::StringMap<Cached> cache_;
  std::deque<PendingAck> acks_;                               // in ticket order
  std::deque<core::PublishRequest*> held_;                    // in arrival order
  std::deque<storage::ReadRequest> reads_waiting_;            // the read queue was full
  std::unordered_map<uint64_t, ReadTarget> reads_in_flight_;  // by token
  uint64_t read_tokens_ = 0;
};

}  // namespace herald::broker::net
