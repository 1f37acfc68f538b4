// Private to the Worker's .cc files: the kinds of operations it issues, packed into user_data
// by io::OpTag (kind, generation, slot). Nothing outside broker/net/worker*.cc uses it.
#pragma once

#include <cstdint>

#include "broker/net/worker.h"

namespace herald::broker::net {

enum class Worker::OpKind : uint8_t {
  // Worker operations (generation is 0; slot is 0 or a peer index).
  kAccept = 1,
  kAcceptCancel,
  kTimer,
  kWake,
  kChannel,    // a peer's wakeup (io_uring MSG_RING): its channel to us has items
  kRetry,      // a full channel: retry the overflow soon
  kAcceptTls,  // the multishot accept on the TLS listener
  kAcceptTlsCancel,
  // Connection operations.
  kRecv,
  kSend,
  kCancel,  // pausing a receive, or everything on the file before close_direct
  kShutdown,
  kClose,
  kPeerName,  // SO_PEERNAME through IORING_OP_URING_CMD (per-IP limits, trusted proxies)
};

namespace worker_detail {

// A template so that it needs no access to the private Worker::OpKind: its callers name it.
template <typename Kind>
uint64_t encode(Kind kind, uint32_t generation, uint32_t slot) {
  return io::OpTag{static_cast<uint8_t>(kind), generation, slot}.pack();
}

}  // namespace worker_detail
}  // namespace herald::broker::net
