// A worker's side of history (PROTOCOL.md section 9): appends queued to the storage writer
// before their frame is broadcast, acks held until the append is durable, and subscriptions
// that replay the log and then join the live stream with no gap and no duplicate.
//
// The seam. An owner queues a message's append before it checks which workers have
// subscriptions and broadcasts the frame. A subscribe registers in the Router (raising this
// worker's subscription gauge) before it queues its read. Between the two, each side bumps
// the owner's seam counter (Hub::bump_seam), so one side happens before the other: every
// message is either in what the read returns or reaches this worker as a live frame after
// the registration, which holds it (ReplayState::held). When the read is answered the
// replayed messages go out, then the held frames from the next sequence on, duplicates
// dropped by sequence. Pages are read while the send queue drains; held frames are bounded
// and, past the bound, let go and read back from the log instead.
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdio>
#include <memory>

#include "broker/net/worker.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;
using storage::ReadRequest;

namespace {

constexpr uint64_t kPageCount = 1024;               // messages per history read
constexpr uint64_t kPageBytes = uint64_t{1} << 20;  // payload bytes per history read
// Live frames held per replaying topic; their bytes are bounded by --max-queued-bytes too.
constexpr size_t kHeldFramesMax = 8192;
constexpr char kNoEpoch[] = "0000000000000000";  // a topic whose history has not started

int64_t wall_clock_ms() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

std::string epoch_text(uint64_t epoch) {
  if (epoch == 0) return kNoEpoch;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 15; i >= 0; --i, epoch >>= 4) text[static_cast<size_t>(i)] = kHex[epoch & 15];
  return text;
}

uint64_t frame_seq(const SharedRef& frame) { return core::frame_origin_read(frame.meta()).seq; }

}  // namespace

void Worker::attach_storage(storage::StorageProducer& producer, const storage::HistoryRules& rules,
                            core::HistoryTopics& topics) {
  storage_ = &producer;
  history_rules_ = &rules;
  history_topics_ = &topics;
}

bool Worker::continue_topic(std::string_view topic, uint64_t last_seq) {
  return topics_.continue_after(topic, last_seq);
}

void Worker::bump_seams() {
  for (uint32_t worker = 0; worker < hub_.worker_count(); ++worker) hub_.bump_seam(worker);
}

void Worker::wake() {
  uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still wakes the read, so the result does not matter.
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof(one));
}

// Appends and acks.

uint64_t Worker::append_history(const core::PublishRequest::Fields& fields, uint64_t seq) {
  if (!has_history(fields.topic, true)) return 0;
  storage::AppendRequest request;
  request.topic = std::string(fields.topic);
  request.seq = seq;
  request.time_ms = wall_clock_ms();
  request.binary = fields.binary;
  request.payload.assign(reinterpret_cast<const char*>(fields.payload.data()),
                         fields.payload.size());
  uint64_t ticket = storage_->try_append(std::move(request));
  // A full queue means the disk is behind by a whole queue: wait for it here rather than
  // broadcast a frame whose append is not queued (the seam) or grow without bound.
  while (ticket == 0) {
    storage_->submit();
    sched_yield();
    ticket = storage_->try_append(std::move(request));
  }
  // Pairs with the bump in start_replay(): see the seam above.
  hub_.bump_seam(index_);
  return ticket;
}

void Worker::answer_publish(core::PublishRequest* request) {
  if (request->reply().worker == index_) {
    on_publish_answer(request);
    return;
  }
  push_item(request->reply().worker, ChannelItem{ChannelItem::Kind::kAnswer, request});
}

void Worker::settle_acks() {
  if (acks_waiting_.empty()) return;
  const uint64_t done = storage_->done_upto();
  const uint64_t failed = storage_->failed_from();
  while (!acks_waiting_.empty() && acks_waiting_.front().ticket <= done) {
    PendingAck ack = acks_waiting_.front();
    acks_waiting_.pop_front();
    if (ack.ticket >= failed) ack.request->status = core::PublishRequest::Status::kStorageFailed;
    answer_publish(ack.request);
  }
}

// A failure is sticky: every ticket from failed_from() on fails, so the settled ones from
// there to done_upto() are this worker's failed appends, whether or not a publisher waits.
void Worker::count_storage_failures() {
  const uint64_t failed = storage_->failed_from();
  if (failed == UINT64_MAX) return;
  const uint64_t done = storage_->done_upto();
  counters_.storage_failures.set(done >= failed ? done - failed + 1 : 0);
  if (!storage_failure_logged_) {
    // Publishers see storage_failed and 503, but the operator would see nothing: say it once.
    // The storage's own reason is in RocksDB's LOG under --data-dir.
    storage_failure_logged_ = true;
    std::fprintf(stderr,
                 "herald: error: worker %u: a history write failed; messages to topics with "
                 "history are still delivered live but no longer stored or acknowledged until "
                 "a restart (check the disk and the LOG file in --data-dir)\n",
                 index_);
  }
}

