// A worker's side of history (PROTOCOL.md section 9): appends queued to the storage writer
// before their frame is broadcast, acks held until the append is durable, and subscriptions
// that replay the log and then join the live stream with no gap and no duplicate.
//
// The seam. An owner queues a message's append before it checks which workers have
// subscriptions and broadcasts the frame. A subscribe registers in the Router (raising this
// worker's subscription gauge) before it queues its read. Between the two, each side bumps
// the owner's seam counter (Hub::bump_seam), so one side happens before the other: every
// message is either in what the read returns or reaches this worker as a live frame after
// the registration, which holds it. When the read is answered the replayed messages go out,
// then the held frames from the next sequence on, duplicates dropped by sequence. Pages are
// read while the send queue drains; held frames are bounded and, past the bound, let go and
// read back from the log instead. The rules live in core::ReplayCursor; this file carries out
// its actions (reads, recoveries, replayed pages, held frames released live).
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>

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

int64_t wall_clock_ms() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

uint64_t frame_seq(const SharedRef& frame) { return core::frame_origin_read(frame.meta()).seq; }

core::ReplayLimits replay_limits(const ServerConfig& config) {
  return core::ReplayLimits{config.max_queued_bytes, kHeldFramesMax};
}

ReadRequest::Start read_start(core::ReadStart start) {
  switch (start) {
    case core::ReadStart::kSeq:
      return ReadRequest::Start::kSeq;
    case core::ReadStart::kLast:
      return ReadRequest::Start::kLast;
    case core::ReadStart::kTime:
      break;
  }
  return ReadRequest::Start::kTime;
}

core::ReplayPage page_of(const storage::ReadResult& result) {
  core::ReplayPage page;
  page.ok = result.status.is_ok();
  page.epoch = result.state.epoch;
  page.first_seq = result.state.first_seq;
  page.last_seq = result.state.last_seq;
  if (!result.messages.empty()) {
    page.front_seq = result.messages.front().seq;
    page.back_seq = result.messages.back().seq;
  }
  return page;
}

}  // namespace

void Worker::attach_storage(storage::StorageProducer& producer, const storage::HistoryRules& rules,
                            core::HistoryTopics& topics) {
  history_ = std::make_unique<HistoryClient>(producer, rules, topics);
}

bool Worker::continue_topic(std::string_view topic, uint64_t last_seq) {
  return sequencer_.continue_after(topic, last_seq);
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
  if (!history_->has_history(fields.topic, true)) return 0;
  const uint64_t ticket = history_->append(fields, seq, wall_clock_ms());
  // Pairs with the bump in start_replay(): see the seam above.
  hub_.bump_seam(index_);
  return ticket;
}

// Back-pressure. A full storage queue means the disk is behind by a whole queue. The owner
// must neither broadcast a message whose append is not queued (the seam) nor wait for the
// disk on the loop, which serves every other connection. So it holds the topic's publishes,
// in order, behind the first that found the queue full, and says so in the Hub; the workers
// of their publishers stop reading those connections (each has sent at most what one receive
// held) and POST /publish answers 503 with Retry-After. Each tick the owner sequences what now
// fits; once none is held it clears the flag and wakes every worker to read again.

bool Worker::must_wait_for_storage(std::string_view topic) {
  return history_ != nullptr && history_->must_wait(topic);
}

void Worker::hold_publish(core::PublishRequest* request) {
  if (!history_->holding()) hub_.set_storage_busy(index_, true);
  history_->hold(request);
  ++counters_.publishes_held;
}

void Worker::release_held_publishes() {
  if (!history_->holding()) return;
  while (core::PublishRequest* request = history_->take_held()) sequence_request(request);
  if (!history_->holding()) {
    hub_.set_storage_busy(index_, false);
    channels_.wake_all();
  }
}

bool Worker::storage_busy(std::string_view topic) {
  if (history_ == nullptr) return false;
  return hub_.storage_busy(core::owner_of(topic, hub_.worker_count())) &&
         history_->has_history(topic, false);
}

void Worker::pause_if_storage_busy(Connection& connection, std::string_view topic) {
  if (connection.io.storage_paused || !storage_busy(topic)) return;
  connection.io.storage_paused = true;
  storage_paused_.push_back(
      StoragePause{key_of(connection), core::owner_of(topic, hub_.worker_count())});
  ++counters_.storage_pauses;
  stop_recv(connection);
}

void Worker::resume_storage_paused() {
  std::erase_if(storage_paused_, [this](const StoragePause& pause) {
    if (hub_.storage_busy(pause.owner)) return false;
    if (Connection* connection = find(pause.connection); connection != nullptr) {
      connection->io.storage_paused = false;
      if (wants_recv(*connection)) submit_recv(*connection);
    }
    return true;
  });
}

void Worker::answer_publish(core::PublishRequest* request) {
  if (request->reply().worker == index_) {
    on_publish_answer(request);
    return;
  }
  push_item(request->reply().worker, ChannelItem{ChannelItem::Kind::kAnswer, request});
}

