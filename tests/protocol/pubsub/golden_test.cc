// Checks the codec against the golden vectors the JavaScript client's tests share:
// tests/golden/pubsub_v1.json and pubsub_v1_history_auth.json (PROTOCOL.md sections 9 and 10).
// Every case is decoded, and canonical ones re-encoded where the C++ side has an encoder.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"
#include "protocol/pubsub/encode.h"
#include "protocol/pubsub/notice.h"

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

std::optional<bool> optional_bool_field(dom::object object, const char* key) {
  bool value = false;
  if (object[key].get_bool().get(value)) return std::nullopt;
  return value;
}

bool bool_field(dom::object object, const char* key, bool fallback) {
  return optional_bool_field(object, key).value_or(fallback);
}

// A field this test does not know would otherwise be skipped without a word.
void expect_known_keys(dom::object expect, std::initializer_list<std::string_view> known) {
  for (dom::key_value_pair field : expect) {
    bool found = false;
    for (std::string_view key : known) found = found || key == field.key;
    EXPECT_TRUE(found) << "expect." << field.key << " is not checked";
  }
}

// Replay as the option that asks for it, so that a failure reads "last" rather than <02>.
std::string_view replay_name(Replay replay) {
  switch (replay) {
    case Replay::kNone:
      return "none";
    case Replay::kFrom:
      return "from";
    case Replay::kLast:
      return "last";
    case Replay::kSince:
      return "since";
    case Replay::kSnapshot:
      return "snapshot";
  }
  return "?";
}

// The JSON text held by a "*_json" field, parsed with its own parser (re-using the vector's
// parser would free `expect`). False when the field is absent.
bool json_field(dom::object object, const char* key, dom::parser& parser, dom::element& out) {
  const std::optional<std::string_view> text = string_field(object, key);
  if (!text) return false;
  EXPECT_EQ(parser.parse(std::string(*text)).get(out), simdjson::SUCCESS) << key;
  return true;
}

std::optional<ErrorCode> error_code_named(std::string_view name) {
  for (int code = 0; code <= static_cast<int>(ErrorCode::kUnavailable); ++code) {
    if (error_code_name(static_cast<ErrorCode>(code)) == name) return static_cast<ErrorCode>(code);
  }
  return std::nullopt;
}

