// Encodes what the server sends (PROTOCOL.md sections 4 and 5). The message frame is written
// once per publish and shared by every subscriber, so it is one pass into the caller's buffer.
#include "protocol/pubsub/encode.h"

#include <cassert>
#include <cstring>

#include "protocol/pubsub/json_text.h"
#include "protocol/pubsub/topic.h"
#include "protocol/websocket/frame.h"

namespace herald::protocol::pubsub {
namespace {

namespace ws = herald::protocol::websocket;

constexpr std::string_view kMsgPrefix = R"({"type":"msg","topic":")";
constexpr std::string_view kMsgSeq = R"(","seq":)";
constexpr std::string_view kMsgData = R"(,"data":)";
constexpr std::string_view kMsgSuffix = "}";
// kind, topic length, seq.
constexpr size_t kBinaryHeaderBytes = 1 + 1 + 8;

size_t text_payload_bytes(std::string_view topic, size_t seq_digits, size_t data_bytes) {
  return kMsgPrefix.size() + topic.size() + kMsgSeq.size() + seq_digits + kMsgData.size() +
         data_bytes + kMsgSuffix.size();
}

uint8_t* put(uint8_t* out, std::string_view bytes) {
  std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

}  // namespace

size_t message_frame_bytes(std::string_view topic, size_t data_bytes, bool binary) {
  if (binary) return message_frame_bytes(topic, 0, data_bytes, true);
  const size_t payload = text_payload_bytes(topic, kDecimalBytesMax, data_bytes);
  return ws::frame_header_bytes(payload) + payload;
}

size_t message_frame_bytes(std::string_view topic, uint64_t seq, size_t data_bytes, bool binary) {
  const size_t payload = binary ? kBinaryHeaderBytes + topic.size() + data_bytes
                                : text_payload_bytes(topic, decimal_bytes(seq), data_bytes);
  return ws::frame_header_bytes(payload) + payload;
}

size_t encode_message_frame(uint8_t* out, std::string_view topic, uint64_t seq,
                            std::span<const uint8_t> data, bool binary) {
  assert(check_topic(topic) == TopicError::kNone);
  const std::string_view data_bytes(reinterpret_cast<const char*>(data.data()), data.size());
  uint8_t* p = out;
  if (binary) {
    const size_t payload = kBinaryHeaderBytes + topic.size() + data.size();
    p += ws::write_frame_header(p, ws::Opcode::kBinary, payload);
    *p++ = kBinaryMessageKind;
    *p++ = static_cast<uint8_t>(topic.size());
    p = put(p, topic);
    for (int shift = 56; shift >= 0; shift -= 8) *p++ = static_cast<uint8_t>(seq >> shift);
    p = put(p, data_bytes);
    return static_cast<size_t>(p - out);
  }
  char digits[kDecimalBytesMax];
  const size_t digit_count = write_decimal(digits, seq);
  const size_t payload = text_payload_bytes(topic, digit_count, data.size());
  p += ws::write_frame_header(p, ws::Opcode::kText, payload);
  p = put(p, kMsgPrefix);
  p = put(p, topic);
  p = put(p, kMsgSeq);
  p = put(p, std::string_view(digits, digit_count));
  p = put(p, kMsgData);
  p = put(p, data_bytes);
  p = put(p, kMsgSuffix);
  return static_cast<size_t>(p - out);
}

}  // namespace herald::protocol::pubsub
