// The client side of the protocol (PROTOCOL.md): commands out, server messages in. Used by
// the C++ client library, the CLI, the load generator and the tests. Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/pubsub/command.h"

namespace herald::protocol::pubsub {

// JSON text-frame payloads. `id` is raw JSON (e.g. "\"s1\"" or "7"), empty for none.
[[nodiscard]] std::string encode_subscribe(std::string_view filter, std::string_view id = {},
                                           Policy policy = Policy::kDefault);
[[nodiscard]] std::string encode_unsubscribe(std::string_view filter, std::string_view id = {});
// `data_json` must be one valid JSON value; it is embedded as is.
[[nodiscard]] std::string encode_publish(std::string_view topic, std::string_view data_json,
                                         std::string_view id = {}, bool echo = true);
// A binary publish payload (section 5). `has_id` adds the 32-bit id. Empty when the topic
// cannot be framed (empty or over 255 bytes).
[[nodiscard]] std::vector<uint8_t> encode_binary_publish(std::string_view topic,
                                                         std::span<const uint8_t> payload,
                                                         bool has_id = false, uint32_t id = 0,
                                                         bool echo = true);

struct ServerMessage {
  enum class Kind : uint8_t { kMessage, kAck, kError, kGap, kRecovery };
  Kind kind = Kind::kMessage;
  std::string_view topic;  // kMessage, kGap
  uint64_t seq = 0;        // kMessage; kAck when has_seq
  bool has_seq = false;
  bool binary = false;    // kMessage came in a binary frame
  std::string_view data;  // kMessage: raw JSON (text) or payload (binary)
  std::string_view id;    // kAck, kError: raw JSON id, or empty
  std::string_view code;  // kError: e.g. "bad_topic"
  std::string_view text;  // kError
  uint64_t missed = 0;    // kGap
  // kRecovery (PROTOCOL.md section 9); `complete` also on a subscribe's kAck (has_complete).
  std::string_view epoch;
  uint64_t first = 0;
  uint64_t from = 0;
  uint64_t next = 0;
  bool complete = false;
  bool has_complete = false;
};

// Parses what the server sends. Views point into the parser's copy (text) or the frame
// (binary) and stay valid until the next call. Returns false for anything malformed.
class ServerMessageParser {
 public:
  ServerMessageParser();
  ~ServerMessageParser();
  ServerMessageParser(const ServerMessageParser&) = delete;
  ServerMessageParser& operator=(const ServerMessageParser&) = delete;

  [[nodiscard]] bool parse_text(std::span<const uint8_t> frame, ServerMessage& out);
  [[nodiscard]] bool parse_binary(std::span<const uint8_t> frame, ServerMessage& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace herald::protocol::pubsub
