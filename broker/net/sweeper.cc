// The sweep's decisions; the worker's sweep (worker_lifecycle.cc) carries them out.
#include "broker/net/sweeper.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;

SweepActions Sweeper::decide(const SweepInput& input, uint64_t now_ms, int64_t unix_now_s) const {
  SweepActions actions;
  const uint64_t since = now_ms - input.phase_since_ms;
  if (input.phase == Connection::Phase::kClosing) return actions;
  if (input.phase != Connection::Phase::kActive) {
    // Flushing to, or lingering for, a peer that does not read or does not hang up.
    if (since >= config_.close_timeout_ms) actions.cut = SweepActions::Cut::kCloseTimeout;
    return actions;
  }
  switch (input.session) {
    case ws::Session::State::kHandshake:
    case ws::Session::State::kDeciding:
      if (since >= config_.handshake_timeout_ms) {
        actions.cut = SweepActions::Cut::kHandshakeTimeout;
        actions.tls_handshake_failed = input.tls_handshake_pending;
      }
      return actions;
    case ws::Session::State::kClosing:
      if (since >= config_.close_timeout_ms) actions.cut = SweepActions::Cut::kCloseTimeout;
      return actions;
    case ws::Session::State::kClosed:
      return actions;
    case ws::Session::State::kOpen:
      break;
  }
  // The echo route (a test tool behind --echo) has no commands, so no auth command either.
  if (input.pubsub && input.access != nullptr) {
    actions.access = gate_.overdue(*input.access, now_ms, unix_now_s);
  }
  const uint64_t silent_ms = now_ms - input.last_receive_ms;
  actions.shrink = silent_ms >= kShrinkAfterMs && !input.shrunk;
  if (input.ping_sent) {
    // `since` counts from the ping.
    if (since >= config_.idle_timeout_ms) actions.idle = SweepActions::Idle::kClose;
  } else if (silent_ms >= config_.idle_timeout_ms) {
    actions.idle = SweepActions::Idle::kPing;
  }
  return actions;
}

}  // namespace herald::broker::net
