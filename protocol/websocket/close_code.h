// Close status codes (RFC 6455 §7.4) and which of them may appear on the wire.
// Owns no policy: the broker maps its own close reasons onto these codes in one place.
#pragma once

#include <cstdint>

namespace herald::protocol::websocket {

enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,
  kNoStatus = 1005,  // never sent: stands for "the peer's Close had no payload"
  kAbnormal = 1006,  // never sent: stands for "TCP closed without a Close frame"
  kInvalidPayload = 1007,
  kPolicyViolation = 1008,
  kMessageTooBig = 1009,
  kMandatoryExtension = 1010,
  kInternalError = 1011,
  kTryAgainLater = 1013,
};

// Whether a peer may send `code` in a Close frame: 1000-1003, 1007-1011, 1012-1014 and the
// 3000-4999 ranges for libraries and applications (§7.4.1, §7.4.2, IANA registry).
[[nodiscard]] bool is_valid_wire_close_code(uint16_t code);

}  // namespace herald::protocol::websocket
