// The worker's own operations: accepting, the once-a-second sweep (the Sweeper decides, the
// worker closes, pings and counts), the stop eventfd and the graceful shutdown. Connection I/O
// is in worker.cc.
#include <cerrno>

#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"
#include "protocol/websocket/handshake.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
using worker_detail::encode;

void Worker::on_accept_complete(Acceptor& acceptor, const io::Completion& completion, bool tls) {
  if (std::optional<uint32_t> file = acceptor.on_complete(completion, *io_, stopping_, counters_)) {
    open_connection(*file, tls);
  }
}

void Worker::submit_timer() { io_->timeout(&tick_, encode(OpKind::kTimer, 0, 0)); }

void Worker::on_timer_complete() {
  acceptor_.on_tick(*io_, stopping_);
  tls_acceptor_.on_tick(*io_, stopping_);
  bool cut_all = stopping_ && !timed_out_ && now_ms_ >= stop_deadline_ms_;
  if (cut_all) timed_out_ = true;
  const int64_t unix_now_s = auth::unix_now_s();  // token expiry, once per tick
  // Closing never frees synchronously (release waits for completions), so this walk is safe.
  for (Connection* connection : connections_) {
    if (connection == nullptr) continue;
    if (cut_all) {
      close_connection(*connection);
    } else {
      sweep(*connection, unix_now_s);
    }
  }
  submit_timer();
}

void Worker::sweep(Connection& connection, int64_t unix_now_s) {
  SweepInput input;
  input.phase = connection.io.phase;
  input.session = connection.session().state();
  input.phase_since_ms = connection.io.phase_since_ms;
  input.last_receive_ms = connection.io.last_receive_ms;
  input.ping_sent = connection.io.ping_sent;
  input.shrunk = connection.io.shrunk;
  input.tls_handshake_pending = connection.tls() && !connection.tls()->handshake_done();
  input.pubsub = connection.route() == Connection::Route::kPubSub;
  input.access = &connection.access;
  const SweepActions actions = sweeper_.decide(input, now_ms_, unix_now_s);
  switch (actions.cut) {
    case SweepActions::Cut::kNone:
      break;
    case SweepActions::Cut::kCloseTimeout:
      ++counters_.close_timeouts;
      close_connection(connection);
      return;
    case SweepActions::Cut::kHandshakeTimeout:
      ++counters_.handshake_timeouts;
      if (actions.tls_handshake_failed) ++counters_.tls_handshake_failures;
      counters_.count_refusal(core::Refusal::kHandshakeTimeout);
      close_connection(connection);
      return;
  }
  if (actions.access) {
    counters_.count_refusal(actions.access->refusal);
    close_websocket(connection, actions.access->reason);
  }
  if (actions.shrink) {
    connection.session().shrink();
    connection.queue().shrink();
    if (connection.tls() && connection.io.send_op == nullptr) connection.tls()->shrink();
    connection.io.shrunk = true;
  }
  switch (actions.idle) {
    case SweepActions::Idle::kNone:
      break;
    case SweepActions::Idle::kPing:
      connection.ping();
      connection.io.ping_sent = true;
      connection.io.phase_since_ms = now_ms_;
      schedule_flush(connection);
      break;
    case SweepActions::Idle::kClose:
      ++counters_.idle_timeouts;
      close_websocket(connection, core::CloseReason::kIdleTimeout);
      break;
  }
}

void Worker::submit_wake_read() {
  io_->read(wake_fd_, &wake_value_, sizeof(wake_value_), encode(OpKind::kWake, 0, 0));
}

void Worker::on_wake_complete() {
  // The eventfd carries request_stop() and, where MSG_RING failed, peers' channel wakeups
  // (channels are drained every tick, so the wakeup itself is all that matters).
  if (stop_requested_.load(std::memory_order_acquire)) begin_stop();
  // While stopping, the 100 ms tick drains the channels: no read is left pending at exit.
  if (!stopping_) submit_wake_read();
}

void Worker::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ms_ = now_ms_ + config_.shutdown_timeout_ms;
  // The sweep now also enforces the shutdown deadline: tick finer than once a second so the
  // deadline holds to 100 ms. The running timer picks the new period up when it re-arms.
  tick_ = io::Timespec{0, 100'000'000};
  acceptor_.stop(*io_);
  tls_acceptor_.stop(*io_);
  for (Connection* connection : connections_) {
    if (connection == nullptr || connection->io.phase != Connection::Phase::kActive) continue;
    switch (connection->session().state()) {
      case ws::Session::State::kOpen:
        close_websocket(*connection, core::CloseReason::kShutdown);
        break;
      case ws::Session::State::kClosing:
        break;
      default:
        close_connection(*connection);
        break;
    }
  }
}

}  // namespace herald::broker::net
