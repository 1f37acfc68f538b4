// The worker's own operations: accepting, the once-a-second sweep (handshake, idle, close
// timeouts), the stop eventfd and the graceful shutdown. Connection I/O is in worker.cc.
#include <cerrno>

#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"
#include "protocol/websocket/handshake.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
using worker_detail::encode;

namespace {

constexpr uint64_t kShrinkAfterMs = 1000;

}  // namespace

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
  // Closing never frees synchronously (release waits for completions), so this walk is safe.
  for (Connection* connection : connections_) {
    if (connection == nullptr) continue;
    if (cut_all) {
      close_connection(*connection);
    } else {
      sweep(*connection);
    }
  }
  submit_timer();
}

void Worker::sweep(Connection& connection) {
  uint64_t since = now_ms_ - connection.phase_since_ms_;
  if (connection.phase_ == Connection::Phase::kClosing) return;
  if (connection.phase_ != Connection::Phase::kActive) {
    // Flushing to, or lingering for, a peer that does not read or does not hang up.
    if (since >= config_.close_timeout_ms) {
      ++counters_.close_timeouts;
      close_connection(connection);
    }
    return;
  }
  switch (connection.session_.state()) {
    case ws::Session::State::kHandshake:
    case ws::Session::State::kDeciding:
      // Slowloris: a handshake that dribbles in forever.
      if (since >= config_.handshake_timeout_ms) {
        ++counters_.handshake_timeouts;
        if (connection.tls_ && !connection.tls_->handshake_done()) {
          ++counters_.tls_handshake_failures;
        }
        counters_.count_refusal(core::Refusal::kHandshakeTimeout);
        close_connection(connection);
      }
      return;
    case ws::Session::State::kClosing:
      if (since >= config_.close_timeout_ms) {
        ++counters_.close_timeouts;
        close_connection(connection);
      }
      return;
    case ws::Session::State::kClosed:
      return;
    case ws::Session::State::kOpen:
      sweep_access(connection);
      break;
  }
  uint64_t silent_ms = now_ms_ - connection.last_receive_ms_;
  if (silent_ms >= kShrinkAfterMs && !connection.shrunk_) {
    connection.session_.shrink();
    connection.queue_.shrink();
    if (connection.tls_ && connection.send_op_ == nullptr) connection.tls_->shrink();
    connection.shrunk_ = true;
  }
  if (connection.ping_sent_) {
    if (since >= config_.idle_timeout_ms) {  // `since` counts from the ping
      ++counters_.idle_timeouts;
      close_websocket(connection, core::CloseReason::kIdleTimeout);
    }
  } else if (silent_ms >= config_.idle_timeout_ms) {
    connection.ping();
    connection.ping_sent_ = true;
    connection.phase_since_ms_ = now_ms_;
    schedule_flush(connection);
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
    if (connection == nullptr || connection->phase_ != Connection::Phase::kActive) continue;
    switch (connection->session_.state()) {
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