void Worker::storage_tick() {
  if (history_ == nullptr) return;
  release_held_publishes();
  resume_storage_paused();
  history_->submit();
  if (uint64_t failed = history_->failed_appends(); failed != 0) {
    counters_.storage_failures.set(failed);
    if (!storage_failure_logged_) {
      // Publishers see storage_failed and 503, but the operator would see nothing: say it
      // once. The storage's own reason is in RocksDB's LOG under --data-dir.
      storage_failure_logged_ = true;
      std::fprintf(stderr,
                   "herald: error: worker %u: a history write failed; messages to topics with "
                   "history are still delivered live but no longer stored or acknowledged "
                   "until a restart (check the disk and the LOG file in --data-dir)\n",
                   index_);
    }
  }
  history_->settle([this](core::PublishRequest* request) { answer_publish(request); });
  ReadTarget where;
  while (history_->take_result(read_result_, where)) on_read_result(read_result_, where);
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
  if (connection.pubsub.replays == nullptr)
    connection.pubsub.replays = std::make_unique<ReplayTable>();
  ReplayTable& replays = *connection.pubsub.replays;
  // A replay this one replaces will never send its recovery: its group must not wait for it.
  if (auto it = replays.find(topic);
      it != replays.end() && it->second.group != 0 && it->second.cursor.awaits_recovery()) {
    group_recovered(connection, it->second.group, true);
  }
  core::ReplayCursor<SharedRef> cursor(replay_limits(config_), start, value, std::string(epoch));
  const core::ReplayRead first = cursor.first_read();
  ReplayEntry& entry =
      replays
          .insert_or_assign(topic, ReplayEntry{std::move(cursor), 0, std::string(ack_id), policy,
                                               std::string(filter), group})
          .first->second;
  request_read(connection, topic, entry, first);
}

void Worker::request_read(Connection& connection, const std::string& topic, ReplayEntry& entry,
                          core::ReplayRead read) {
  ReadRequest request;
  request.topic = topic;
  request.start = read_start(read.start);
  request.value = read.value;
  request.limits.count_max = kPageCount;
  // A page at most half the connection's bound: replayed frames bypass the policy, so this is
  // what keeps a replaying connection's queue within one and a half bounds.
  request.limits.bytes_max = std::min<uint64_t>(kPageBytes, config_.max_queued_bytes / 2);
  entry.token = history_->read(std::move(request), ReadTarget{key_of(connection), topic});
}

void Worker::on_read_result(storage::ReadResult& result, const ReadTarget& where) {
  Connection* connection = find(where.connection);
  if (connection == nullptr || connection->io.phase != Connection::Phase::kActive ||
      connection->pubsub.replays == nullptr) {
    return;
  }
  auto it = connection->pubsub.replays->find(where.topic);
  if (it == connection->pubsub.replays->end() || it->second.token != result.token ||
      !it->second.cursor.replaying() || it->second.cursor.waiting_drain()) {
    return;  // stale
  }
  ReplayEntry& entry = it->second;
  const bool awaited_recovery = entry.cursor.awaits_recovery();
  const core::PageStep step = entry.cursor.on_page(page_of(result));
  switch (step.next) {
    case core::ReplayNext::kFailed: {
      // The log cannot be read: say so, and let the subscription go live as it is.
      const std::string id = entry.ack_id;
      if (entry.group != 0 && awaited_recovery) group_recovered(*connection, entry.group, false);
      finish_replay(*connection, where.topic);
      command_failed(*connection, id, pubsub::ErrorCode::kStorageFailed, "history read failed");
      return;
    }
    case core::ReplayNext::kRead:
      request_read(*connection, where.topic, entry, step.read);
      return;
    case core::ReplayNext::kLive:
    case core::ReplayNext::kMore:
      break;
  }
  if (step.recovery) send_recovery(*connection, where.topic, entry, *step.recovery);
  if (step.replay_from != 0) {
    enqueue_replayed(*connection, where.topic, step.replay_from, result.messages);
  }
  if (step.next == core::ReplayNext::kLive) {
    finish_replay(*connection, where.topic);
  } else if (std::optional<core::ReplayRead> read =
                 entry.cursor.after_page(connection->queue().bytes())) {
    request_read(*connection, where.topic, entry, *read);
  } else {
    replays_draining_.push_back(ReadTarget{key_of(*connection), where.topic});
  }
}

void Worker::send_recovery(Connection& connection, const std::string& topic,
                           const ReplayEntry& entry, const core::Recovery& recovery) {
  send_notice(connection,
              pubsub::Recovery{topic, core::epoch_text(recovery.epoch), recovery.first_seq,
                               recovery.from, recovery.next, recovery.complete});
  if (entry.group != 0) {
    group_recovered(connection, entry.group, recovery.complete);
  } else if (!entry.ack_id.empty()) {
    send_notice(connection, pubsub::SubscribeAck{entry.ack_id, recovery.complete});
  }
}

