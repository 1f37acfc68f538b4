// Replays (replays.h): subscriptions that replay the log and then join the live stream with no
// gap and no duplicate.
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
#include "broker/net/replays.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "broker/net/connection_table.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;
using storage::ReadRequest;

namespace {

constexpr uint64_t kPageCount = 1024;               // messages per history read
constexpr uint64_t kPageBytes = uint64_t{1} << 20;  // payload bytes per history read
// Live frames held per replaying topic; their bytes are bounded by --max-queued-bytes too.
constexpr size_t kHeldFramesMax = 8192;

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

void Replays::tick() {
  ReadTarget where;
  while (history_.take_result(read_result_, where)) on_read_result(read_result_, where);
  resume_draining();
}

void Replays::start(Connection& connection, const pubsub::Command& command, pubsub::Policy policy) {
  // Pairs with the bump in append_history(): see the seam above.
  host_.bump_seams();
  if (command.replay != pubsub::Replay::kNone) ++counters_.replays;
  begin(connection, std::string(command.topic), command.replay, command.replay_value, command.epoch,
        command.id, policy, {}, 0);
}

void Replays::begin(Connection& connection, const std::string& topic, pubsub::Replay start,
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

void Replays::request_read(Connection& connection, const std::string& topic, ReplayEntry& entry,
                           core::ReplayRead read) {
  ReadRequest request;
  request.topic = topic;
  request.start = read_start(read.start);
  request.value = read.value;
  request.limits.count_max = kPageCount;
  // A page at most half the connection's bound: replayed frames bypass the policy, so this is
  // what keeps a replaying connection's queue within one and a half bounds.
  request.limits.bytes_max = std::min<uint64_t>(kPageBytes, config_.max_queued_bytes / 2);
  entry.token =
      history_.read(std::move(request), ReadTarget{ConnectionTable::key_of(connection), topic});
}

void Replays::on_read_result(storage::ReadResult& result, const ReadTarget& where) {
  Connection* connection = host_.find_connection(where.connection);
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
      finish(*connection, where.topic);
      host_.command_failed(*connection, id, pubsub::ErrorCode::kStorageFailed,
                           "history read failed");
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
    enqueue_page(*connection, where.topic, step.replay_from, result.messages);
  }
  if (step.next == core::ReplayNext::kLive) {
    finish(*connection, where.topic);
  } else if (std::optional<core::ReplayRead> read =
                 entry.cursor.after_page(connection->queue().bytes())) {
    request_read(*connection, where.topic, entry, *read);
  } else {
    draining_.push_back(ReadTarget{ConnectionTable::key_of(*connection), where.topic});
  }
}

void Replays::send_recovery(Connection& connection, const std::string& topic,
                            const ReplayEntry& entry, const core::Recovery& recovery) {
  host_.send_notice(connection,
                    pubsub::Recovery{topic, core::epoch_text(recovery.epoch), recovery.first_seq,
                                     recovery.from, recovery.next, recovery.complete});
  if (entry.group != 0) {
    group_recovered(connection, entry.group, recovery.complete);
  } else if (!entry.ack_id.empty()) {
    host_.send_notice(connection, pubsub::SubscribeAck{entry.ack_id, recovery.complete});
  }
}

void Replays::finish(Connection& connection, const std::string& topic) {
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
    if (connection.pubsub.replays != nullptr && take_live(connection, frame, name)) continue;
    host_.deliver_to(connection, frame, name, policy);
  }
}

