// ClientLoop, sending: masked frames queued in each connection's fixed output buffer (and
// compressed with permessage-deflate when agreed); flush() puts them on the socket.
#include <cstring>

#include "clients/cpp/bench/client_loop.h"

namespace herald::bench {

namespace ws = protocol::websocket;

uint8_t* ClientLoop::output_tail(BenchConnection& connection, size_t frame_bytes) {
  if (connection.output_end + frame_bytes > connection.output_capacity &&
      connection.output_begin > 0) {
    // Compact: the unsent tail moves to the front. Rare, and bounded by the buffer size.
    std::memmove(connection.output.get(), connection.output.get() + connection.output_begin,
                 connection.output_end - connection.output_begin);
    connection.output_end -= connection.output_begin;
    connection.output_begin = 0;
  }
  if (connection.output_end + frame_bytes > connection.output_capacity) return nullptr;
  return connection.output.get() + connection.output_end;
}

std::span<uint8_t> ClientLoop::begin_frame(BenchConnection& connection, ws::Opcode opcode,
                                           size_t payload_bytes) {
  deflate_connection_ = nullptr;
  if (connection.deflate_window_bits != 0 && payload_bytes >= config_.compression.min_bytes &&
      output_tail(connection, client::client_frame_bytes_max(
                                  ws::Deflater::compressed_bytes_max(payload_bytes))) != nullptr) {
    // Filled here, compressed into the output by end_frame().
    deflate_connection_ = &connection;
    deflate_opcode_ = opcode;
    deflate_input_.resize(payload_bytes);
    return deflate_input_;
  }
  uint8_t* header = output_tail(connection, client::client_frame_bytes_max(payload_bytes));
  if (header == nullptr) return {};
  frame_mask_key_ = mask_keys_.next();
  const size_t header_bytes =
      client::write_client_frame_header(header, opcode, payload_bytes, frame_mask_key_);
  frame_payload_ = {header + header_bytes, payload_bytes};
  connection.output_end += header_bytes + payload_bytes;
  return frame_payload_;
}

void ClientLoop::end_frame() {
  if (deflate_connection_ != nullptr) return end_compressed_frame();
  client::mask_payload(frame_payload_, frame_mask_key_);
}

void ClientLoop::end_compressed_frame() {
  BenchConnection& connection = *deflate_connection_;
  deflate_connection_ = nullptr;
  const size_t bound = ws::Deflater::compressed_bytes_max(deflate_input_.size());
  // begin_frame() made room for the largest frame; compress behind the longest header, then
  // slide the data down to the header its size needs.
  uint8_t* frame = output_tail(connection, client::client_frame_bytes_max(bound));
  uint8_t* data = frame + ws::kClientFrameHeaderBytesMax;
  size_t size = deflaters_[connection.deflate_window_bits]->compress(deflate_input_, {data, bound});
  const bool compressed = size != 0 && size < deflate_input_.size();
  if (!compressed) {  // sent plain (RSV1 clear), as the extension allows per message (§6)
    size = deflate_input_.size();
    std::memcpy(data, deflate_input_.data(), size);
  }
  const uint32_t mask_key = mask_keys_.next();
  const size_t header_bytes =
      client::write_client_frame_header(frame, deflate_opcode_, size, mask_key);
  std::memmove(frame + header_bytes, data, size);
  if (compressed) {
    frame[0] |= client::kRsv1Bit;  // RFC 7692 §6: the message is compressed
    ++traffic_.messages_sent_compressed;
  }
  client::mask_payload({frame + header_bytes, size}, mask_key);
  connection.output_end += header_bytes + size;
}

void ClientLoop::queue_control(BenchConnection& connection, ws::Opcode opcode,
                               std::span<const uint8_t> payload) {
  uint8_t* frame = output_tail(connection, client::client_frame_bytes_max(payload.size()));
  if (frame == nullptr) return;  // the reserve is full: the frame is dropped
  connection.output_end += client::write_client_frame(frame, opcode, payload, mask_keys_.next());
}

void ClientLoop::queue_close(BenchConnection& connection, ws::CloseCode code) {
  // A status code in network byte order (§5.5.1); 1005 means "none" and is sent as empty.
  uint8_t payload[2];
  const auto value = static_cast<uint16_t>(code);
  payload[0] = static_cast<uint8_t>(value >> 8);
  payload[1] = static_cast<uint8_t>(value & 0xFF);
  const bool has_code = code != ws::CloseCode::kNoStatus;
  queue_control(connection, ws::Opcode::kClose, {payload, has_code ? size_t{2} : size_t{0}});
  connection.close_sent = true;
  if (connection.state == BenchConnection::State::kOpen) {
    connection.state = BenchConnection::State::kClosing;
    ++closing_count_;
  }
}

}  // namespace herald::bench
