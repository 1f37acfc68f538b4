// Why the broker closes a WebSocket, and the one mapping of each reason to its close code
// (RFC 6455 §7.4, PROTOCOL.md section 8), the reason text sent with it and its metric label.
// Every close the broker starts goes through close_spec(); the Session's own protocol closes
// (1002, 1007, 1009) are the protocol layer's and counted by code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/websocket/close_code.h"

namespace herald::broker::core {

enum class CloseReason : uint8_t {
  kShutdown,      // 1001: SIGINT/SIGTERM, the graceful shutdown
  kIdleTimeout,   // 1001: no answer to our ping within --idle-timeout-ms
  kTlsEnded,      // 1001: the TLS layer ended (close_notify or a TLS error); nothing is sent
  kBadCommands,   // 1008: 16 bad commands in a row
  kSlowConsumer,  // 1008: the disconnect policy, or a gap the broker could no longer track
  kUnauthorized,  // 4001: auth required and no valid token in time
  kTokenExpired,  // 4003: the token's exp passed
};

inline constexpr size_t kCloseReasons = 7;

struct CloseSpec {
  protocol::websocket::CloseCode code;
  std::string_view text;   // the Close frame's reason (may be empty)
  std::string_view label;  // herald_closes_total{reason="..."}
};

[[nodiscard]] CloseSpec close_spec(CloseReason reason);

// For the metric table: the label of index `i` (a CloseReason).
[[nodiscard]] std::string close_reason_label(size_t i);

}  // namespace herald::broker::core
