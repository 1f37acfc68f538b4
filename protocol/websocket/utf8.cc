// UTF-8 validation (RFC 3629 §4) of whole texts and of texts in pieces. simdjson checks the
// bulk; a scalar check covers only the code point that straddles two pieces.
#include "protocol/websocket/utf8.h"

#include <simdjson.h>

#include <algorithm>
#include <cassert>

namespace herald::protocol::websocket {
namespace {

// pending_bytes_ once feed() has failed: every later feed() fails too, and at_boundary() is
// false, since no continuation can repair the text.
constexpr uint8_t kFailed = 0xFF;

bool is_continuation(uint8_t byte) { return (byte & 0xC0) == 0x80; }

// The length of the sequence `lead` starts, or 0 if no valid UTF-8 contains it as a lead:
// a continuation byte, 0xC0 and 0xC1 (always overlong) or 0xF5-0xFF (above U+10FFFF).
size_t sequence_bytes(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `bytes` (starting with a lead byte, at most one sequence long) can begin a valid
// sequence. The second byte's range depends on the lead (RFC 3629 §4): E0 excludes overlongs,
// ED excludes the surrogates U+D800-DFFF, F0 excludes overlongs, F4 caps at U+10FFFF.
bool is_valid_prefix(const uint8_t* bytes, size_t size) {
  size_t length = sequence_bytes(bytes[0]);
  if (length == 0 || size > length) return false;
  if (size >= 2) {
    uint8_t low = 0x80;
    uint8_t high = 0xBF;
    switch (bytes[0]) {
      case 0xE0:
        low = 0xA0;
        break;
      case 0xED:
        high = 0x9F;
        break;
      case 0xF0:
        low = 0x90;
        break;
      case 0xF4:
        high = 0x8F;
        break;
      default:
        break;
    }
    if (bytes[1] < low || bytes[1] > high) return false;
  }
  for (size_t i = 2; i < size; ++i) {
    if (!is_continuation(bytes[i])) return false;
  }
  return true;
}

bool validate_bulk(const uint8_t* bytes, size_t size) {
  return size == 0 || simdjson::validate_utf8(reinterpret_cast<const char*>(bytes), size);
}

}  // namespace

bool is_valid_utf8(std::span<const uint8_t> bytes) {
  return validate_bulk(bytes.data(), bytes.size());
}

bool Utf8Validator::feed(std::span<const uint8_t> bytes) {
  if (pending_bytes_ == kFailed) return false;
  if (!feed_piece(bytes.data(), bytes.size())) {
    pending_bytes_ = kFailed;
    return false;
  }
  return true;
}

bool Utf8Validator::feed_piece(const uint8_t* data, size_t size) {
  // Complete the code point carried from the previous piece, byte by byte.
  if (pending_bytes_ > 0) {
    size_t length = sequence_bytes(pending_[0]);
    size_t take = std::min(length - pending_bytes_, size);
    std::copy_n(data, take, pending_ + pending_bytes_);
    pending_bytes_ = static_cast<uint8_t>(pending_bytes_ + take);
    if (!is_valid_prefix(pending_, pending_bytes_)) return false;
    if (pending_bytes_ < length) return true;  // the piece ended inside the code point
    pending_bytes_ = 0;
    data += take;
    size -= take;
  }

  // Find a sequence cut off by the end of the piece: a lead byte among the last three bytes
  // that announces more bytes than follow it. Everything before it goes to simdjson.
  size_t tail = 0;
  for (size_t back = 1; back <= std::min<size_t>(3, size); ++back) {
    uint8_t byte = data[size - back];
    if (is_continuation(byte)) continue;
    size_t length = sequence_bytes(byte);
    if (length == 0) return false;
    if (length > back) tail = back;
    break;
  }
  if (!validate_bulk(data, size - tail)) return false;
  if (tail == 0) return true;
  // Keep the tail only if some continuation could still make it valid: "\xF4\x90" or
  // "\xED\xA0" fail now, not when the message ends.
  if (!is_valid_prefix(data + size - tail, tail)) return false;
  assert(tail < sizeof(pending_));
  std::copy_n(data + size - tail, tail, pending_);
  pending_bytes_ = static_cast<uint8_t>(tail);
  return true;
}

}  // namespace herald::protocol::websocket