void Worker::storage_tick() {
  if (storage_ == nullptr) return;
  while (!reads_waiting_.empty() && storage_->try_read(std::move(reads_waiting_.front()))) {
    reads_waiting_.pop_front();
  }
  storage_->submit();
  count_storage_failures();
  settle_acks();
  while (storage_->try_take_read_result(read_result_)) on_read_result(read_result_);
  resume_draining_replays();
}

// Replay.

void Worker::start_replay(Connection& connection, const pubsub::Command& command,
                          pubsub::Policy policy) {
  // Pairs with the bump in append_history(): see the seam above.
  bump_seams();
  if (command.replay != pubsub::Replay::kNone) ++counters_.replays;
  begin_replay(connection, std::string(command.topic), command.replay, command.replay_value,
               command.epoch, command.id, policy, {}, 0);
}

void Worker::begin_replay(Connection& connection, const std::string& topic, pubsub::Replay start,
                          uint64_t value, std::string_view epoch, std::string_view ack_id,
                          pubsub::Policy policy, std::string_view filter, uint64_t group) {
  if (connection.replays_ == nullptr) connection.replays_ = std::make_unique<ReplayTable>();
  ReplayState& state = (*connection.replays_)[topic];
  // A replay this one replaces will never send its recovery: its group must not wait for it.
  if (state.group != 0 && !state.recovery_sent) group_recovered(connection, state.group, true);
  state = ReplayState{};
  state.start = start;
  state.value = value;
  state.epoch_wanted = std::string(epoch);
  state.ack_id = std::string(ack_id);
  state.policy = policy;
  state.filter = std::string(filter);
  state.group = group;
  switch (start) {
    case pubsub::Replay::kFrom:
      request_read(connection, topic, state, ReadRequest::Start::kSeq,
                   std::max<uint64_t>(value, 1));
      return;
    case pubsub::Replay::kLast:
      request_read(connection, topic, state, ReadRequest::Start::kLast, value);
      return;
    case pubsub::Replay::kSince:
      request_read(connection, topic, state, ReadRequest::Start::kTime, value);
      return;
    case pubsub::Replay::kSnapshot:
      request_read(connection, topic, state, ReadRequest::Start::kLast, 1);
      return;
    case pubsub::Replay::kNone:
      break;
  }
  // The topic's state only: its epoch and where live messages start.
  request_read(connection, topic, state, ReadRequest::Start::kLast, 0);
}

void Worker::request_read(Connection& connection, const std::string& topic, ReplayState& state,
                          ReadRequest::Start start, uint64_t value) {
  ReadRequest request;
  request.topic = topic;
  request.start = start;
  request.value = value;
  request.limits.count_max = kPageCount;
  // A page at most half the connection's bound: replayed frames bypass the policy, so this is
  // what keeps a replaying connection's queue within one and a half bounds.
  request.limits.bytes_max = std::min<uint64_t>(kPageBytes, config_.max_queued_bytes / 2);
  request.token = ++read_tokens_;
  state.token = request.token;
  reads_in_flight_[request.token] = ReadTarget{key_of(connection), topic};
  if (!reads_waiting_.empty() || !storage_->try_read(std::move(request))) {
    reads_waiting_.push_back(std::move(request));
  }
}

void Worker::on_read_result(storage::ReadResult& result) {
  auto target = reads_in_flight_.find(result.token);
  if (target == reads_in_flight_.end()) return;
  const ReadTarget where = std::move(target->second);
  reads_in_flight_.erase(target);
  Connection* connection = find(where.connection);
  if (connection == nullptr || connection->phase_ != Connection::Phase::kActive ||
      connection->replays_ == nullptr) {
    return;
  }
  auto it = connection->replays_->find(where.topic);
  if (it == connection->replays_->end() || it->second.token != result.token) return;  // stale
  ReplayState& state = it->second;
  if (!result.status.is_ok()) {
    // The log cannot be read: say so, and let the subscription go live as it is.
    std::string id = state.ack_id;
    if (state.group != 0 && !state.recovery_sent) {
      group_recovered(*connection, state.group, false);
    }
    finish_replay(*connection, where.topic);
    command_failed(*connection, id, pubsub::ErrorCode::kStorageFailed, "history read failed");
    return;
  }
  if (!state.recovery_sent) {
    const std::string epoch = epoch_text(result.state.epoch);
    if (state.start == pubsub::Replay::kFrom && !state.epoch_wanted.empty() &&
        state.epoch_wanted != epoch) {
      // The client's position belongs to another history: replay all that is retained.
      state.complete = false;
      if (!state.restarted && result.state.epoch != 0) {
        state.restarted = true;
        request_read(*connection, where.topic, state, ReadRequest::Start::kSeq, 0);
        return;
      }
    }
    send_recovery(*connection, where.topic, state, result);
  }
  continue_replay(*connection, where.topic, state, result);
}

