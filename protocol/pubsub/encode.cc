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

// RFC 6455 section 5.2: the shortest length encoding, as write_frame_header() uses.
size_t frame_header_bytes(uint64_t payload_bytes) {
  if (payload_bytes <= 125) return 2;
  if (payload_bytes <= 0xFFFF) return 4;
  return 10;
}

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
  return frame_header_bytes(payload) + payload;
}

size_t message_frame_bytes(std::string_view topic, uint64_t seq, size_t data_bytes, bool binary) {
  const size_t payload = binary ? kBinaryHeaderBytes + topic.size() + data_bytes
                                : text_payload_bytes(topic, decimal_bytes(seq), data_bytes);
  return frame_header_bytes(payload) + payload;
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

std::string encode_ack(std::string_view id, bool has_seq, uint64_t seq) {
  std::string out = R"({"type":"ack")";
  if (!id.empty()) {
    out += R"(,"id":)";
    out += id;
  }
  if (has_seq) {
    char digits[kDecimalBytesMax];
    out += R"(,"seq":)";
    out.append(digits, write_decimal(digits, seq));
  }
  out += '}';
  return out;
}

std::string encode_error(std::string_view id, ErrorCode code, std::string_view text) {
  std::string out = R"({"type":"error")";
  if (!id.empty()) {
    out += R"(,"id":)";
    out += id;
  }
  out += R"(,"code":")";
  out += error_code_name(code);
  out += R"(","text":)";
  append_json_string(out, text);
  out += '}';
  return out;
}

std::string encode_gap(std::string_view topic, uint64_t missed) {
  char digits[kDecimalBytesMax];
  std::string out = R"({"type":"gap","topic":)";
  append_json_string(out, topic);
  out += R"(,"missed":)";
  out.append(digits, write_decimal(digits, missed));
  out += '}';
  return out;
}

std::string encode_recovery(const Recovery& recovery) {
  char digits[kDecimalBytesMax];
  const auto number = [&](std::string& out, uint64_t value) {
    out.append(digits, write_decimal(digits, value));
  };
  std::string out = R"({"type":"recovery","topic":)";
  append_json_string(out, recovery.topic);
  out += R"(,"epoch":)";
  append_json_string(out, recovery.epoch);
  out += R"(,"first":)";
  number(out, recovery.first);
  out += R"(,"from":)";
  number(out, recovery.from);
  out += R"(,"next":)";
  number(out, recovery.next);
  out += recovery.complete ? R"(,"complete":true})" : R"(,"complete":false})";
  return out;
}

std::string encode_subscribe_ack(std::string_view id, bool complete) {
  std::string out = R"({"type":"ack")";
  if (!id.empty()) {
    out += R"(,"id":)";
    out += id;
  }
  out += complete ? R"(,"complete":true})" : R"(,"complete":false})";
  return out;
}

}  // namespace herald::protocol::pubsub
