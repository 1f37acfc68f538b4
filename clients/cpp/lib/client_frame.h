// Client-to-server frame encoding shared by the blocking Connection and the load generator:
// one masked frame per call (RFC 6455 §5.3), and a fast mask-key generator for benchmarks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/websocket/frame.h"

namespace herald::client {

// RSV1 in a frame's first byte: with permessage-deflate, the message is compressed (RFC 7692 §6).
inline constexpr uint8_t kRsv1Bit = 0x40;

// Bytes a masked frame with `payload_bytes` of payload occupies on the wire (at most).
[[nodiscard]] constexpr size_t client_frame_bytes_max(size_t payload_bytes) {
  return protocol::websocket::kClientFrameHeaderBytesMax + payload_bytes;
}

// Writes one complete masked frame (header, then `payload` XORed with `mask_key`) into `out`,
// which must hold client_frame_bytes_max(payload.size()) bytes and must not overlap
// `payload`. Returns the bytes written.
size_t write_client_frame(uint8_t* out, protocol::websocket::Opcode opcode,
                          std::span<const uint8_t> payload, uint32_t mask_key);

// Writes the header of a masked frame whose payload the caller places right after it, then
// masks in place with mask_payload(). Lets the load generator build payloads without a copy.
// Returns the header bytes written (out must hold kClientFrameHeaderBytesMax).
size_t write_client_frame_header(uint8_t* out, protocol::websocket::Opcode opcode,
                                 uint64_t payload_bytes, uint32_t mask_key);
void mask_payload(std::span<uint8_t> payload, uint32_t mask_key);

// splitmix64: a few nanoseconds per key and statistically sound. Masking only has to stop a
// script from choosing the bytes a proxy sees (§10.3); a benchmark talking to its own broker
// over loopback needs no cryptographic generator, only a fresh seed per process.
// Not thread-safe: one generator per thread.
class MaskKeyGenerator {
 public:
  MaskKeyGenerator();  // seeded from std::random_device
  explicit MaskKeyGenerator(uint64_t seed) : state_(seed) {}

  [[nodiscard]] uint32_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return static_cast<uint32_t>(z ^ (z >> 31));
  }

 private:
  uint64_t state_;
};

}  // namespace herald::client