void Worker::send_recovery(Connection& connection, const std::string& topic, ReplayState& state,
                           const storage::ReadResult& result) {
  const storage::TopicState& log = result.state;
  const uint64_t next = log.last_seq + 1;
  const uint64_t from = result.messages.empty() ? next : result.messages.front().seq;
  if (state.start == pubsub::Replay::kFrom && !state.restarted) {
    // Complete when the replay starts at the position asked for (or nothing is asked for
    // yet): not when it was trimmed or never retained, nor when it falls in the numbers a
    // crash made the log skip (messages delivered live but never written).
    const uint64_t wanted = std::max<uint64_t>(state.value, 1);
    if (wanted < next && from > wanted) state.complete = false;
  }
  const std::string epoch = epoch_text(log.epoch);
  send_text(connection,
            pubsub::encode_recovery({topic, epoch, log.first_seq, from, next, state.complete}));
  state.recovery_sent = true;
  if (state.group != 0) {
    group_recovered(connection, state.group, state.complete);
  } else if (!state.ack_id.empty()) {
    send_text(connection, pubsub::encode_subscribe_ack(state.ack_id, state.complete));
  }
  state.next_read = from;
}

void Worker::continue_replay(Connection& connection, const std::string& topic, ReplayState& state,
                             const storage::ReadResult& result) {
  enqueue_replayed(connection, topic, state, result.messages);
  const uint64_t log_last = result.state.last_seq;
  const bool log_done = result.messages.empty() || result.messages.back().seq >= log_last;
  // Retention may have trimmed what the previous page would have led to: what the log no
  // longer has, it cannot give.
  if (log_done) state.next_read = std::max(state.next_read, log_last + 1);
  while (!state.held.empty() && frame_seq(state.held.front()) < state.next_read) {
    state.held_bytes -= state.held.front().bytes().size();
    state.held.pop_front();
  }
  // Live frames let go on overflow are in the log: they must have been read back.
  const bool covered = state.next_read > state.dropped_upto;
  const bool joined =
      state.held.empty() ? log_done : frame_seq(state.held.front()) <= state.next_read;
  if (covered && joined) {
    finish_replay(connection, topic);
    return;
  }
  if (connection.queue_.bytes() >= config_.max_queued_bytes) {
    state.waiting_drain = true;
    replays_draining_.push_back(ReadTarget{key_of(connection), topic});
    return;
  }
  request_read(connection, topic, state, ReadRequest::Start::kSeq, state.next_read);
}

void Worker::finish_replay(Connection& connection, const std::string& topic) {
  auto it = connection.replays_->find(topic);
  assert(it != connection.replays_->end());
  std::deque<SharedRef> held = std::move(it->second.held);
  const uint64_t next = it->second.next_read;
  const pubsub::Policy policy = it->second.policy;
  const std::string name = it->first;
  connection.replays_->erase(it);
  set_live_floor(connection, name, next);
  // No table at all once nothing replays: deliveries test only the pointer.
  if (connection.replays_->empty()) connection.replays_.reset();
  // From here on the subscription is live: held frames go through its policy like any other.
  // If that policy starts a catch-up on one of them, the rest belong to the new catch-up.
  for (const SharedRef& frame : held) {
    if (frame_seq(frame) < next) continue;
    if (connection.replays_ != nullptr && connection.replays_->contains(name)) {
      [[maybe_unused]] bool held_again = hold_if_replaying(connection, frame, name);
      assert(held_again);
      continue;
    }
    deliver_to(connection, frame, name, policy);
  }
}

// The read may come back with messages whose live frames the owner has queued for this worker
// but this worker has not taken yet (the owner queues the append before it broadcasts, and a
// worker may take a read result before the channel items of the same tick). Those frames
// arrive after the replay finished; the floor drops them.
void Worker::set_live_floor(Connection& connection, const std::string& topic, uint64_t floor) {
  if (connection.live_floors_ == nullptr) {
    connection.live_floors_ = std::make_unique<TopicMap<uint64_t>>();
  }
  (*connection.live_floors_)[topic] = floor;
}

bool Worker::below_live_floor(Connection& connection, std::string_view topic, uint64_t seq) {
  auto it = connection.live_floors_->find(topic);
  if (it == connection.live_floors_->end()) return false;
  if (seq < it->second) return true;
  // The owner broadcasts in sequence order: nothing below the floor can follow this frame.
  connection.live_floors_->erase(it);
  if (connection.live_floors_->empty()) connection.live_floors_.reset();
  return false;
}