std::string_view op_name(Op op) {
  switch (op) {
    case Op::kSubscribe:
      return "sub";
    case Op::kUnsubscribe:
      return "unsub";
    case Op::kPublish:
      return "pub";
    case Op::kAuth:
      return "auth";
  }
  return "?";
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

// What one file's vectors exercised.
struct Tally {
  size_t count = 0;
  size_t canonical = 0;
  size_t reencoded = 0;  // canonical vectors the C++ encoders wrote byte for byte
};

// A topic's `from` N: its replay_value, and its epoch string when epoch_json gives one.
void check_topic_from(const Command& command, dom::element from, const dom::element* epoch) {
  uint64_t seq = 0;
  ASSERT_EQ(from.get_uint64().get(seq), simdjson::SUCCESS);
  EXPECT_EQ(command.replay_value, seq);
  std::string_view expected_epoch;
  if (epoch != nullptr) {
    ASSERT_EQ(epoch->get_string().get(expected_epoch), simdjson::SUCCESS);
  }
  EXPECT_EQ(command.epoch, expected_epoch);
  EXPECT_TRUE(command.positions.empty());
}

// A pattern's `from` object: one position per topic in order, each with its epoch (or none).
void check_pattern_from(const Command& command, dom::object topics, const dom::element* epoch) {
  dom::object epochs;
  if (epoch != nullptr) {
    ASSERT_EQ(epoch->get_object().get(epochs), simdjson::SUCCESS);
  }
  ASSERT_EQ(command.positions.size(), topics.size());
  size_t index = 0;
  for (dom::key_value_pair entry : topics) {
    const TopicPosition& position = command.positions[index++];
    EXPECT_EQ(position.topic, entry.key);
    uint64_t seq = 0;
    ASSERT_EQ(entry.value.get_uint64().get(seq), simdjson::SUCCESS);
    EXPECT_EQ(position.seq, seq);
    std::string_view expected_epoch;
    // A topic without an epoch entry has none.
    if (epoch != nullptr && epochs[entry.key].get_string().get(expected_epoch)) {
      expected_epoch = {};
    }
    EXPECT_EQ(position.epoch, expected_epoch);
  }
  EXPECT_TRUE(command.epoch.empty());
}

// The replay options of section 9 (from_json, epoch_json, last_json, since_json,
// snapshot_json) against Command::replay, replay_value, epoch and positions.
void check_replay(const Command& command, dom::object expect) {
  dom::parser from_parser, epoch_parser, other_parser;
  dom::element from, epoch, other;
  const bool has_from = json_field(expect, "from_json", from_parser, from);
  const bool has_epoch = json_field(expect, "epoch_json", epoch_parser, epoch);
  if (has_from) {
    EXPECT_EQ(replay_name(command.replay), "from");
    dom::object topics;
    if (from.get_object().get(topics) == simdjson::SUCCESS) {
      check_pattern_from(command, topics, has_epoch ? &epoch : nullptr);
    } else {
      check_topic_from(command, from, has_epoch ? &epoch : nullptr);
    }
    return;
  }
  ASSERT_FALSE(has_epoch) << "epoch_json without from_json";
  Replay replay = Replay::kNone;
  uint64_t value = 0;
  if (json_field(expect, "last_json", other_parser, other)) {
    replay = Replay::kLast;
    ASSERT_EQ(other.get_uint64().get(value), simdjson::SUCCESS);
  } else if (json_field(expect, "since_json", other_parser, other)) {
    replay = Replay::kSince;
    ASSERT_EQ(other.get_uint64().get(value), simdjson::SUCCESS);
  } else if (json_field(expect, "snapshot_json", other_parser, other)) {
    bool snapshot = false;
    ASSERT_EQ(other.get_bool().get(snapshot), simdjson::SUCCESS);
    replay = snapshot ? Replay::kSnapshot : Replay::kNone;
  }
  EXPECT_EQ(replay_name(command.replay), replay_name(replay));
  EXPECT_EQ(command.replay_value, value);
  EXPECT_TRUE(command.epoch.empty());
  EXPECT_TRUE(command.positions.empty());
}

// The C++ client encoders for this command, or nothing where only the JavaScript client has
// one: encode_subscribe takes no replay options, and there is no C++ encoder of `auth`.
std::optional<std::string> encode_command(const Command& command) {
  if (command.binary) {
    uint64_t id = 0;
    const bool has_id = !command.id.empty();
    if (has_id) id = std::stoull(std::string(command.id));
    const std::vector<uint8_t> frame = encode_binary_publish(
        command.topic, bytes(command.data), has_id, static_cast<uint32_t>(id), command.echo);
    return std::string(frame.begin(), frame.end());
  }
  switch (command.op) {
    case Op::kSubscribe:
      if (command.replay != Replay::kNone) return std::nullopt;
      return encode_subscribe(command.topic, command.id, command.policy);
    case Op::kUnsubscribe:
      return encode_unsubscribe(command.topic, command.id);
    case Op::kPublish:
      return encode_publish(command.topic, command.data, command.id, command.echo);
    case Op::kAuth:
      return std::nullopt;
  }
  return std::nullopt;
}

void check_command(const Case& c, Tally& tally) {
  expect_known_keys(c.expect, {"op", "topic", "id_json", "policy", "echo", "data_json", "data_hex",
                               "error", "error_id_json", "from_json", "epoch_json", "last_json",
                               "since_json", "snapshot_json", "token"});
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
  EXPECT_EQ(op_name(command.op), string_field(c.expect, "op").value_or(""));
  EXPECT_EQ(command.topic, string_field(c.expect, "topic").value_or(""));
  EXPECT_EQ(command.id, string_field(c.expect, "id_json").value_or(""));
  EXPECT_EQ(policy_name(command.policy), string_field(c.expect, "policy").value_or("default"));
  EXPECT_EQ(command.echo, bool_field(c.expect, "echo", true));
  EXPECT_EQ(command.binary, c.binary);
  EXPECT_EQ(command.data, expected_data(c.expect));
  EXPECT_EQ(command.token, string_field(c.expect, "token").value_or(""));
  check_replay(command, c.expect);
  if (!c.canonical) return;
  // The client encoders write exactly the golden bytes.
  if (const std::optional<std::string> encoded = encode_command(command)) {
    EXPECT_EQ(*encoded, c.payload);
    ++tally.reencoded;
  }
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
      // A subscribe's ack after a replay carries `complete` instead of a publish's `seq`.
      if (message.has_complete) {
        EXPECT_FALSE(message.has_seq) << "no encoder writes both seq and complete";
        return encode_notice(SubscribeAck{message.id, message.complete});
      }
      return encode_notice(Ack{message.id, message.has_seq, message.seq});
    case ServerMessage::Kind::kError:
      if (const std::optional<ErrorCode> code = error_code_named(message.code)) {
        return encode_notice(Error{message.id, *code, message.text});
      }
      ADD_FAILURE() << "unknown code " << message.code;
      return {};
    case ServerMessage::Kind::kGap:
      return encode_notice(Gap{message.topic, message.missed});
    case ServerMessage::Kind::kRecovery:
      return encode_notice(Recovery{message.topic, message.epoch, message.first, message.from,
                                    message.next, message.complete});
  }
  return {};
}

