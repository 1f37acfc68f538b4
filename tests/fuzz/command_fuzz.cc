// Fuzzes CommandParser (PROTOCOL.md sections 3 and 5) and ServerMessageParser. Accepted
// commands must satisfy the protocol's invariants and survive encode -> parse round trips.
// Traps otherwise.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"
#include "protocol/pubsub/encode.h"
#include "protocol/pubsub/topic.h"

namespace herald::protocol::pubsub {
namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

bool inside(std::string_view part, std::span<const uint8_t> whole) {
  const auto* begin = reinterpret_cast<const char*>(whole.data());
  return part.data() >= begin && part.data() + part.size() <= begin + whole.size();
}

bool same_command(const Command& a, const Command& b) {
  return a.op == b.op && a.topic == b.topic && a.id == b.id && a.data == b.data &&
         a.binary == b.binary && a.echo == b.echo && a.policy == b.policy;
}

// A publish's message frame, parsed back by the client, carries the same topic, seq and data.
void check_message_round_trip(const Command& command, uint64_t seq) {
  std::vector<uint8_t> frame(
      message_frame_bytes(command.topic, command.data.size(), command.binary));
  const size_t written =
      encode_message_frame(frame.data(), command.topic, seq, bytes(command.data), command.binary);
  check(written <= frame.size());
  check(written == message_frame_bytes(command.topic, seq, command.data.size(), command.binary));
  const uint8_t length = frame[1] & 0x7f;
  const size_t header = length == 127 ? 10 : length == 126 ? 4 : 2;
  const std::span<const uint8_t> payload(frame.data() + header, written - header);
  ServerMessageParser client;
  ServerMessage message;
  check(command.binary ? client.parse_binary(payload, message)
                       : client.parse_text(payload, message));
  check(message.kind == ServerMessage::Kind::kMessage);
  check(message.topic == command.topic && message.seq == seq && message.data == command.data);
  check(message.binary == command.binary);
}

// The client encoders rebuild an equivalent command from the parsed fields.
void check_command_round_trip(const Command& command) {
  CommandParser parser;
  ParseResult result;
  if (command.binary) {
    const bool has_id = !command.id.empty();
    const uint32_t id = has_id ? static_cast<uint32_t>(std::stoul(std::string(command.id))) : 0;
    const std::vector<uint8_t> frame =
        encode_binary_publish(command.topic, bytes(command.data), has_id, id, command.echo);
    result = parser.parse_binary(frame);
    check(result.ok && same_command(result.command, command));
    return;
  }
  std::string text;
  if (command.op == Op::kSubscribe) {
    text = encode_subscribe(command.topic, command.id, command.policy);
  } else if (command.op == Op::kUnsubscribe) {
    text = encode_unsubscribe(command.topic, command.id);
  } else {
    text = encode_publish(command.topic, command.data, command.id, command.echo);
  }
  result = parser.parse_text(bytes(text));
  check(result.ok && same_command(result.command, command));
}

void check_command(const ParseResult& result, std::span<const uint8_t> frame, bool binary) {
  if (!result.ok) {
    check(!result.error_text.empty());
    return;
  }
  const Command& command = result.command;
  check(command.binary == binary);
  if (command.op == Op::kAuth) {
    // Only id and token: the token is a view of bytes written in the frame.
    check(!binary && command.topic.empty() && command.data.empty());
    const std::string_view text(reinterpret_cast<const char*>(frame.data()), frame.size());
    check(text.find(command.token) != std::string_view::npos);
    return;
  }
  if (command.op == Op::kPublish) {
    check(check_topic(command.topic) == TopicError::kNone);
  } else {
    check(check_filter(command.topic) == TopicError::kNone);
    check(command.data.empty() && command.echo);
  }
  if (command.op != Op::kSubscribe) check(command.policy == Policy::kDefault);
  if (command.op != Op::kSubscribe) check(command.replay == Replay::kNone);
  // Section 9: a pattern's positions name distinct topics it matches, within the bound.
  check(command.positions.size() <= kReplayTopicsMax);
  check(command.positions.empty() ||
        (command.replay == Replay::kFrom && is_pattern(command.topic)));
  check(command.epoch.empty() || command.epoch.size() == kEpochChars);
  for (const TopicPosition& position : command.positions) {
    check(filter_matches(command.topic, position.topic));
    check(position.epoch.empty() || position.epoch.size() == kEpochChars);
  }
  const std::string_view input(reinterpret_cast<const char*>(frame.data()), frame.size());
  if (binary) {
    // Topic and payload are views into the frame; the payload runs to its end.
    check(inside(command.topic, frame) && inside(command.data, frame));
    check(command.data.data() + command.data.size() == input.data() + input.size());
  } else {
    // Views into the parser's copy, never the caller's frame, holding the same bytes.
    check(!inside(command.topic, frame) && input.find(command.topic) != std::string_view::npos);
    check(input.find(command.data) != std::string_view::npos);
    check(input.find(command.id) != std::string_view::npos);
    check(command.op != Op::kPublish || !command.data.empty());
  }
  check(command.id.size() <= kIdBytesMax + 2);
  check_command_round_trip(command);
  if (command.op == Op::kPublish) check_message_round_trip(command, frame.size() * 7919u);
}

}  // namespace
}  // namespace herald::protocol::pubsub

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::protocol::pubsub;
  if (size == 0) return 0;
  // One parser for all inputs, as on a worker thread: reuse must not leak state.
  static CommandParser parser;
  const bool binary = (data[0] & 1) != 0;
  const std::span<const uint8_t> frame(data + 1, size - 1);
  const ParseResult first = binary ? parser.parse_binary(frame) : parser.parse_text(frame);
  // Copies: the next parse call ends the views.
  const std::string topic(first.command.topic);
  const std::string payload(first.command.data);
  const ParseResult again = binary ? parser.parse_binary(frame) : parser.parse_text(frame);
  check(first.ok == again.ok && first.error == again.error);
  check(first.error_text == again.error_text);
  check(!first.ok || (again.command.topic == topic && again.command.data == payload));
  check_command(again, frame, binary);
  // The same bytes as a server message: the client parser must not crash either.
  static ServerMessageParser client;
  ServerMessage message;
  if (binary ? client.parse_binary(frame, message) : client.parse_text(frame, message)) {
    check(message.kind != ServerMessage::Kind::kMessage || message.has_seq);
  }
  return 0;
}
