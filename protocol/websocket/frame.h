// The WebSocket frame header (RFC 6455 §5.2): opcodes and the header writers.
// Servers write unmasked frames with minimal length encoding; clients write masked ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace herald::protocol::websocket {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline constexpr size_t kServerFrameHeaderBytesMax = 10;
inline constexpr size_t kClientFrameHeaderBytesMax = 14;
inline constexpr size_t kControlPayloadBytesMax = 125;

[[nodiscard]] constexpr bool is_control(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// Bytes of an unmasked (server) frame header: RFC 6455 section 5.2's shortest length encoding,
// as write_frame_header() uses.
[[nodiscard]] constexpr size_t frame_header_bytes(uint64_t payload_bytes) {
  if (payload_bytes <= 125) return 2;
  if (payload_bytes <= 0xFFFF) return 4;
  return 10;
}

// Writes an unmasked (server) frame header into `out`, which must hold
// kServerFrameHeaderBytesMax bytes. Uses the shortest length encoding. Returns bytes written.
size_t write_frame_header(uint8_t* out, Opcode opcode, uint64_t payload_bytes, bool fin = true);

// Writes a masked (client) frame header into `out`, which must hold kClientFrameHeaderBytesMax
// bytes. `mask_key` holds the four key bytes in wire order (memcpy of the key). The caller
// masks the payload itself with unmask() (masking is its own inverse). Returns bytes written.
size_t write_masked_frame_header(uint8_t* out, Opcode opcode, uint64_t payload_bytes,
                                 uint32_t mask_key, bool fin = true);

// A frame's header as written on the wire.
struct FrameHeader {
  Opcode opcode = Opcode::kText;
  bool fin = true;
  bool masked = false;
  uint8_t rsv = 0;          // the three RSV bits, in place (0x70 of the first byte)
  size_t header_bytes = 0;  // with the masking key, when there is one
  uint64_t payload_bytes = 0;
};

// The header at the front of `bytes` once all of it has arrived (payload or not), else
// nullopt: for a reader that takes frames whole and must know how many bytes to wait for.
[[nodiscard]] std::optional<FrameHeader> peek_frame_header(std::span<const uint8_t> bytes);

// Reads the unmasked frame header at the front of `frame`, which holds the whole frame: for a
// server walking frames it queued (to compress them, RFC 7692). nullopt when the header is
// masked, incomplete, or announces more payload than `frame` holds.
[[nodiscard]] std::optional<FrameHeader> read_frame_header(std::span<const uint8_t> frame);

}  // namespace herald::protocol::websocket