void Worker::end_replay(Connection& connection, std::string_view topic) {
  if (connection.live_floors_ != nullptr) {
    if (auto it = connection.live_floors_->find(topic); it != connection.live_floors_->end()) {
      connection.live_floors_->erase(it);
      if (connection.live_floors_->empty()) connection.live_floors_.reset();
    }
  }
  if (connection.replays_ == nullptr) return;
  auto it = connection.replays_->find(topic);
  if (it != connection.replays_->end()) {
    if (it->second.group != 0 && !it->second.recovery_sent) {
      group_recovered(connection, it->second.group, true);
    }
    connection.replays_->erase(it);
  }
  if (connection.replays_->empty()) connection.replays_.reset();
}

// The page's messages from state.next_read on, as the same frames a live subscriber got, but
// encoded back to back into one buffer that only this connection sends: one allocation and
// one queue entry per page rather than per message.
void Worker::enqueue_replayed(Connection& connection, std::string_view topic, ReplayState& state,
                              const storage::MessagePage& page) {
  size_t bytes = 0;
  uint64_t count = 0;
  for (const storage::StoredMessage& message : page) {
    if (message.seq < state.next_read) continue;
    bytes +=
        pubsub::message_frame_bytes(topic, message.seq, message.payload.size(), message.binary);
    ++count;
  }
  if (count == 0) return;
  SharedRef frames = SharedRef::allocate(bytes);
  uint8_t* out = frames.mutable_bytes().data();
  for (const storage::StoredMessage& message : page) {
    if (message.seq < state.next_read) continue;
    const auto* payload = reinterpret_cast<const uint8_t*>(message.payload.data());
    out += pubsub::encode_message_frame(out, topic, message.seq, {payload, message.payload.size()},
                                        message.binary);
    state.next_read = message.seq + 1;
  }
  assert(out == frames.mutable_bytes().data() + bytes);
  connection.enqueue(std::move(frames), context_);
  counters_.messages_delivered += count;
  counters_.replayed_messages += count;
  schedule_flush(connection);
}

bool Worker::hold_if_replaying(Connection& connection, const SharedRef& frame,
                               std::string_view topic) {
  auto it = connection.replays_->find(topic);
  if (it == connection.replays_->end()) return false;
  ReplayState& state = it->second;
  const size_t bytes = frame.bytes().size();
  if (state.held.size() >= kHeldFramesMax || state.held_bytes + bytes > config_.max_queued_bytes) {
    // Let them go: they are in the log, and the replay reads on until it has passed them.
    state.dropped_upto = frame_seq(frame);
    state.held.clear();
    state.held_bytes = 0;
    return true;
  }
  state.held.push_back(frame);
  state.held_bytes += bytes;
  return true;
}

bool Worker::start_catchup(Connection& connection, const SharedRef& frame, std::string_view topic) {
  if (storage_ == nullptr || !has_history(topic, false)) return false;
  if (connection.replays_ == nullptr) connection.replays_ = std::make_unique<ReplayTable>();
  std::string name(topic);
  ReplayState& state = (*connection.replays_)[name];
  state = ReplayState{};
  state.recovery_sent = true;  // the client already knows this topic: no new recovery
  state.policy = pubsub::Policy::kCatchup;
  // This frame is the first the subscriber misses; it is in the log (appended before it was
  // broadcast), so it is not held: the log gives it back once the queue has drained.
  const uint64_t seq = frame_seq(frame);
  state.next_read = seq;
  state.dropped_upto = seq;
  state.waiting_drain = true;
  replays_draining_.push_back(ReadTarget{key_of(connection), std::move(name)});
  ++counters_.catchups;
  return true;
}

void Worker::resume_draining_replays() {
  for (size_t i = 0; i < replays_draining_.size();) {
    const ReadTarget& target = replays_draining_[i];
    Connection* connection = find(target.connection);
    ReplayState* state = nullptr;
    if (connection != nullptr && connection->replays_ != nullptr) {
      auto it = connection->replays_->find(target.topic);
      if (it != connection->replays_->end() && it->second.waiting_drain) state = &it->second;
    }
    if (state != nullptr && connection->queue_.bytes() >= config_.max_queued_bytes / 2) {
      ++i;
      continue;
    }
    if (state != nullptr) {
      state->waiting_drain = false;
      request_read(*connection, target.topic, *state, ReadRequest::Start::kSeq, state->next_read);
    }
    replays_draining_[i] = std::move(replays_draining_.back());
    replays_draining_.pop_back();
  }
}

}  // namespace herald::broker::net
