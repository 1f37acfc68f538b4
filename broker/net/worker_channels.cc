// What a worker does with the items its peers send (PeerChannels carries them): a frame to
// deliver, a publish to sequence for a topic this worker owns, the answer to its own.
#include <cassert>

#include "broker/net/worker.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::net {

namespace pubsub = protocol::pubsub;

void Worker::push_item(uint32_t to, ChannelItem item) { channels_.push(to, item, counters_); }

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
  if (must_wait_for_storage(request->topic())) {
    hold_publish(request);
    return;
  }
  sequence_request(request);
}

void Worker::sequence_request(core::PublishRequest* request) {
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
    history_->ack_after(ticket, request);
    return;
  }
  // The answer follows this message's frame on the same channel, so the publisher's worker
  // delivers an echo before it acknowledges (a held publish may be this worker's own).
  answer_publish(request);
}

void Worker::on_publish_answer(core::PublishRequest* request) {
  Connection* connection = find(request->reply().connection);
  if (connection != nullptr && connection->io.phase == Connection::Phase::kActive) {
    if (request->origin() == core::PublishRequest::Origin::kHttp) {
      if (connection->route() == Connection::Route::kHttpPublish &&
          connection->session().state() == protocol::websocket::Session::State::kDeciding) {
        connection->set_route(Connection::Route::kNone);
        routes_.respond_publish(connection->session(), request->topic(), request->status,
                                request->seq);
        connection->answered();
        begin_flushing(*connection);  // the answer ends the HTTP exchange
      }
    } else if (request->status == core::PublishRequest::Status::kTooManyTopics) {
      counters_.count_refusal(core::Refusal::kTopics);
      command_failed(*connection, request->id(), pubsub::ErrorCode::kTooManyTopics,
                     "the broker is at its topic limit");
    } else if (request->status == core::PublishRequest::Status::kStorageFailed) {
      command_failed(*connection, request->id(), pubsub::ErrorCode::kStorageFailed,
                     "the message was delivered but its history write failed");
    } else if (request->status == core::PublishRequest::Status::kUnavailable) {
      command_failed(*connection, request->id(), pubsub::ErrorCode::kUnavailable,
                     "Redis is unreachable: the message was not published");
    } else if (!request->id().empty()) {
      send_notice(*connection, pubsub::Ack{request->id(), true, request->seq});
    }
  }
  core::PublishRequest::destroy(request);
}

}  // namespace herald::broker::net
