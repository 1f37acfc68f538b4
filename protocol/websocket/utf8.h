// UTF-8 validation (RFC 3629) for text messages and close reasons, whole or in pieces.
// Bulk validation is SIMD (simdjson); only the few bytes that straddle a piece boundary are
// checked by the scalar state machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace herald::protocol::websocket {

[[nodiscard]] bool is_valid_utf8(std::span<const uint8_t> bytes);

// Validates a text message that arrives in pieces (fragments, or a payload split across
// reads). Fails at the first piece that contains a byte sequence no valid UTF-8 text can
// contain, not at the end of the message (RFC 6455 §8.1).
class Utf8Validator {
 public:
  // Returns false once the bytes fed so far cannot begin any valid UTF-8 string.
  [[nodiscard]] bool feed(std::span<const uint8_t> bytes);
  // True when the bytes fed so far end on a code point boundary.
  [[nodiscard]] bool at_boundary() const { return pending_bytes_ == 0; }
  void reset() { pending_bytes_ = 0; }

 private:
  bool feed_piece(const uint8_t* data, size_t size);

  uint8_t pending_[4] = {};  // an incomplete code point carried to the next piece
  uint8_t pending_bytes_ = 0;
};

}  // namespace herald::protocol::websocket
