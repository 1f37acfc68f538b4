// The pub/sub side of a worker: commands from its connections (PROTOCOL.md section 3), and
// carrying out what core::Sequencer and core::FanOut decide for the topics it owns and the
// frames its subscribers get (section 6). No I/O is issued here.
#include <algorithm>
#include <cassert>
#include <memory>

#include "broker/core/fan_out.h"
#include "broker/core/sequencer.h"
#include "broker/core/slow_consumer.h"
#include "broker/net/worker.h"
#include "protocol/pubsub/encode.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;

namespace {

constexpr uint8_t kBadCommandsMax = 16;  // PROTOCOL.md section 4
// Connection keys use 56 bits at most (24-bit generation, slot): core::kExactBit is free.
static_assert(core::kExactBit == uint64_t{1} << 63);

std::span<const uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

// Commands.

void Worker::on_command(Connection& connection, std::span<const uint8_t> payload, bool binary) {
  pubsub::ParseResult result = binary ? parser_.parse_binary(payload) : parser_.parse_text(payload);
  if (!result.ok) {
    command_failed(connection, result.error_id, result.error, result.error_text);
    return;
  }
  if (!permit_command(connection, result.command)) return;
  switch (result.command.op) {
    case pubsub::Op::kSubscribe:
      subscribe(connection, result.command);
      return;
    case pubsub::Op::kUnsubscribe:
      unsubscribe(connection, result.command);
      return;
    case pubsub::Op::kPublish:
      publish(connection, result.command);
      return;
    case pubsub::Op::kAuth:
      authenticate(connection, result.command);
      return;
  }
}

void Worker::subscribe(Connection& connection, const pubsub::Command& command) {
  std::vector<std::string>& filters = connection.pubsub.subscriptions;
  auto it = std::find(filters.begin(), filters.end(), command.topic);
  bool is_new = it == filters.end();
  if (is_new && filters.size() >= config_.max_subscriptions) {
    counters_.count_refusal(core::Refusal::kSubscriptions);
    command_failed(connection, command.id, pubsub::ErrorCode::kTooManySubscriptions,
                   "the connection is at its subscription limit");
    return;
  }
  if (command.replay != pubsub::Replay::kNone &&
      (history_ == nullptr || !history_->may_have_history(command.topic))) {
    command_failed(connection, command.id, pubsub::ErrorCode::kNoHistory,
                   "no history is kept for this topic");
    return;
  }
  pubsub::Policy policy =
      command.policy == pubsub::Policy::kDefault ? config_.slow_consumer_policy : command.policy;
  // Subscribing again replaces the policy (the Router keeps one entry per filter).
  router_.subscribe(command.topic, subscriber_id(connection, command.topic), policy);
  if (is_new) {
    filters.emplace_back(command.topic);
    if (cluster_ != nullptr) cluster_->interest(command.topic, true);
  }
  counters_.subscriptions.set(router_.subscription_count());
  connection.io.bad_commands = 0;
  if (history_ != nullptr && pubsub::is_pattern(command.topic)) {
    if (cluster_ != nullptr) follow_replayed_topics(command.topic);
    replays_->end_pattern(connection, command.topic);
    replays_->start_pattern(connection, command, policy);  // the ack follows the recoveries
    return;
  }
  if (history_ != nullptr && history_->has_history(command.topic, false)) {
    replays_->start(connection, command, policy);  // the ack follows the recovery
    return;
  }
  if (replays_ != nullptr)
    replays_->end(connection, command.topic);  // a subscription's options were replaced
  if (!command.id.empty()) send_notice(connection, pubsub::Ack{command.id});
}

void Worker::unsubscribe(Connection& connection, const pubsub::Command& command) {
  std::vector<std::string>& filters = connection.pubsub.subscriptions;
  auto it = std::find(filters.begin(), filters.end(), command.topic);
  if (it == filters.end()) {
    command_failed(connection, command.id, pubsub::ErrorCode::kNotSubscribed,
                   "not subscribed to this topic");
    return;
  }
  [[maybe_unused]] bool removed =
      router_.unsubscribe(command.topic, subscriber_id(connection, command.topic));
  assert(removed);
  if (pubsub::is_pattern(command.topic)) {
    if (replays_ != nullptr) replays_->end_pattern(connection, command.topic);
  } else if (replays_ != nullptr) {
    replays_->end(connection, command.topic);
  }
  if (cluster_ != nullptr) cluster_->interest(command.topic, false);
  *it = std::move(filters.back());
  filters.pop_back();
  counters_.subscriptions.set(router_.subscription_count());
  connection.io.bad_commands = 0;
  if (!command.id.empty()) send_notice(connection, pubsub::Ack{command.id});
}

void Worker::publish(Connection& connection, const pubsub::Command& command) {
  connection.io.bad_commands = 0;
  core::PublishRequest::Fields fields;
  fields.topic = command.topic;
  fields.id = command.id;
  fields.payload = as_bytes(command.data);
  fields.binary = command.binary;
  fields.echo = command.echo;
  fields.reply = core::ReplyAddress{index_, key_of(connection)};
  core::PublishRequest::Status status = core::PublishRequest::Status::kPending;
  uint64_t seq = 0;
  const bool answered = route_publish(fields, status, seq);
  pause_if_storage_busy(connection, command.topic);
  if (!answered) return;  // the owner answers later
  if (status == core::PublishRequest::Status::kTooManyTopics) {
    counters_.count_refusal(core::Refusal::kTopics);
    command_failed(connection, command.id, pubsub::ErrorCode::kTooManyTopics,
                   "the broker is at its topic limit");
  } else if (!command.id.empty()) {
    send_notice(connection, pubsub::Ack{command.id, true, seq});
  }
}

void Worker::command_failed(Connection& connection, std::string_view id, pubsub::ErrorCode code,
                            std::string_view text) {
  ++counters_.command_errors;
  send_notice(connection, pubsub::Error{id, code, text});
  // The topic limit and the disk are the broker's state, not the client's mistake; a
  // rate-limited publish is well-formed, and its cost is already bounded by the bucket.
  if (code == pubsub::ErrorCode::kTooManyTopics || code == pubsub::ErrorCode::kStorageFailed ||
      code == pubsub::ErrorCode::kRateLimited || code == pubsub::ErrorCode::kUnavailable) {
    return;
  }
  if (++connection.io.bad_commands >= kBadCommandsMax && connection.session().can_send()) {
    counters_.count_refusal(core::Refusal::kBadCommands);
    close_websocket(connection, core::CloseReason::kBadCommands);
  }
}

void Worker::send_notice(Connection& connection, const pubsub::Notice& notice) {
  connection.send_notice(notice);
  schedule_flush(connection);
}

void Worker::drop_subscriptions(Connection& connection) {
  if (connection.pubsub.subscriptions.empty()) return;
  for (const std::string& filter : connection.pubsub.subscriptions) {
    router_.unsubscribe(filter, subscriber_id(connection, filter));
    if (cluster_ != nullptr) cluster_->interest(filter, false);
  }
  std::vector<std::string>().swap(connection.pubsub.subscriptions);
  connection.pubsub.replays.reset();
  connection.pubsub.pattern_history.reset();
  counters_.subscriptions.set(router_.subscription_count());
}

uint64_t Worker::subscriber_id(const Connection& connection, std::string_view filter) {
  return key_of(connection) | (pubsub::is_pattern(filter) ? 0 : core::kExactBit);
}

// Sequencing.

bool Worker::route_publish(const core::PublishRequest::Fields& fields,
                           core::PublishRequest::Status& status, uint64_t& seq) {
  if (cluster_ != nullptr && !pubsub::is_reserved(fields.topic)) {
    cluster_->publish(fields);  // numbered in Redis; every node's copy comes back from there
    return false;
  }
  uint32_t owner = core::owner_of(fields.topic, hub_.worker_count());
  if (owner != index_) {
    push_item(owner,
              ChannelItem{ChannelItem::Kind::kPublish, core::PublishRequest::create(fields)});
    return false;
  }
  if (must_wait_for_storage(fields.topic)) {
    hold_publish(core::PublishRequest::create(fields));
    return false;
  }
  uint64_t ticket = 0;
  seq = sequence(fields, ticket);
  status = seq == 0 ? core::PublishRequest::Status::kTooManyTopics
                    : core::PublishRequest::Status::kSequenced;
  bool wants_answer = fields.origin == core::PublishRequest::Origin::kHttp || !fields.id.empty();
  if (ticket != 0 && wants_answer) {
    // Acknowledged only once durable in the topic's mode (PROTOCOL.md section 9).
    core::PublishRequest* request = core::PublishRequest::create(fields);
    request->seq = seq;
    request->status = status;
    history_->ack_after(ticket, request);
    return false;
  }
  return true;
}

uint64_t Worker::sequence(const core::PublishRequest::Fields& fields, uint64_t& ticket) {
  core::Sequencer<SharedRef>::Sequenced sequenced =
      sequencer_.sequence(fields, [&](uint64_t seq) -> uint64_t {
        return history_ != nullptr ? append_history(fields, seq) : 0;
      });
  ticket = sequenced.ticket;
  if (sequenced.seq == 0) return 0;
  ++counters_.messages_published;
  for (uint32_t peer = 0; peer < hub_.worker_count(); ++peer) {
    if (peer == index_ || !hub_.has_subscriptions(peer)) continue;
    SharedRef reference = sequenced.frame;
    push_item(peer, ChannelItem{ChannelItem::Kind::kFrame, reference.detach()});
  }
  deliver(sequenced.frame);
  return sequenced.seq;
}

// Fan-out.

void Worker::deliver(const SharedRef& frame) {
  if (router_.empty()) return;
  core::FrameOrigin origin = core::frame_origin_read(frame.meta());
  matches_.clear();
  router_.match(origin.topic, matches_);
  if (matches_.empty()) return;
  const bool skip_publisher = !origin.echo && origin.publisher.worker == index_;
  // Every match may take a reference: buy them in one atomic add, return the rest in one.
  PrepaidRefs prepaid(frame, static_cast<uint32_t>(matches_.size()));
  prepaid_ = &prepaid;
  struct Reset {
    Worker& worker;
    ~Reset() { worker.prepaid_ = nullptr; }
  } reset{*this};
  auto deliver_target = [&](const core::FanOutTarget& target) {
    if (skip_publisher && target.subscriber == origin.publisher.connection) return;
    Connection* connection = find(target.subscriber);
    assert(connection != nullptr && "a released connection keeps no subscription");
    if (connection->pubsub.replays != nullptr &&
        replays_->take_live(*connection, frame, origin.topic)) {
      return;
    }
    if (!target.exact && connection->pubsub.pattern_history != nullptr &&
        replays_->introduce(*connection, frame, origin.topic, target.policy)) {
      return;
    }
    deliver_to(*connection, frame, origin.topic, target.policy);
  };
  if (!core::FanOut<SharedRef>::needs_targets(matches_)) {
    // Thousands of connections, each a few cache misses: fetch a connection's lines 8
    // subscribers ahead and its queue's tail (which needs the first line) 4 ahead.
    constexpr size_t kAhead = 8;
    const size_t count = matches_.size();
    for (size_t i = 0; i < count; ++i) {
      if (i + kAhead < count)
        connections_.prefetch(matches_[i + kAhead]->subscriber & ~core::kExactBit);
      if (i + kAhead / 2 < count) {
        connections_.prefetch_queue_tail(matches_[i + kAhead / 2]->subscriber & ~core::kExactBit);
      }
      deliver_target(core::FanOut<SharedRef>::target_of(*matches_[i]));
    }
    return;
  }
  fan_out_.targets(matches_, targets_);
  for (const core::FanOutTarget& target : targets_) deliver_target(target);
}

void Worker::deliver_to(Connection& connection, const SharedRef& frame, std::string_view topic,
                        pubsub::Policy policy) {
  // The fan-out knows subscribers by id; this is the one connection it is asked about.
  class Queue final : public core::Subscribers<SharedRef> {
   public:
    Queue(Worker& worker, Connection& connection) : worker_(worker), connection_(connection) {}
    bool can_send(uint64_t) override {
      return connection_.io.phase == Connection::Phase::kActive && connection_.session().can_send();
    }
    // With TLS, ciphertext made but not yet sent counts too (at most a 64 KiB batch).
    size_t queued_bytes(uint64_t) override { return connection_.queued_bytes(); }
    core::SlowConsumerState* slow_state(uint64_t, bool create) override {
      if (create && connection_.pubsub.slow == nullptr) {
        connection_.pubsub.slow = std::make_unique<core::SlowConsumerState>();
      }
      return connection_.pubsub.slow.get();
    }
    void send_gap(uint64_t, std::string_view gap_topic, uint64_t missed) override {
      connection_.send_notice(pubsub::Gap{gap_topic, missed});
    }
    uint64_t enqueue(uint64_t, const SharedRef& queued) override {
      return connection_.enqueue(
          worker_.prepaid_ != nullptr ? worker_.prepaid_->take(queued) : queued, worker_.context_);
    }
    uint64_t first_free(uint64_t) override {
      return connection_.queue().front_serial() + entries_in_send(connection_);
    }
    void replace(uint64_t, uint64_t serial, const SharedRef& newer) override {
      connection_.replace_queued(serial, newer, worker_.context_);
    }
    bool start_catchup(uint64_t, const SharedRef& missed, std::string_view missed_topic) override {
      return worker_.replays_ != nullptr &&
             worker_.replays_->start_catchup(connection_, missed, missed_topic);
    }
    void close_slow(uint64_t) override { worker_.disconnect_slow(connection_); }

   private:
    Worker& worker_;
    Connection& connection_;
  };
  Queue queue(*this, connection);
  switch (fan_out_.offer(queue, key_of(connection), frame, frame.bytes().size(), topic, policy)) {
    case core::FanOutAction::kEnqueue:
      ++counters_.messages_delivered;
      schedule_flush(connection);
      return;
    case core::FanOutAction::kConflate:
      counters_.count_slow(core::SlowConsumerAction::kConflate);
      return;
    case core::FanOutAction::kDrop:
    case core::FanOutAction::kDropClose:  // disconnect_slow() counted the disconnect
      counters_.count_slow(core::SlowConsumerAction::kDrop);
      return;
    case core::FanOutAction::kCatchup:
    case core::FanOutAction::kClose:
    case core::FanOutAction::kSkip:
      return;
  }
}

void Worker::disconnect_slow(Connection& connection) {
  counters_.count_slow(core::SlowConsumerAction::kDisconnect);
  // The backlog goes, except what a send in flight points at (or a frame half sent, whose
  // rest must precede the Close).
  connection.queue().truncate(entries_in_send(connection));
  connection.pubsub.slow.reset();
  close_websocket(connection, core::CloseReason::kSlowConsumer);
}

size_t Worker::entries_in_send(const Connection& connection) {
  // A TLS send covers ciphertext, not queued entries: only a half-encrypted front one counts.
  if (connection.io.send_in_flight && !connection.is_tls()) return connection.io.send_entries;
  return connection.queue().front_partly_sent() ? 1 : 0;
}

}  // namespace herald::broker::net
