// The bench's counters summed across connections and across idle-scenario children; nothing
// here touches a socket.
#include <algorithm>

#include "clients/cpp/bench/client_loop.h"

namespace herald::bench {

void DialStats::add(const DialStats& other) {
  attempted += other.attempted;
  opened += other.opened;
  connect_errors += other.connect_errors;
  rejected += other.rejected;
  timeouts += other.timeouts;
  closed += other.closed;
  tls_failures += other.tls_failures;
  if (other.last_http_status != 0) last_http_status = other.last_http_status;
  elapsed_ns = std::max(elapsed_ns, other.elapsed_ns);
  for (int i = 0; i < kErrnoMax; ++i) errno_counts[i] += other.errno_counts[i];
}

void TrafficStats::add(const TrafficStats& other) {
  deflate_connections += other.deflate_connections;
  deflate_refused += other.deflate_refused;
  socket_bytes_received += other.socket_bytes_received;
  frame_bytes_received += other.frame_bytes_received;
  messages_received += other.messages_received;
  message_bytes_received += other.message_bytes_received;
  messages_sent_compressed += other.messages_sent_compressed;
}

void CloseStats::add(const CloseStats& other) {
  peer_closed += other.peer_closed;
  eof += other.eof;
  io_errors += other.io_errors;
  protocol_errors += other.protocol_errors;
  clean += other.clean;
  close_timeouts += other.close_timeouts;
}

}  // namespace herald::bench
