// The client half of the protocol (PROTOCOL.md): encodes commands and parses what the server
// sends. Server messages are read with simdjson on-demand over the parser's padded copy.
#include "protocol/pubsub/client_codec.h"

#include <simdjson.h>

#include <cstring>
#include <utility>

#include "protocol/pubsub/json_text.h"

namespace herald::protocol::pubsub {

namespace ondemand = simdjson::ondemand;

namespace {

void append_command_head(std::string& out, std::string_view op, std::string_view topic) {
  out += R"({"op":")";
  out += op;
  out += R"(","topic":)";
  append_json_string(out, topic);
}

void append_id(std::string& out, std::string_view id) {
  if (id.empty()) return;
  out += R"(,"id":)";
  out += id;
}

// The fields of any server message, read in one pass; the kind decides which are required.
struct Fields {
  std::string_view type;
  std::string_view topic;
  std::string_view data;
  std::string_view id;
  std::string_view code;
  std::string_view text;
  uint64_t seq = 0;
  uint64_t missed = 0;
  bool has_topic = false;
  bool has_data = false;
  bool has_seq = false;
  bool has_code = false;
  bool has_text = false;
  bool has_missed = false;
  std::string_view epoch;
  uint64_t first = 0;
  uint64_t from = 0;
  uint64_t next = 0;
  bool complete = false;
  bool has_epoch = false;
  bool has_first = false;
  bool has_from = false;
  bool has_next = false;
  bool has_complete = false;
};

bool read_string(ondemand::value value, std::string_view& out, bool& present) {
  present = true;
  return is_json_string(trim_json_whitespace(value.raw_json_token())) &&
         !value.get_string().get(out);
}

bool read_uint(ondemand::value value, uint64_t& out, bool& present) {
  present = true;
  return parse_decimal(trim_json_whitespace(value.raw_json_token()), out);
}

bool read_bool(ondemand::value value, bool& out, bool& present) {
  present = true;
  return !value.get_bool().get(out);
}

bool read_id(ondemand::value value, std::string_view& out) {
  const std::string_view token = trim_json_whitespace(value.raw_json_token());
  if (!is_json_string(token) && !is_json_number(token)) return false;
  out = token;
  return true;
}

// Reads one field; unknown fields are checked and skipped, so later versions may add some.
bool read_field(std::string_view key, ondemand::value value, Fields& fields) {
  bool present = false;
  if (key == "type") return read_string(value, fields.type, present);
  if (key == "topic") return read_string(value, fields.topic, fields.has_topic);
  if (key == "code") return read_string(value, fields.code, fields.has_code);
  if (key == "text") return read_string(value, fields.text, fields.has_text);
  if (key == "seq") return read_uint(value, fields.seq, fields.has_seq);
  if (key == "missed") return read_uint(value, fields.missed, fields.has_missed);
  if (key == "id") return read_id(value, fields.id);
  if (key == "epoch") return read_string(value, fields.epoch, fields.has_epoch);
  if (key == "first") return read_uint(value, fields.first, fields.has_first);
  if (key == "from") return read_uint(value, fields.from, fields.has_from);
  if (key == "next") return read_uint(value, fields.next, fields.has_next);
  if (key == "complete") return read_bool(value, fields.complete, fields.has_complete);
  if (key == "data") {
    fields.has_data = true;
    return read_raw_json_value(value, fields.data);
  }
  return validate_json_value(value);
}

bool to_message(const Fields& fields, ServerMessage& out) {
  out = ServerMessage{};
  if (fields.type == "msg") {
    if (!fields.has_topic || !fields.has_seq || !fields.has_data) return false;
    out.kind = ServerMessage::Kind::kMessage;
    out.topic = fields.topic;
    out.seq = fields.seq;
    out.has_seq = true;
    out.data = fields.data;
    return true;
  }
  if (fields.type == "ack") {
    out.kind = ServerMessage::Kind::kAck;
    out.id = fields.id;
    out.seq = fields.seq;
    out.has_seq = fields.has_seq;
    out.complete = fields.complete;
    out.has_complete = fields.has_complete;
    return true;
  }
  if (fields.type == "recovery") {
    if (!fields.has_topic || !fields.has_epoch || !fields.has_first || !fields.has_from ||
        !fields.has_next || !fields.has_complete) {
      return false;
    }
    out.kind = ServerMessage::Kind::kRecovery;
    out.topic = fields.topic;
    out.epoch = fields.epoch;
    out.first = fields.first;
    out.from = fields.from;
    out.next = fields.next;
    out.complete = fields.complete;
    out.has_complete = true;
    return true;
  }
  if (fields.type == "error") {
    if (!fields.has_code || !fields.has_text) return false;
    out.kind = ServerMessage::Kind::kError;
    out.id = fields.id;
    out.code = fields.code;
    out.text = fields.text;
    return true;
  }
  if (fields.type == "gap") {
    if (!fields.has_topic || !fields.has_missed) return false;
    out.kind = ServerMessage::Kind::kGap;
    out.topic = fields.topic;
    out.missed = fields.missed;
    return true;
  }
  return false;
}

}  // namespace

