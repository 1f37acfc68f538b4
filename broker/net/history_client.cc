// The storage writer's queues as one worker sees them; see history_client.h.
#include "broker/net/history_client.h"

#include <cassert>
#include <utility>

#include "protocol/pubsub/topic.h"

namespace herald::broker::net {

HistoryClient::HistoryClient(storage::StorageProducer& producer, const storage::HistoryRules& rules,
                             core::HistoryTopics& topics)
    : producer_(&producer),
      storage_reads_(std::make_unique<StorageReads>(producer)),
      reads_(*storage_reads_),
      rules_(rules),
      topics_(topics) {}

HistoryClient::HistoryClient(HistoryReads& reads, const storage::HistoryRules& rules,
                             core::HistoryTopics& topics)
    : producer_(nullptr), reads_(reads), rules_(rules), topics_(topics) {}

HistoryClient::~HistoryClient() {
  // Nobody is left to answer them: their appends were never settled, or never queued.
  for (const PendingAck& ack : acks_) core::PublishRequest::destroy(ack.request);
  for (core::PublishRequest* request : held_) core::PublishRequest::destroy(request);
}

bool HistoryClient::has_history(std::string_view topic, bool owner) {
  auto it = cache_.find(topic);
  if (it == cache_.end()) {
    const bool kept = rules_.match(topic) != nullptr;
    it = cache_.emplace(std::string(topic), Cached{kept, false}).first;
  }
  if (owner && it->second.kept && !it->second.listed) {
    topics_.add(topic);
    it->second.listed = true;
  }
  return it->second.kept;
}

bool HistoryClient::may_have_history(std::string_view filter) {
  // A pattern may match topics of several rules, so only a server without rules refuses it.
  return protocol::pubsub::is_pattern(filter) || has_history(filter, false);
}

void HistoryClient::matching(std::string_view pattern, std::vector<std::string>& out) const {
  topics_.matching(pattern, out);
}

bool HistoryClient::must_wait(std::string_view topic) {
  if (producer_ == nullptr || (held_.empty() && producer_->can_append())) return false;
  return has_history(topic, true);
}

uint64_t HistoryClient::append(const core::PublishRequest::Fields& fields, uint64_t seq,
                               int64_t time_ms) {
  storage::AppendRequest request;
  request.topic = std::string(fields.topic);
  request.seq = seq;
  request.time_ms = time_ms;
  request.binary = fields.binary;
  request.payload.assign(reinterpret_cast<const char*>(fields.payload.data()),
                         fields.payload.size());
  // must_wait() said there is room, and only this thread fills the queue.
  const uint64_t ticket = producer_->try_append(std::move(request));
  assert(ticket != 0);
  return ticket;
}

void HistoryClient::hold(core::PublishRequest* request) { held_.push_back(request); }

core::PublishRequest* HistoryClient::take_held() {
  if (held_.empty() || !producer_->can_append()) return nullptr;
  core::PublishRequest* request = held_.front();
  held_.pop_front();
  return request;
}

void HistoryClient::ack_after(uint64_t ticket, core::PublishRequest* request) {
  acks_.push_back(PendingAck{ticket, request});
}

uint64_t HistoryClient::failed_appends() const {
  // Every ticket from failed_from() on fails, so the settled ones from there to done_upto()
  // are this worker's failed appends, whether or not a publisher waits.
  if (producer_ == nullptr) return 0;
  const uint64_t failed = producer_->failed_from();
  if (failed == UINT64_MAX) return 0;
  const uint64_t done = producer_->done_upto();
  return done >= failed ? done - failed + 1 : 0;
}

uint64_t HistoryClient::read(storage::ReadRequest request, ReadTarget target) {
  request.token = ++read_tokens_;
  reads_in_flight_[request.token] = std::move(target);
  if (!reads_waiting_.empty() || !reads_.try_read(std::move(request))) {
    reads_waiting_.push_back(std::move(request));
  }
  return read_tokens_;
}

bool HistoryClient::take_result(storage::ReadResult& result, ReadTarget& target) {
  while (reads_.try_take_read_result(result)) {
    auto it = reads_in_flight_.find(result.token);
    if (it == reads_in_flight_.end()) continue;
    target = std::move(it->second);
    reads_in_flight_.erase(it);
    return true;
  }
  return false;
}

void HistoryClient::submit() {
  while (!reads_waiting_.empty() && reads_.try_read(std::move(reads_waiting_.front()))) {
    reads_waiting_.pop_front();
  }
  reads_.submit();
}

}  // namespace herald::broker::net
