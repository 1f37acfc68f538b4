// Server-to-client encoding (PROTOCOL.md sections 4 and 5). A message is encoded once into a
// complete WebSocket frame (header included) that every subscriber's queue can share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/pubsub/command.h"

namespace herald::protocol::pubsub {

// The most bytes encode_message_frame() writes for this message, WebSocket header included,
// whatever its seq: a text frame's length depends on the digits of seq, so it may write fewer
// (the returned count is the frame). Exact for binary frames.
[[nodiscard]] size_t message_frame_bytes(std::string_view topic, size_t data_bytes, bool binary);
// The exact bytes encode_message_frame() writes for this message and seq.
[[nodiscard]] size_t message_frame_bytes(std::string_view topic, uint64_t seq, size_t data_bytes,
                                         bool binary);

// Writes a complete unmasked server frame: a text frame
// {"type":"msg","topic":...,"seq":...,"data":<data>} when !binary (data is raw JSON, copied
// byte for byte), or a binary frame in the section 5 layout. `out` must hold
// message_frame_bytes() bytes (either overload). One pass, no allocation. `topic` must pass
// check_topic (so it never needs JSON escaping). Returns the bytes written.
size_t encode_message_frame(uint8_t* out, std::string_view topic, uint64_t seq,
                            std::span<const uint8_t> data, bool binary);

// Payloads of text frames (the caller frames them, e.g. Session::send_text).
// `id` is raw JSON as in Command::id; `seq` is included when has_seq.
[[nodiscard]] std::string encode_ack(std::string_view id, bool has_seq, uint64_t seq);
[[nodiscard]] std::string encode_error(std::string_view id, ErrorCode code, std::string_view text);
[[nodiscard]] std::string encode_gap(std::string_view topic, uint64_t missed);

// What a `recovery` message tells about one topic's replay (PROTOCOL.md section 9).
struct Recovery {
  std::string_view topic;  // passes check_topic
  std::string_view epoch;  // 16 lowercase hex digits
  uint64_t first = 0;      // first retained sequence, 0 when none
  uint64_t from = 0;       // first replayed sequence
  uint64_t next = 0;       // sequence of the first live message after the replay
  bool complete = true;
};
[[nodiscard]] std::string encode_recovery(const Recovery& recovery);
// The ack of a subscribe with history: {"type":"ack","id":...,"complete":...}.
[[nodiscard]] std::string encode_subscribe_ack(std::string_view id, bool complete);

}  // namespace herald::protocol::pubsub