std::string encode_subscribe(std::string_view filter, std::string_view id, Policy policy) {
  std::string out;
  append_command_head(out, "sub", filter);
  append_id(out, id);
  if (policy != Policy::kDefault) {
    out += R"(,"policy":")";
    out += policy_name(policy);
    out += '"';
  }
  out += '}';
  return out;
}

std::string encode_unsubscribe(std::string_view filter, std::string_view id) {
  std::string out;
  append_command_head(out, "unsub", filter);
  append_id(out, id);
  out += '}';
  return out;
}

std::string encode_publish(std::string_view topic, std::string_view data_json, std::string_view id,
                           bool echo) {
  std::string out;
  out.reserve(data_json.size() + topic.size() + 64);
  append_command_head(out, "pub", topic);
  out += R"(,"data":)";
  out += data_json;
  append_id(out, id);
  if (!echo) out += R"(,"echo":false)";
  out += '}';
  return out;
}

std::vector<uint8_t> encode_binary_publish(std::string_view topic, std::span<const uint8_t> payload,
                                           bool has_id, uint32_t id, bool echo) {
  if (topic.empty() || topic.size() > 255) return {};
  std::vector<uint8_t> out;
  out.reserve(3 + topic.size() + 4 + payload.size());
  uint8_t flags = 0;
  if (has_id) flags |= kBinaryFlagId;
  if (!echo) flags |= kBinaryFlagNoEcho;
  out.push_back(kBinaryPublishKind);
  out.push_back(flags);
  out.push_back(static_cast<uint8_t>(topic.size()));
  out.insert(out.end(), topic.begin(), topic.end());
  if (has_id) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(id >> shift));
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

struct ServerMessageParser::State {
  std::string padded;  // the frame, then SIMDJSON_PADDING bytes that simdjson may read
  ondemand::parser parser;
};

ServerMessageParser::ServerMessageParser() : state_(std::make_unique<State>()) {}
ServerMessageParser::~ServerMessageParser() = default;

bool ServerMessageParser::parse_text(std::span<const uint8_t> frame, ServerMessage& out) {
  State& state = *state_;
  state.padded.resize(frame.size() + simdjson::SIMDJSON_PADDING);
  if (!frame.empty()) std::memcpy(state.padded.data(), frame.data(), frame.size());
  const simdjson::padded_string_view input(state.padded.data(), frame.size(), state.padded.size());
  ondemand::document document;
  ondemand::object object;
  if (state.parser.iterate(input).get(document) || document.get_object().get(object)) {
    return false;
  }
  Fields fields;
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
    if (!read_field(key, field.value(), fields)) return false;
  }
  const char* trailing = nullptr;
  if (document.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) return false;
  return to_message(fields, out);
}

bool ServerMessageParser::parse_binary(std::span<const uint8_t> frame, ServerMessage& out) {
  if (frame.size() < 2 || frame[0] != kBinaryMessageKind) return false;
  const size_t topic_bytes = frame[1];
  constexpr size_t kSeqBytes = 8;
  if (topic_bytes == 0 || frame.size() < 2 + topic_bytes + kSeqBytes) return false;
  const char* bytes = reinterpret_cast<const char*>(frame.data());
  uint64_t seq = 0;
  for (size_t i = 0; i < kSeqBytes; ++i) seq = (seq << 8) | frame[2 + topic_bytes + i];
  const size_t header_bytes = 2 + topic_bytes + kSeqBytes;
  out = ServerMessage{};
  out.kind = ServerMessage::Kind::kMessage;
  out.topic = std::string_view(bytes + 2, topic_bytes);
  out.seq = seq;
  out.has_seq = true;
  out.binary = true;
  out.data = std::string_view(bytes + header_bytes, frame.size() - header_bytes);
  return true;
}

}  // namespace herald::protocol::pubsub
