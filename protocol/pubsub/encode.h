// Server-to-client message frames (PROTOCOL.md sections 4 and 5). A message is encoded once
// into a complete WebSocket frame (header included) that every subscriber's queue can share.
// The other server messages are notices (notice.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
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

}  // namespace herald::protocol::pubsub