void check_server_message(const Case& c, Tally& tally) {
  expect_known_keys(c.expect,
                    {"invalid", "type", "topic", "seq", "data_json", "data_hex", "id_json", "code",
                     "text", "missed", "epoch", "first", "from", "next", "complete"});
  ServerMessageParser parser;
  ServerMessage message;
  const bool ok = c.binary ? parser.parse_binary(bytes(c.payload), message)
                           : parser.parse_text(bytes(c.payload), message);
  if (bool_field(c.expect, "invalid", false)) {
    EXPECT_FALSE(ok);
    return;
  }
  ASSERT_TRUE(ok);
  static constexpr const char* kTypes[] = {"msg", "ack", "error", "gap", "recovery"};
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
  EXPECT_EQ(message.epoch, string_field(c.expect, "epoch").value_or(""));
  EXPECT_EQ(message.first, uint_field(c.expect, "first").value_or(0));
  EXPECT_EQ(message.from, uint_field(c.expect, "from").value_or(0));
  EXPECT_EQ(message.next, uint_field(c.expect, "next").value_or(0));
  const std::optional<bool> complete = optional_bool_field(c.expect, "complete");
  EXPECT_EQ(message.has_complete, complete.has_value());
  EXPECT_EQ(message.complete, complete.value_or(false));
  if (c.canonical) {
    EXPECT_EQ(encode_server_message(message), c.payload);
    ++tally.reencoded;
  }
}

// Reads tests/golden/<file> and checks every vector in it.
Tally check_file(const char* file) {
  const std::filesystem::path path =
      std::filesystem::path(__FILE__).parent_path() / "../../golden" / file;
  Tally tally;
  dom::parser parser;
  dom::array cases;
  if (parser.load(path.string()).get(cases)) {
    ADD_FAILURE() << "cannot read " << path;
    return tally;
  }
  for (dom::element element : cases) {
    dom::object object;
    if (element.get_object().get(object)) {
      ADD_FAILURE() << "a vector that is not an object";
      continue;
    }
    Case c;
    std::string_view name, direction, frame, payload;
    EXPECT_EQ(object["name"].get_string().get(name), simdjson::SUCCESS);
    c.name = name;
    SCOPED_TRACE(c.name);
    EXPECT_EQ(object["direction"].get_string().get(direction), simdjson::SUCCESS);
    EXPECT_EQ(object["frame"].get_string().get(frame), simdjson::SUCCESS);
    EXPECT_TRUE(frame == "text" || frame == "binary");
    c.binary = frame == "binary";
    if (object[c.binary ? "payload_hex" : "payload_text"].get_string().get(payload)) {
      ADD_FAILURE() << "no payload";
      continue;
    }
    c.payload = c.binary ? from_hex(payload) : std::string(payload);
    c.canonical = bool_field(object, "canonical", false);
    if (object["expect"].get_object().get(c.expect)) {
      ADD_FAILURE() << "no expect object";
      continue;
    }
    if (direction == "client_to_server") {
      check_command(c, tally);
    } else {
      EXPECT_EQ(direction, "server_to_client");
      check_server_message(c, tally);
    }
    ++tally.count;
    tally.canonical += c.canonical ? 1 : 0;
  }
  return tally;
}

TEST(GoldenTest, MatchesEveryVector) {
  const Tally tally = check_file("pubsub_v1.json");
  EXPECT_GE(tally.count, 60u);
  EXPECT_GE(tally.canonical, 25u);
  EXPECT_EQ(tally.reencoded, tally.canonical);
}

// Section 9 (replay options, recovery, acks with complete) and section 10 (auth, forbidden,
// unauthorized). The six canonical commands have no C++ encoder (replay options and auth
// exist only in the JavaScript client's encoders): they are parsed, not re-encoded.
TEST(GoldenTest, MatchesEveryHistoryAuthVector) {
  const Tally tally = check_file("pubsub_v1_history_auth.json");
  EXPECT_GE(tally.count, 15u);
  EXPECT_GE(tally.canonical, 13u);
  EXPECT_GE(tally.reencoded, 7u);
}

}  // namespace
}  // namespace herald::protocol::pubsub
