// Per-worker counters: plain integers written only by their worker's thread (no atomics on the
// hot path); a later /metrics endpoint reads them. Knows nothing of how they are exported.
#pragma once

#include <cstdint>

#include "protocol/websocket/close_code.h"

namespace herald::broker::net {

struct WorkerCounters {
  uint64_t connections_accepted = 0;
  uint64_t connections_closed = 0;
  uint64_t connections_refused = 0;  // answered 503 at the connection limit
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t io_errors = 0;        // receive or send failed (reset, broken pipe, ...)
  uint64_t abnormal_closes = 0;  // TCP ended without a close handshake (1006)
  uint64_t handshake_timeouts = 0;
  uint64_t idle_timeouts = 0;
  uint64_t close_timeouts = 0;         // the peer did not answer our Close or drain its socket
  uint64_t recv_buffer_shortages = 0;  // -ENOBUFS: the provided buffer ring ran dry
  uint64_t recv_pauses = 0;            // reading stopped because the send queue was full
  // Close handshakes by code 1000..1015 (1002, 1007 and 1009 are protocol errors); other codes
  // (3000-4999) count in close_codes_other.
  static constexpr int kCloseCodeFirst = 1000;
  static constexpr int kCloseCodeSlots = 16;
  uint64_t close_codes[kCloseCodeSlots] = {};
  uint64_t close_codes_other = 0;

  void count_close(protocol::websocket::CloseCode code) {
    int value = static_cast<int>(code);
    if (value >= kCloseCodeFirst && value < kCloseCodeFirst + kCloseCodeSlots) {
      ++close_codes[value - kCloseCodeFirst];
    } else {
      ++close_codes_other;
    }
  }
};

}  // namespace herald::broker::net
