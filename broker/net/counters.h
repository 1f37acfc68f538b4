// Per-worker counters: each written only by its worker's thread (relaxed load and store, no
// locked instruction on the hot path) and read by /metrics on any worker. Knows nothing of how
// they are exported; snapshot() turns them into the core's plain WorkerMetrics.
#pragma once

#include <cstdint>

#include "broker/core/metrics.h"
#include "protocol/websocket/close_code.h"

namespace herald::broker::net {

struct WorkerCounters {
  using Counter = core::Counter;

  Counter connections;    // gauge: accepted, not refused, not yet released
  Counter subscriptions;  // gauge: this worker's router
  Counter connections_accepted;
  Counter connections_closed;
  Counter connections_refused;  // answered 503 at the connection limit
  Counter messages_in;
  Counter messages_out;
  Counter messages_published;  // sequenced here (this worker owns the topic)
  Counter messages_delivered;  // frames queued to subscribers of this worker
  Counter bytes_in;
  Counter bytes_out;
  Counter command_errors;
  Counter slow_consumer[core::kSlowConsumerActions];  // indexed by core::SlowConsumerAction
  Counter busy_ns;                                    // time outside io_uring_enter waits
  Counter io_errors;        // receive or send failed (reset, broken pipe, ...)
  Counter abnormal_closes;  // TCP ended without a close handshake (1006)
  Counter handshake_timeouts;
  Counter idle_timeouts;
  Counter close_timeouts;          // the peer did not answer our Close or drain its socket
  Counter recv_buffer_shortages;   // -ENOBUFS: the provided buffer ring ran dry
  Counter recv_pauses;             // reading stopped because the send queue was full
  Counter channel_overflows;       // an inter-worker channel was full; items waited locally
  Counter tls_handshakes;          // TLS handshakes completed
  Counter tls_resumptions;         // of which resumed a session (ticket or session id)
  Counter tls_handshake_failures;  // failed or timed out before completing
  Counter replays;                 // subscribes with from, last, since or snapshot
  Counter replayed_messages;       // frames queued from the log: replays and catch-ups
  Counter catchups;                // live subscriptions switched to the log by `catchup`
  Counter storage_failures;        // appends settled as failed (set from their tickets)
  // Close handshakes by code 1000..1015 (1002, 1007 and 1009 are protocol errors); other codes
  // (3000-4999) count in close_codes_other.
  static constexpr int kCloseCodeFirst = 1000;
  static constexpr int kCloseCodeSlots = 16;
  Counter close_codes[kCloseCodeSlots];
  Counter close_codes_other;
  Counter refusals[core::kRefusalKinds];  // indexed by core::Refusal

  void count_refusal(core::Refusal refusal) { ++refusals[static_cast<size_t>(refusal)]; }

  void count_close(protocol::websocket::CloseCode code) {
    int value = static_cast<int>(code);
    if (value >= kCloseCodeFirst && value < kCloseCodeFirst + kCloseCodeSlots) {
      ++close_codes[value - kCloseCodeFirst];
    } else {
      ++close_codes_other;
    }
  }
  void count_slow(core::SlowConsumerAction action) { ++slow_consumer[static_cast<size_t>(action)]; }

  // Any thread: the values /metrics reports.
  [[nodiscard]] core::WorkerMetrics snapshot() const {
    core::WorkerMetrics m;
    m.connections = connections.load();
    m.connections_accepted = connections_accepted.load();
    m.subscriptions = subscriptions.load();
    m.messages_published = messages_published.load();
    m.messages_delivered = messages_delivered.load();
    m.bytes_in = bytes_in.load();
    m.bytes_out = bytes_out.load();
    for (size_t i = 0; i < core::kSlowConsumerActions; ++i) {
      m.slow_consumer[i] = slow_consumer[i].load();
    }
    m.command_errors = command_errors.load();
    m.busy_ns = busy_ns.load();
    m.tls_handshakes = tls_handshakes.load();
    m.tls_resumptions = tls_resumptions.load();
    m.tls_handshake_failures = tls_handshake_failures.load();
    m.replays = replays.load();
    m.replayed_messages = replayed_messages.load();
    m.catchups = catchups.load();
    m.storage_failures = storage_failures.load();
    for (size_t i = 0; i < core::kProtocolErrorCodes.size(); ++i) {
      m.protocol_errors[i] = close_codes[core::kProtocolErrorCodes[i] - kCloseCodeFirst].load();
    }
    for (size_t i = 0; i < core::kRefusalKinds; ++i) m.refusals[i] = refusals[i].load();
    return m;
  }
};

}  // namespace herald::broker::net
