// Frame header writers (RFC 6455 §5.2). Writes headers only: payloads and their masking are
// the caller's, so a broadcast payload is never copied to be framed.
#include "protocol/websocket/frame.h"

#include <cstring>

namespace herald::protocol::websocket {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLength16 = 126;
constexpr uint8_t kLength64 = 127;

// Writes the second byte and the extended length after the first byte. §5.2: "the minimal
// number of bytes MUST be used to encode the length". Returns the bytes written after byte 0.
size_t write_length(uint8_t* out, uint64_t payload_bytes, uint8_t mask_bit) {
  if (payload_bytes <= kControlPayloadBytesMax) {
    out[0] = static_cast<uint8_t>(mask_bit | payload_bytes);
    return 1;
  }
  if (payload_bytes <= 0xFFFF) {
    out[0] = mask_bit | kLength16;
    out[1] = static_cast<uint8_t>(payload_bytes >> 8);
    out[2] = static_cast<uint8_t>(payload_bytes);
    return 3;
  }
  out[0] = mask_bit | kLength64;
  // Network byte order (§5.2); lengths never reach 2^63, so the top bit stays clear.
  for (int i = 0; i < 8; ++i) out[1 + i] = static_cast<uint8_t>(payload_bytes >> (56 - 8 * i));
  return 9;
}

uint8_t first_byte(Opcode opcode, bool fin) {
  return static_cast<uint8_t>((fin ? kFinBit : 0) | static_cast<uint8_t>(opcode));
}

}  // namespace

std::optional<FrameHeader> peek_frame_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < 2) return std::nullopt;
  FrameHeader header;
  header.opcode = static_cast<Opcode>(bytes[0] & 0x0F);
  header.fin = (bytes[0] & kFinBit) != 0;
  header.rsv = bytes[0] & 0x70;
  header.masked = (bytes[1] & kMaskBit) != 0;
  const uint8_t length = bytes[1] & 0x7F;
  const size_t extra = length == kLength16 ? 2 : length == kLength64 ? 8 : 0;
  header.header_bytes = 2 + extra + (header.masked ? 4 : 0);
  if (bytes.size() < header.header_bytes) return std::nullopt;
  header.payload_bytes = length;
  if (extra > 0) {
    header.payload_bytes = 0;
    for (size_t i = 0; i < extra; ++i) {
      header.payload_bytes = header.payload_bytes << 8 | bytes[2 + i];
    }
  }
  return header;
}

std::optional<FrameHeader> read_frame_header(std::span<const uint8_t> frame) {
  std::optional<FrameHeader> header = peek_frame_header(frame);
  if (!header || header->masked || header->payload_bytes > frame.size() - header->header_bytes) {
    return std::nullopt;
  }
  return header;
}

size_t write_frame_header(uint8_t* out, Opcode opcode, uint64_t payload_bytes, bool fin) {
  out[0] = first_byte(opcode, fin);
  return 1 + write_length(out + 1, payload_bytes, 0);
}

size_t write_masked_frame_header(uint8_t* out, Opcode opcode, uint64_t payload_bytes,
                                 uint32_t mask_key, bool fin) {
  out[0] = first_byte(opcode, fin);
  size_t size = 1 + write_length(out + 1, payload_bytes, kMaskBit);
  // The key was memcpy'd from wire order, so copying it back restores that order (§5.3).
  std::memcpy(out + size, &mask_key, sizeof(mask_key));
  return size + sizeof(mask_key);
}

}  // namespace herald::protocol::websocket
