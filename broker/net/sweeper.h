// The once-a-second decisions about one connection (timeouts are swept, not timed per socket):
// close timeouts while flushing, lingering or closing, the handshake (slowloris) timeout, the
// idle ping then the idle close, giving an idle connection's buffers back, and the access
// deadlines (asked of the AccessGate). Pure: it reads a copy of the connection's state and
// returns actions; the worker carries them out and counts them.
#pragma once

#include <cstdint>
#include <optional>

#include "broker/net/access_gate.h"
#include "broker/net/config.h"
#include "broker/net/connection.h"
#include "protocol/websocket/session.h"

namespace herald::broker::net {

// What the sweep reads of a connection.
struct SweepInput {
  Connection::Phase phase = Connection::Phase::kActive;
  protocol::websocket::Session::State session = protocol::websocket::Session::State::kHandshake;
  // The accept, the last phase change, the Close sent, or the idle ping sent.
  uint64_t phase_since_ms = 0;
  uint64_t last_receive_ms = 0;
  bool ping_sent = false;              // an idle ping is out and nothing arrived since
  bool shrunk = false;                 // the buffers were given back since the last receive
  bool tls_handshake_pending = false;  // TLS whose handshake has not finished
  bool pubsub = false;                 // the "/" route: the access deadlines apply
  const AccessState* access = nullptr;
};

// What to do, in this order: a cut ends the sweep; otherwise the access close, the shrink and
// the idle action each apply when set.
struct SweepActions {
  enum class Cut : uint8_t {
    kNone,
    kCloseTimeout,      // drop TCP: a peer that does not read, hang up or answer our Close
    kHandshakeTimeout,  // drop TCP: a handshake that dribbles in forever
  };
  enum class Idle : uint8_t {
    kNone,
    kPing,   // silent for the idle timeout: send an empty ping
    kClose,  // the ping went unanswered for the idle timeout: close 1001
  };
  Cut cut = Cut::kNone;
  bool tls_handshake_failed = false;     // with kHandshakeTimeout: count a TLS failure too
  std::optional<AccessDeadline> access;  // close the WebSocket (4001, 4003)
  bool shrink = false;                   // give back the Session's, queue's and TLS buffers
  Idle idle = Idle::kNone;
};

// Thread: the owning worker's. `config` and `gate` must outlive it.
class Sweeper {
 public:
  // Silence after which a connection's buffers are given back.
  static constexpr uint64_t kShrinkAfterMs = 1000;

  Sweeper(const ServerConfig& config, const AccessGate& gate) : config_(config), gate_(gate) {}

  // `now_ms` is monotonic, `unix_now_s` the wall clock (token expiry).
  [[nodiscard]] SweepActions decide(const SweepInput& input, uint64_t now_ms,
                                    int64_t unix_now_s) const;

 private:
  const ServerConfig& config_;
  const AccessGate& gate_;
};

}  // namespace herald::broker::net
