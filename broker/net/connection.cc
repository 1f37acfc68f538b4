// Connection: Session events to actions. Requests and pub/sub commands become events the
// worker pulls; the echo route, pings and closes are answered here.
#include "broker/net/connection.h"

#include <cassert>
#include <cstring>
#include <utility>

#include "protocol/websocket/frame.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;

namespace {

void count_inflate_failure(ws::Inflater::Status status, WorkerCounters& counters) {
  switch (status) {
    case ws::Inflater::Status::kOk:
      return;
    case ws::Inflater::Status::kTooBig:
      return counters.count_inflate_failure(core::InflateFailure::kTooBig);
    case ws::Inflater::Status::kCorrupt:
      return counters.count_inflate_failure(core::InflateFailure::kCorrupt);
    case ws::Inflater::Status::kNoMemory:
      return counters.count_inflate_failure(core::InflateFailure::kNoMemory);
  }
}

}  // namespace

Connection::Connection(const ws::SessionConfig& session_config, uint32_t slot, uint32_t generation,
                       uint32_t file_slot, uint64_t now_ms)
    : slot_(slot), generation_(generation), file_slot_(file_slot), session_(session_config) {
  io.last_receive_ms = now_ms;
  io.phase_since_ms = now_ms;
  access.accepted_ms = now_ms;
}

Connection::~Connection() {
  assert(io.ops_in_flight == 0 && !io.send_in_flight && !io.recv_armed);
  assert(queue_.empty());
}

void Connection::receive(std::span<uint8_t> bytes) {
  if (tls_) {
    tls_->feed(bytes);
  } else {
    session_.receive(bytes);
  }
}

ConnectionEvent Connection::next_event(ConnectionContext& context) {
  using Kind = ConnectionEvent::Kind;
  for (;;) {
    ws::Session::Event event = session_.next_event();
    switch (event.kind) {
      case ws::Session::Event::Kind::kNeedMore:
        take_session_output();
        if (tls_ && decrypt_next(context)) break;
        return {};
      case ws::Session::Event::Kind::kUpgradeRequest:
        return ConnectionEvent{Kind::kRequest, true, false, {}};
      case ws::Session::Event::Kind::kHttpRequest:
        return ConnectionEvent{Kind::kRequest, false, false, {}};
      case ws::Session::Event::Kind::kText:
      case ws::Session::Event::Kind::kBinary: {
        ++context.counters.messages_in;
        bool binary = event.kind == ws::Session::Event::Kind::kBinary;
        if (route_ != Route::kEcho)
          return ConnectionEvent{Kind::kCommand, false, binary, event.payload};
        echo(binary ? ws::Opcode::kBinary : ws::Opcode::kText, event.payload, context);
        break;
      }
      case ws::Session::Event::Kind::kPing:  // the Session already queued the Pong
      case ws::Session::Event::Kind::kPong:
        break;
      case ws::Session::Event::Kind::kClosed:
        if (event.http_status == 0) {
          context.counters.count_close(event.code);
          if (io.end_cause().empty()) {
            io.note_end("peer");  // the peer's Close, or a protocol error we failed it for
            io.close_code = static_cast<uint16_t>(event.code);
          }
        }
        count_inflate_failure(session_.inflate_failure(), context.counters);
        if (event.http_status == 431) {
          context.counters.count_refusal(core::Refusal::kHeaderTooLarge);
        } else if (event.http_status == 413) {
          context.counters.count_refusal(core::Refusal::kBodyTooLarge);
        }
        break;
    }
  }
}

void Connection::echo(ws::Opcode opcode, std::span<const uint8_t> payload,
                      ConnectionContext& context) {
  if (!session_.can_send()) return;
  // Pongs queued by the Session go out before this frame, in the order they were caused.
  take_session_output();
  uint8_t header[ws::kServerFrameHeaderBytesMax];
  size_t header_bytes = ws::write_frame_header(header, opcode, payload.size());
  // Header and payload in one buffer: one iovec, and the same frame could go to many queues.
  SharedRef frame = SharedRef::allocate(header_bytes + payload.size());
  std::span<uint8_t> out = frame.mutable_bytes();
  std::memcpy(out.data(), header, header_bytes);
  if (!payload.empty()) std::memcpy(out.data() + header_bytes, payload.data(), payload.size());
  queue_.push(for_peer(std::move(frame), context));
  ++context.counters.messages_out;
}

void Connection::take_session_output() {
  if (session_.has_output()) queue_.push_copy(session_.take_output());
}

void Connection::close_session(core::CloseReason reason, uint64_t now_ms) {
  core::CloseSpec spec = core::close_spec(reason);
  session_.close(spec.code, spec.text);
  take_session_output();
  io.phase_since_ms = now_ms;
}

void Connection::ping() {
  if (!session_.can_send()) return;
  session_.send_ping({});
  take_session_output();
}

void Connection::refuse(std::string_view response) {
  io.refused = true;
  queue_.push_copy(response);
}

uint64_t Connection::enqueue(SharedRef frame, ConnectionContext& context) {
  assert(session_.can_send());
  take_session_output();
  ++context.counters.messages_out;
  return queue_.push(for_peer(std::move(frame), context));
}

void Connection::replace_queued(uint64_t serial, SharedRef frame, ConnectionContext& context) {
  queue_.replace(serial, for_peer(std::move(frame), context));
}

SharedRef Connection::for_peer(SharedRef frames, ConnectionContext& context) const {
  if (!deflate_ || context.compressor == nullptr) return frames;
  return context.compressor->for_deflate(frames);
}

void Connection::send_notice(const protocol::pubsub::Notice& notice) {
  if (!session_.can_send()) return;
  take_session_output();  // what the Session queued (a Pong) was caused first
  SharedRef frame = SharedRef::allocate(protocol::pubsub::notice_frame_bytes(notice));
  protocol::pubsub::write_notice_frame(frame.mutable_bytes().data(), notice);
  queue_.push(std::move(frame));
}

}  // namespace herald::broker::net
