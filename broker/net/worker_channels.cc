// A worker's side of the channels to its peers: pushing items (with a local overflow when a
// channel is full: never dropped, never blocking), one wakeup per peer per tick (MSG_RING,
// or the peer's eventfd: io::Backend::wake), and draining what peers sent.
#include <cassert>

#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;
using worker_detail::encode;

namespace {

// Items taken from one channel per tick, so a flood from one peer cannot starve the ring.
constexpr size_t kDrainMax = 1024;

}  // namespace

void Worker::push_item(uint32_t to, ChannelItem item) {
  Outbox& outbox = outboxes_[to];
  // Behind an overflow the item must wait its turn: channels are FIFO per pair.
  if (outbox.overflow.empty() && hub_.channel(index_, to).try_push(item)) {
    if (!outbox.wake_pending) {
      outbox.wake_pending = true;
      wake_list_.push_back(to);
    }
    return;
  }
  if (outbox.overflow.empty()) ++counters_.channel_overflows;
  outbox.overflow.push_back(item);
  overflow_pending_ = true;
}

void Worker::drain_channels() {
  channels_backlog_ = false;
  for (uint32_t from = 0; from < hub_.worker_count(); ++from) {
    if (from == index_) continue;
    Channel& channel = hub_.channel(from, index_);
    ChannelItem item{};
    size_t taken = 0;
    while (taken < kDrainMax && channel.try_pop(item)) {
      on_item(item);
      ++taken;
    }
    if (taken == kDrainMax) channels_backlog_ = true;
  }
}

void Worker::on_item(const ChannelItem& item) {
  switch (item.kind) {
    case ChannelItem::Kind::kFrame: {
      SharedRef frame = SharedRef::adopt(static_cast<SharedBuffer*>(item.pointer));
      deliver(frame);
      return;
    }
    case ChannelItem::Kind::kPublish:
      on_publish_request(static_cast<core::PublishRequest*>(item.pointer));
      return;
    case ChannelItem::Kind::kAnswer:
      on_publish_answer(static_cast<core::PublishRequest*>(item.pointer));
      return;
  }
}

void Worker::on_publish_request(core::PublishRequest* request) {
  core::PublishRequest::Fields fields;
  fields.topic = request->topic();
  fields.id = request->id();
  fields.payload = request->payload();
  fields.binary = request->binary();
  fields.echo = request->echo();
  fields.origin = request->origin();
  fields.reply = request->reply();
  uint64_t ticket = 0;
  request->seq = sequence(fields, ticket);
  request->status = request->seq == 0 ? core::PublishRequest::Status::kTooManyTopics
                                      : core::PublishRequest::Status::kSequenced;
  if (!request->wants_answer()) {
    core::PublishRequest::destroy(request);
    return;
  }
  if (ticket != 0) {  // answered once durable (worker_history.cc)
    acks_waiting_.push_back(PendingAck{ticket, request});
    return;
  }
  // The answer follows this message's frame on the same channel, so the publisher's worker
  // delivers an echo before it acknowledges.
  push_item(request->reply().worker, ChannelItem{ChannelItem::Kind::kAnswer, request});
}

void Worker::on_publish_answer(core::PublishRequest* request) {
  Connection* connection = find(request->reply().connection);
  if (connection != nullptr && connection->phase_ == Connection::Phase::kActive) {
    if (request->origin() == core::PublishRequest::Origin::kHttp) {
      if (connection->route_ == Connection::Route::kHttpPublish &&
          connection->session_.state() == protocol::websocket::Session::State::kDeciding) {
        connection->route_ = Connection::Route::kNone;
        respond_publish(*connection, request->topic(), request->status, request->seq);
        connection->take_session_output();
        begin_flushing(*connection);  // the answer ends the HTTP exchange
      }
    } else if (request->status == core::PublishRequest::Status::kTooManyTopics) {
      counters_.count_refusal(core::Refusal::kTopics);
      command_failed(*connection, request->id(), pubsub::ErrorCode::kTooManyTopics,
                     "the broker is at its topic limit");
    } else if (request->status == core::PublishRequest::Status::kStorageFailed) {
      command_failed(*connection, request->id(), pubsub::ErrorCode::kStorageFailed,
                     "the message was delivered but its history write failed");
    } else if (!request->id().empty()) {
      send_text(*connection, pubsub::encode_ack(request->id(), true, request->seq));
    }
  }
  core::PublishRequest::destroy(request);
}

void Worker::flush_outboxes() {
  if (overflow_pending_) {
    overflow_pending_ = false;
    for (uint32_t to = 0; to < outboxes_.size(); ++to) {
      Outbox& outbox = outboxes_[to];
      if (outbox.overflow.empty()) continue;
      Channel& channel = hub_.channel(index_, to);
      size_t moved = 0;
      while (!outbox.overflow.empty() && channel.try_push(outbox.overflow.front())) {
        outbox.overflow.pop_front();
        ++moved;
      }
      if (moved > 0 && !outbox.wake_pending) {
        outbox.wake_pending = true;
        wake_list_.push_back(to);
      }
      if (!outbox.overflow.empty()) overflow_pending_ = true;
    }
    // The peer frees room without telling us: look again soon rather than spin.
    if (overflow_pending_ && !retry_armed_) {
      io_->timeout(&retry_after_, encode(OpKind::kRetry, 0, 0));
      retry_armed_ = true;
    }
  }
  for (uint32_t to : wake_list_) {
    outboxes_[to].wake_pending = false;
    wake_peer(to);
  }
  wake_list_.clear();
}

void Worker::wake_peer(uint32_t to) {
  io_->wake(hub_.wake_address(to), encode(OpKind::kChannel, 0, 0));
}

}  // namespace herald::broker::net