void Worker::finish_replay(Connection& connection, const std::string& topic) {
  auto it = connection.pubsub.replays->find(topic);
  assert(it != connection.pubsub.replays->end());
  // The entry stays, keeping the live floor (core::ReplayCursor): frames the owner had in
  // flight when the read came back are dropped when they arrive.
  std::deque<SharedRef> released = it->second.cursor.take_released();
  const pubsub::Policy policy = it->second.policy;
  const std::string name = it->first;
  // From here on the subscription is live: held frames go through its policy like any other.
  // If that policy starts a catch-up on one of them, the rest belong to the new catch-up.
  for (const SharedRef& frame : released) {
    if (connection.pubsub.replays != nullptr && take_for_replay(connection, frame, name)) continue;
    deliver_to(connection, frame, name, policy);
  }
}

void Worker::end_replay(Connection& connection, std::string_view topic) {
  if (connection.pubsub.replays == nullptr) return;
  auto it = connection.pubsub.replays->find(topic);
  if (it != connection.pubsub.replays->end()) {
    if (it->second.group != 0 && it->second.cursor.awaits_recovery()) {
      group_recovered(connection, it->second.group, true);
    }
    connection.pubsub.replays->erase(it);
  }
  if (connection.pubsub.replays->empty()) connection.pubsub.replays.reset();
}

// The page's messages from `from` on, as the same frames a live subscriber got, but encoded
// back to back into one buffer that only this connection sends: one allocation and one queue
// entry per page rather than per message.
void Worker::enqueue_replayed(Connection& connection, std::string_view topic, uint64_t from,
                              const storage::MessagePage& page) {
  size_t bytes = 0;
  uint64_t count = 0;
  for (const storage::StoredMessage& message : page) {
    if (message.seq < from) continue;
    bytes +=
        pubsub::message_frame_bytes(topic, message.seq, message.payload.size(), message.binary);
    ++count;
  }
  if (count == 0) return;
  SharedRef frames = SharedRef::allocate(bytes);
  uint8_t* out = frames.mutable_bytes().data();
  for (const storage::StoredMessage& message : page) {
    if (message.seq < from) continue;
    const auto* payload = reinterpret_cast<const uint8_t*>(message.payload.data());
    out += pubsub::encode_message_frame(out, topic, message.seq, {payload, message.payload.size()},
                                        message.binary);
  }
  assert(out == frames.mutable_bytes().data() + bytes);
  connection.enqueue(std::move(frames), context_);
  counters_.messages_delivered += count;
  counters_.replayed_messages += count;
  schedule_flush(connection);
}

bool Worker::take_for_replay(Connection& connection, const SharedRef& frame,
                             std::string_view topic) {
  auto it = connection.pubsub.replays->find(topic);
  if (it == connection.pubsub.replays->end()) return false;
  switch (it->second.cursor.on_live(frame_seq(frame), frame.bytes().size(), frame)) {
    case core::LiveAction::kHold:
    case core::LiveAction::kLetGo:
    case core::LiveAction::kDuplicate:
      return true;
    case core::LiveAction::kDeliver:
      break;
  }
  // Past its floor: the cursor is done. No table at all once nothing is left: deliveries test
  // only the pointer.
  connection.pubsub.replays->erase(it);
  if (connection.pubsub.replays->empty()) connection.pubsub.replays.reset();
  return false;
}

bool Worker::start_catchup(Connection& connection, const SharedRef& frame, std::string_view topic) {
  if (history_ == nullptr || !history_->has_history(topic, false)) return false;
  if (connection.pubsub.replays == nullptr)
    connection.pubsub.replays = std::make_unique<ReplayTable>();
  std::string name(topic);
  // This frame is the first the subscriber misses; it is in the log (appended before it was
  // broadcast), so it is not held: the log gives it back once the queue has drained.
  connection.pubsub.replays->insert_or_assign(
      name,
      ReplayEntry{core::ReplayCursor<SharedRef>::catch_up(replay_limits(config_), frame_seq(frame)),
                  0,
                  {},
                  pubsub::Policy::kCatchup,
                  {},
                  0});
  replays_draining_.push_back(ReadTarget{key_of(connection), std::move(name)});
  ++counters_.catchups;
  return true;
}

void Worker::resume_draining_replays() {
  for (size_t i = 0; i < replays_draining_.size();) {
    const ReadTarget& target = replays_draining_[i];
    Connection* connection = find(target.connection);
    ReplayEntry* entry = nullptr;
    if (connection != nullptr && connection->pubsub.replays != nullptr) {
      auto it = connection->pubsub.replays->find(target.topic);
      if (it != connection->pubsub.replays->end() && it->second.cursor.waiting_drain()) {
        entry = &it->second;
      }
    }
    if (entry != nullptr) {
      std::optional<core::ReplayRead> read = entry->cursor.on_drained(connection->queue().bytes());
      if (!read) {
        ++i;
        continue;
      }
      request_read(*connection, target.topic, *entry, *read);
    }
    replays_draining_[i] = std::move(replays_draining_.back());
    replays_draining_.pop_back();
  }
}

}  // namespace herald::broker::net
