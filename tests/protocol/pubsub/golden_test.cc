// Checks the codec against the golden vectors in tests/golden/pubsub_v1.json, which the
// JavaScript client's tests share: every case is decoded, and canonical ones re-encoded.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"
#include "protocol/pubsub/encode.h"

namespace herald::protocol::pubsub {
namespace {

namespace dom = simdjson::dom;

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string from_hex(std::string_view hex) {
  EXPECT_EQ(hex.size() % 2, 0u) << hex;
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// Optional members of an "expect" object.
std::optional<std::string_view> string_field(dom::object object, const char* key) {
  std::string_view value;
  if (object[key].get_string().get(value)) return std::nullopt;
  return value;
}

std::optional<uint64_t> uint_field(dom::object object, const char* key) {
  uint64_t value = 0;
  if (object[key].get_uint64().get(value)) return std::nullopt;
  return value;
}

bool bool_field(dom::object object, const char* key, bool fallback) {
  bool value = fallback;
  if (object[key].get_bool().get(value)) return fallback;
  return value;
}

// data_json (text frames) or data_hex (binary frames), as bytes.
std::string expected_data(dom::object expect) {
  if (auto hex = string_field(expect, "data_hex")) return from_hex(*hex);
  return std::string(string_field(expect, "data_json").value_or(""));
}

struct Case {
  std::string name;
  bool binary = false;
  bool canonical = false;
  std::string payload;
  dom::object expect;
};

void check_command(const Case& c) {
  CommandParser parser;
  const ParseResult result =
      c.binary ? parser.parse_binary(bytes(c.payload)) : parser.parse_text(bytes(c.payload));
  if (auto error = string_field(c.expect, "error")) {
    ASSERT_FALSE(result.ok);
    EXPECT_EQ(error_code_name(result.error), *error) << result.error_text;
    EXPECT_EQ(result.error_id, string_field(c.expect, "error_id_json").value_or(""));
    return;
  }
  ASSERT_TRUE(result.ok) << result.error_text;
  const Command& command = result.command;
  const std::string_view op = string_field(c.expect, "op").value_or("");
  EXPECT_EQ(command.op == Op::kSubscribe     ? "sub"
            : command.op == Op::kUnsubscribe ? "unsub"
                                             : "pub",
            op);
  EXPECT_EQ(command.topic, string_field(c.expect, "topic").value_or(""));
  EXPECT_EQ(command.id, string_field(c.expect, "id_json").value_or(""));
  EXPECT_EQ(policy_name(command.policy), string_field(c.expect, "policy").value_or("default"));
  EXPECT_EQ(command.echo, bool_field(c.expect, "echo", true));
  EXPECT_EQ(command.binary, c.binary);
  EXPECT_EQ(command.data, expected_data(c.expect));
  if (!c.canonical) return;
  // The client encoders write exactly the golden bytes.
  std::string encoded;
  if (c.binary) {
    uint64_t id = 0;
    const bool has_id = !command.id.empty();
    if (has_id) id = std::stoull(std::string(command.id));
    const std::vector<uint8_t> frame = encode_binary_publish(
        command.topic, bytes(command.data), has_id, static_cast<uint32_t>(id), command.echo);
    encoded.assign(frame.begin(), frame.end());
  } else if (command.op == Op::kSubscribe) {
    encoded = encode_subscribe(command.topic, command.id, command.policy);
  } else if (command.op == Op::kUnsubscribe) {
    encoded = encode_unsubscribe(command.topic, command.id);
  } else {
    encoded = encode_publish(command.topic, command.data, command.id, command.echo);
  }
  EXPECT_EQ(encoded, c.payload);
}

// The payload of a complete server frame written by encode_message_frame.
std::string frame_payload(const std::vector<uint8_t>& frame) {
  const uint8_t length = frame.at(1) & 0x7f;
  const size_t header = length == 127 ? 10 : length == 126 ? 4 : 2;
  return std::string(frame.begin() + static_cast<ptrdiff_t>(header), frame.end());
}

std::string encode_server_message(const ServerMessage& message) {
  switch (message.kind) {
    case ServerMessage::Kind::kMessage: {
      std::vector<uint8_t> frame(
          message_frame_bytes(message.topic, message.data.size(), message.binary));
      frame.resize(encode_message_frame(frame.data(), message.topic, message.seq,
                                        bytes(message.data), message.binary));
      return frame_payload(frame);
    }
    case ServerMessage::Kind::kAck:
      return encode_ack(message.id, message.has_seq, message.seq);
    case ServerMessage::Kind::kError:
      for (int code = 0; code <= static_cast<int>(ErrorCode::kStorageFailed); ++code) {
        if (error_code_name(static_cast<ErrorCode>(code)) == message.code) {
          return encode_error(message.id, static_cast<ErrorCode>(code), message.text);
        }
      }
      ADD_FAILURE() << "unknown code " << message.code;
      return {};
    case ServerMessage::Kind::kGap:
      return encode_gap(message.topic, message.missed);
    case ServerMessage::Kind::kRecovery:
      return encode_recovery({message.topic, message.epoch, message.first, message.from,
                              message.next, message.complete});
  }
  return {};
}

void check_server_message(const Case& c) {
  ServerMessageParser parser;
  ServerMessage message;
  const bool ok = c.binary ? parser.parse_binary(bytes(c.payload), message)
                           : parser.parse_text(bytes(c.payload), message);
  if (bool_field(c.expect, "invalid", false)) {
    EXPECT_FALSE(ok);
    return;
  }
  ASSERT_TRUE(ok);
  static constexpr const char* kTypes[] = {"msg", "ack", "error", "gap"};
  EXPECT_EQ(kTypes[static_cast<int>(message.kind)], string_field(c.expect, "type").value_or(""));
  EXPECT_EQ(message.topic, string_field(c.expect, "topic").value_or(""));
  const std::optional<uint64_t> seq = uint_field(c.expect, "seq");
  EXPECT_EQ(message.has_seq, seq.has_value());
  EXPECT_EQ(message.seq, seq.value_or(0));
  EXPECT_EQ(message.binary, c.binary);
  EXPECT_EQ(message.data, expected_data(c.expect));
  EXPECT_EQ(message.id, string_field(c.expect, "id_json").value_or(""));
  EXPECT_EQ(message.code, string_field(c.expect, "code").value_or(""));
  EXPECT_EQ(message.text, string_field(c.expect, "text").value_or(""));
  EXPECT_EQ(message.missed, uint_field(c.expect, "missed").value_or(0));
  if (c.canonical) {
    EXPECT_EQ(encode_server_message(message), c.payload);
  }
}

TEST(GoldenTest, MatchesEveryVector) {
  const std::filesystem::path path =
      std::filesystem::path(__FILE__).parent_path() / "../../golden/pubsub_v1.json";
  dom::parser parser;
  dom::array cases;
  ASSERT_EQ(parser.load(path.string()).get(cases), simdjson::SUCCESS) << path;
  size_t count = 0;
  size_t canonical = 0;
  for (dom::element element : cases) {
    dom::object object;
    ASSERT_EQ(element.get_object().get(object), simdjson::SUCCESS);
    Case c;
    std::string_view name, direction, frame, payload;
    ASSERT_EQ(object["name"].get_string().get(name), simdjson::SUCCESS);
    c.name = name;
    SCOPED_TRACE(c.name);
    ASSERT_EQ(object["direction"].get_string().get(direction), simdjson::SUCCESS);
    ASSERT_EQ(object["frame"].get_string().get(frame), simdjson::SUCCESS);
    ASSERT_TRUE(frame == "text" || frame == "binary");
    c.binary = frame == "binary";
    ASSERT_EQ(object[c.binary ? "payload_hex" : "payload_text"].get_string().get(payload),
              simdjson::SUCCESS);
    c.payload = c.binary ? from_hex(payload) : std::string(payload);
    c.canonical = bool_field(object, "canonical", false);
    ASSERT_EQ(object["expect"].get_object().get(c.expect), simdjson::SUCCESS);
    if (direction == "client_to_server") {
      check_command(c);
    } else {
      ASSERT_EQ(direction, "server_to_client");
      check_server_message(c);
    }
    ++count;
    canonical += c.canonical ? 1 : 0;
  }
  EXPECT_GE(count, 60u);
  EXPECT_GE(canonical, 25u);
}

}  // namespace
}  // namespace herald::protocol::pubsub
