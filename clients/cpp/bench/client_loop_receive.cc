// ClientLoop, receiving: the server's 101 (and its permessage-deflate answer), then frames
// into messages for the scenario. Control frames are answered through the send side.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "clients/cpp/bench/client_loop.h"
#include "protocol/websocket/extensions.h"

namespace herald::bench {

namespace ws = protocol::websocket;

void ClientLoop::consume(BenchConnection& connection, std::span<uint8_t> bytes) {
  if (connection.tls) {
    consume_tls(connection, bytes);
  } else {
    consume_plain(connection, bytes);
  }
}

void ClientLoop::consume_plain(BenchConnection& connection, std::span<uint8_t> bytes) {
  if (connection.state == BenchConnection::State::kHandshake) {
    consume_handshake(connection, bytes);
  } else if (connection.state == BenchConnection::State::kOpen ||
             connection.state == BenchConnection::State::kClosing) {
    consume_frames(connection, bytes);
  }
}

void ClientLoop::consume_handshake(BenchConnection& connection, std::span<uint8_t> bytes) {
  const size_t taken = connection.response->feed(bytes);
  switch (connection.response->status()) {
    case ws::ResponseParser::Status::kNeedMore:
      return;
    case ws::ResponseParser::Status::kRejected:
      dial_stats_.last_http_status = connection.response->http_status();
      return fail_dial(connection, &DialStats::rejected, 0);
    case ws::ResponseParser::Status::kAccepted:
      break;
  }
  connection.parser =
      std::make_unique<ws::MessageParser>(ws::Role::kClient, config_.message_bytes_max);
  if (!accept_extensions(connection)) {
    ++traffic_.deflate_refused;
    return fail_dial(connection, &DialStats::rejected, 0);
  }
  connection.response.reset();
  connection.state = BenchConnection::State::kOpen;
  --dialing_;
  ++dial_stats_.opened;
  ++open_count_;
  handler_.on_open(connection);
  // The server may send frames right behind the 101.
  if (taken < bytes.size()) consume_frames(connection, bytes.subspan(taken));
}

bool ClientLoop::accept_extensions(BenchConnection& connection) {
  const ws::DeflateResponse answer = ws::judge_deflate_response(connection.response->extensions());
  if (answer.status == ws::DeflateResponse::Status::kInvalid) return false;  // RFC 7692 §7.1
  if (answer.status == ws::DeflateResponse::Status::kNone) return true;
  ++traffic_.deflate_connections;
  connection.parser->enable_deflate(answer.agreement.server_context_takeover);
  connection.inflate_shared = !answer.agreement.server_context_takeover;
  // zlib cannot compress raw DEFLATE into a 256-byte window: told 8 bits, we send plain.
  const int bits = answer.agreement.client_max_window_bits;
  if (bits < ws::kDeflateWindowBitsMin) return true;
  connection.deflate_window_bits = static_cast<uint8_t>(bits);
  if (deflaters_[bits] == nullptr) {
    deflaters_[bits] =
        std::make_unique<ws::Deflater>(std::clamp(config_.compression.level, 1, 9), bits);
  }
  return true;
}

void ClientLoop::consume_frames(BenchConnection& connection, std::span<uint8_t> bytes) {
  traffic_.frame_bytes_received += bytes.size();
  if (connection.inflate_shared) return read_whole_frames(connection, bytes);
  feed_parser(connection, bytes);
}

namespace {

// Frames larger than this are left to the parser, which streams them.
constexpr uint64_t kWholeFrameBytesMax = 64 << 10;

// The size of the frame at the front of `bytes` once its header has arrived, else 0.
uint64_t frame_size(std::span<const uint8_t> bytes) {
  const std::optional<ws::FrameHeader> header = ws::peek_frame_header(bytes);
  if (!header) return 0;
  return header->payload_bytes > kWholeFrameBytesMax ? UINT64_MAX
                                                     : header->header_bytes + header->payload_bytes;
}

}  // namespace

// Between messages, frames are read whole here (a frame a read cut short waits in `pending`),
// and compressed messages come from the cache; everything else goes through the parser as
// before, which also takes over in the middle of a fragmented message or a large frame.
void ClientLoop::read_whole_frames(BenchConnection& connection, std::span<uint8_t> bytes) {
  std::string& pending = connection.pending;
  while (!bytes.empty() && connection.fd >= 0) {
    if (!connection.parser->at_message_boundary()) return feed_parser(connection, bytes);
    if (!pending.empty()) {
      uint64_t size =
          frame_size({reinterpret_cast<const uint8_t*>(pending.data()), pending.size()});
      if (size == UINT64_MAX) {
        // Only the header was held: the parser streams the rest of the frame.
        std::string held = std::move(pending);
        pending.clear();
        feed_parser(connection, {reinterpret_cast<uint8_t*>(held.data()), held.size()});
        continue;
      }
      // Until the header is whole its length is unknown: a byte at a time (at most 14).
      const size_t take = size == 0 ? 1 : std::min<uint64_t>(bytes.size(), size - pending.size());
      pending.append(reinterpret_cast<const char*>(bytes.data()), take);
      bytes = bytes.subspan(take);
      if (size == 0 || pending.size() < size) continue;
      std::string frame = std::move(pending);
      pending.clear();
      take_frame(connection, {reinterpret_cast<uint8_t*>(frame.data()), frame.size()});
      continue;
    }
    const uint64_t size = frame_size(bytes);
    if (size == UINT64_MAX) return feed_parser(connection, bytes);
    if (size == 0 || size > bytes.size()) {
      pending.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return;
    }
    take_frame(connection, bytes.first(size));
    bytes = bytes.subspan(size);
  }
}

void ClientLoop::take_frame(BenchConnection& connection, std::span<uint8_t> frame) {
  std::optional<ws::FrameHeader> header = ws::read_frame_header(frame);
  if (header && header->fin && header->rsv == 0x40 &&
      (header->opcode == ws::Opcode::kText || header->opcode == ws::Opcode::kBinary)) {
    const std::string* message =
        inflate_cache_.inflate(frame.subspan(header->header_bytes), config_.message_bytes_max);
    if (message != nullptr) {
      ++traffic_.messages_received;
      traffic_.message_bytes_received += message->size();
      handler_.on_message(connection, header->opcode,
                          {reinterpret_cast<const uint8_t*>(message->data()), message->size()});
      return;
    }
  }
  feed_parser(connection, frame);
}

void ClientLoop::feed_parser(BenchConnection& connection, std::span<uint8_t> bytes) {
  using Kind = ws::ParserEvent::Kind;
  connection.parser->receive(bytes);
  while (connection.fd >= 0) {
    const ws::ParserEvent event = connection.parser->next();
    switch (event.kind) {
      case Kind::kNeedMore:
        return;
      case Kind::kText:
      case Kind::kBinary:
        ++traffic_.messages_received;
        traffic_.message_bytes_received += event.payload.size();
        handler_.on_message(connection,
                            event.kind == Kind::kText ? ws::Opcode::kText : ws::Opcode::kBinary,
                            event.payload);
        break;
      case Kind::kPing:
        // §5.5.2, unless our Close is already out (§5.5.1: nothing may follow it).
        if (!connection.close_sent) queue_control(connection, ws::Opcode::kPong, event.payload);
        break;
      case Kind::kPong:
        break;
      case Kind::kClose:
        connection.close_received = true;
        if (!connection.close_sent) {
          // The server started the close: echo its code (§5.5.1) and wait for TCP close.
          connection.peer_started_close = true;
          ++close_stats_.peer_closed;
          handler_.on_lost(connection);
          queue_close(connection, event.code);
        }
        break;
      case Kind::kError:
        // §7.1.7: fail the connection with the code the parser chose, then drop TCP.
        if (!connection.close_sent) queue_close(connection, event.code);
        flush(connection);
        if (connection.fd >= 0) end_connection(connection, &CloseStats::protocol_errors);
        return;
    }
  }
}

}  // namespace herald::bench
