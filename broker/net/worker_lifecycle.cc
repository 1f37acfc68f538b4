// The worker's own operations: accepting, the once-a-second sweep (the Sweeper decides, the
// worker closes, pings and counts), the stop eventfd, the drain and the graceful shutdown.
// Connection I/O is in worker.cc.
#include <cerrno>

#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"
#include "protocol/websocket/handshake.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
using worker_detail::encode;

void Worker::on_accept_complete(Acceptor& acceptor, const io::Completion& completion, bool tls) {
  if (std::optional<uint32_t> file =
          acceptor.on_complete(completion, *io_, closing_listeners(), counters_)) {
    open_connection(*file, tls);
  }
}

void Worker::submit_timer() { io_->timeout(&tick_, encode(OpKind::kTimer, 0, 0)); }

void Worker::on_timer_complete() {
  acceptor_.on_tick(*io_, closing_listeners());
  tls_acceptor_.on_tick(*io_, closing_listeners());
  bool cut_all = stopping_ && !timed_out_ && now_ms_ >= stop_deadline_ms_;
  if (cut_all) timed_out_ = true;
  const int64_t unix_now_s = auth::unix_now_s();  // token expiry, once per tick
  // Closing never frees synchronously (release waits for completions), so this walk is safe.
  for (Connection* connection : connections_) {
    if (connection == nullptr) continue;
    if (cut_all) {
      connection->io.note_end("shutdown_timeout");
      close_connection(*connection);
    } else {
      sweep(*connection, unix_now_s);
    }
  }
  if (draining_ && !stopping_) count_drain_remaining();
  if (!stopping_ && !config_.admin_token.empty()) stats_tick();
  if (cluster_ != nullptr) cluster_timer();
  io_->trim_idle(now_ms_);  // receive buffers a quiet second left unused give back their pages
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
      connection.io.note_end("close_timeout");
      close_connection(connection);
      return;
    case SweepActions::Cut::kHandshakeTimeout:
      ++counters_.handshake_timeouts;
      if (actions.tls_handshake_failed) ++counters_.tls_handshake_failures;
      counters_.count_refusal(core::Refusal::kHandshakeTimeout);
      connection.io.note_end("handshake_timeout");
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
    if (connection.tls() && !connection.io.send_in_flight) connection.tls()->shrink();
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
  if (drain_requested_.load(std::memory_order_acquire)) begin_drain();
  // The eventfd carries request_stop(), request_drain() and, where MSG_RING failed, peers' channel
  // wakeups (channels are drained every tick, so the wakeup itself is all that matters).
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

// The drain: listeners close (new connections are refused by the kernel), each pub/sub client
// is told once to reconnect elsewhere and leaves in its own time, spread by the frame's
// jitter; the server waits on drain_remaining() and then stops the worker (1001 to the rest).
void Worker::begin_drain() {
  if (draining_ || stopping_) return;
  draining_ = true;
  // Count the leavers finer than once a second: the server ends the drain when none is left.
  tick_ = io::Timespec{0, 100'000'000};
  acceptor_.stop(*io_);
  tls_acceptor_.stop(*io_);
  for (Connection* connection : connections_) {
    if (connection == nullptr || connection->io.phase != Connection::Phase::kActive) continue;
    if (connection->session().state() != ws::Session::State::kOpen) continue;
    if (connection->route() == Connection::Route::kPubSub) {
      send_drain_notice(*connection);
    } else if (connection->route() == Connection::Route::kEcho) {
      close_websocket(*connection, core::CloseReason::kShutdown);  // it has nowhere to move
    }
  }
  count_drain_remaining();
}

void Worker::send_drain_notice(Connection& connection) {
  ++counters_.drain_notices;
  enqueue(connection, drain_frame_);
}

void Worker::count_drain_remaining() {
  int64_t remaining = 0;
  for (Connection* connection : connections_) {
    if (connection != nullptr && connection->io.phase == Connection::Phase::kActive &&
        connection->route() == Connection::Route::kPubSub &&
        connection->session().state() == ws::Session::State::kOpen) {
      ++remaining;
    }
  }
  drain_remaining_.store(remaining, std::memory_order_release);
}

}  // namespace herald::broker::net