void Replays::end(Connection& connection, std::string_view topic) {
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
void Replays::enqueue_page(Connection& connection, std::string_view topic, uint64_t from,
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
  counters_.messages_delivered += count;
  counters_.replayed_messages += count;
  host_.enqueue(connection, std::move(frames));
}

bool Replays::take_live(Connection& connection, const SharedRef& frame, std::string_view topic) {
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

bool Replays::start_catchup(Connection& connection, const SharedRef& frame,
                            std::string_view topic) {
  if (!history_.has_history(topic, false)) return false;
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
  draining_.push_back(ReadTarget{ConnectionTable::key_of(connection), std::move(name)});
  ++counters_.catchups;
  return true;
}

void Replays::resume_draining() {
  for (size_t i = 0; i < draining_.size();) {
    const ReadTarget& target = draining_[i];
    Connection* connection = host_.find_connection(target.connection);
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
    draining_[i] = std::move(draining_.back());
    draining_.pop_back();
  }
}

void Replays::start_pattern(Connection& connection, const pubsub::Command& command,
                            pubsub::Policy policy) {
  // Pairs with the bump in append_history(), as for an exact topic.
  host_.bump_seams();
  if (command.replay != pubsub::Replay::kNone) ++counters_.replays;
  pattern_topics_.clear();
  history_.matching(command.topic, pattern_topics_);
  if (connection.pubsub.pattern_history == nullptr) {
    connection.pubsub.pattern_history = std::make_unique<PatternHistory>();
  }
  PatternHistory& patterns = *connection.pubsub.pattern_history;
  uint64_t group = 0;
  if (!command.id.empty()) {
    if (pattern_topics_.empty()) {
      host_.send_notice(connection, pubsub::SubscribeAck{command.id, true});
    } else {
      group = ++group_ids_;
      patterns.groups[group] =
          PatternHistory::Group{std::string(command.id), pattern_topics_.size(), true};
    }
  }
  for (const std::string& topic : pattern_topics_) {
    patterns.introduced.insert(topic);
    pubsub::Replay start = command.replay;
    uint64_t value = command.replay_value;
    std::string_view epoch;
    if (start == pubsub::Replay::kFrom) {
      // Topics the `from` object does not name are not replayed: they learn where live starts.
      start = pubsub::Replay::kNone;
      for (const pubsub::TopicPosition& position : command.positions) {
        if (position.topic != topic) continue;
        start = pubsub::Replay::kFrom;
        value = position.seq;
        epoch = position.epoch;
      }
    }
    begin(connection, topic, start, value, epoch, {}, policy, command.topic, group);
  }
}

bool Replays::introduce(Connection& connection, const SharedRef& frame, std::string_view topic,
                        pubsub::Policy policy) {
  PatternHistory& patterns = *connection.pubsub.pattern_history;
  if (patterns.introduced.contains(topic) || !history_.has_history(topic, false)) return false;
  patterns.introduced.emplace(topic);
  // A replay from this very message: the read returns the topic's epoch and state, and the
  // frame is held until the recovery has gone out.
  const uint64_t seq = core::frame_origin_read(frame.meta()).seq;
  begin(connection, std::string(topic), pubsub::Replay::kFrom, seq, {}, {}, policy, {}, 0);
  [[maybe_unused]] bool held = take_live(connection, frame, topic);
  assert(held);
  return true;
}

void Replays::group_recovered(Connection& connection, uint64_t group, bool complete) {
  if (connection.pubsub.pattern_history == nullptr) return;
  auto& groups = connection.pubsub.pattern_history->groups;
  auto it = groups.find(group);
  if (it == groups.end()) return;
  it->second.complete = it->second.complete && complete;
  if (--it->second.remaining > 0) return;
  host_.send_notice(connection, pubsub::SubscribeAck{it->second.ack_id, it->second.complete});
  groups.erase(it);
}

void Replays::end_pattern(Connection& connection, std::string_view filter) {
  if (connection.pubsub.replays == nullptr) return;
  for (auto it = connection.pubsub.replays->begin(); it != connection.pubsub.replays->end();) {
    // A finished replay's live floor stays: it belongs to the topic, not to the filter.
    if (it->second.filter == filter && it->second.cursor.replaying()) {
      if (it->second.group != 0 && it->second.cursor.awaits_recovery()) {
        group_recovered(connection, it->second.group, true);
      }
      it = connection.pubsub.replays->erase(it);
    } else {
      ++it;
    }
  }
  if (connection.pubsub.replays->empty()) connection.pubsub.replays.reset();
}

}  // namespace herald::broker::net
