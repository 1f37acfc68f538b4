// The server's notices, every message it sends but `msg` (PROTOCOL.md sections 4 and 9), as
// values. One is measured and then written by the same code, so a broker can put it, WebSocket
// header included, into a buffer of exactly its size, as it does message frames: one
// allocation, no copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/pubsub/command.h"

namespace herald::protocol::pubsub {

// Every `id` is raw JSON as in Command::id, empty when the command had none.
struct Ack {  // {"type":"ack","id":...,"seq":...}
  std::string_view id;
  bool has_seq = false;
  uint64_t seq = 0;
};
struct SubscribeAck {  // a subscribe with history: {"type":"ack","id":...,"complete":...}
  std::string_view id;
  bool complete = true;
};
struct Error {
  std::string_view id;
  ErrorCode code = ErrorCode::kBadRequest;
  std::string_view text;
};
struct Gap {
  std::string_view topic;
  uint64_t missed = 0;
};
// What a `recovery` message tells about one topic's replay.
struct Recovery {
  std::string_view topic;  // passes check_topic
  std::string_view epoch;  // 16 lowercase hex digits
  uint64_t first = 0;      // first retained sequence, 0 when none
  uint64_t from = 0;       // first replayed sequence
  uint64_t next = 0;       // sequence of the first live message after the replay
  bool complete = true;
};

// {"type":"reconnect","after_ms":...,"jitter_ms":...,"reason":...}: move to another server.
struct Reconnect {
  uint64_t after_ms = 0;
  uint64_t jitter_ms = 0;
  std::string_view reason;  // empty: no reason field
};

using Notice = std::variant<Ack, SubscribeAck, Error, Gap, Recovery, Reconnect>;

// The JSON text alone (a client's codec tests, logs).
[[nodiscard]] std::string encode_notice(const Notice& message);
// The complete unmasked text frame: its exact size, and writing it into `out` of that size.
// Returns the bytes written.
[[nodiscard]] size_t notice_frame_bytes(const Notice& message);
size_t write_notice_frame(uint8_t* out, const Notice& message);

}  // namespace herald::protocol::pubsub
