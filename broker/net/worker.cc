// The worker loop: drain completions and channels, run them, re-arm starved receives, one
// send per busy connection, then submit and wait. Every operation's user_data is (kind,
// generation, slot), so a completion finds its owner and asserts it is the one that issued it.
#include "broker/net/worker.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "broker/net/log.h"
#include "broker/net/worker_ops.h"
#include "protocol/websocket/handshake.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;

namespace {

using io::monotonic_ns;
using worker_detail::encode;

constexpr size_t kCompletionBatch = 256;

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

Worker::Worker(const ServerConfig& config, const ws::SessionConfig& session_config,
               Listener listener, WorkerLimits limits, std::atomic<uint64_t>& open_connections,
               Hub& hub, uint32_t index)
    : config_(config),
      session_config_(session_config),
      acceptor_(std::move(listener), encode(OpKind::kAccept, 0, 0),
                encode(OpKind::kAcceptCancel, 0, 0)),
      limits_(limits),
      open_connections_(open_connections),
      hub_(hub),
      index_(index),
      connections_(limits.table_slots),
      context_{config_, counters_},
      topics_(hub.topic_count(), hub.topics_max()),
      channels_(hub, index, encode(OpKind::kRetry, 0, 0), encode(OpKind::kChannel, 0, 0)) {
  assert(index < hub.worker_count());
  hub_.attach_counters(index_, &counters_);
  if (config_.compression) {
    compressor_ = std::make_unique<FrameCompressor>(config_.compression_level,
                                                    config_.compression_min_bytes, counters_);
    context_.compressor = compressor_.get();
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  flush_list_.reserve(limits.table_slots);
  rearm_list_.reserve(limits.table_slots);
}

Worker::~Worker() {
  if (wake_fd_ >= 0) close(wake_fd_);
}

common::Status Worker::setup(std::unique_ptr<io::Backend> backend) {
  if (wake_fd_ < 0) return common::Status::io_error("eventfd: " + errno_text(errno));
  io_ = backend != nullptr ? std::move(backend) : io::make_backend(limits_.backend);
  io::BackendConfig backend_config;
  backend_config.file_slots = limits_.table_slots;
  backend_config.recv_buffer_count = config_.recv_buffer_count;
  backend_config.recv_buffer_bytes = config_.recv_buffer_bytes;
  backend_config.queue_entries = config_.ring_entries;
  if (common::Status failed = io_->init(backend_config); !failed.is_ok()) return failed;
  hub_.attach_wake(index_, io_->wake_address(wake_fd_));
  sockaddr_storage bound{};
  socklen_t bound_bytes = sizeof(bound);
  if (getsockname(acceptor_.fd(), reinterpret_cast<sockaddr*>(&bound), &bound_bytes) == 0) {
    peer_address_bytes_ = bound.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  now_ms_ = monotonic_ns() / 1000000;
  acceptor_.start(*io_);
  tls_acceptor_.start(*io_);
  submit_timer();
  submit_wake_read();
  return common::Status::ok();
}

void Worker::request_stop() {
  stop_requested_.store(true, std::memory_order_release);
  uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still wakes the read, so the result does not matter.
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof(one));
}

void Worker::request_drain(SharedRef frame) {
  drain_frame_ = std::move(frame);
  drain_requested_.store(true, std::memory_order_release);
  wake();
}

void Worker::run() {
  while (run_once()) {
  }
}

bool Worker::run_once() {
  if (stopping_ && connections_.size() == 0 && !acceptor_.armed() && !tls_acceptor_.armed()) {
    return false;
  }
  // Items left in a channel (the drain is bounded per tick) must not wait for a wakeup.
  int rc = io_->submit_and_wait(channels_.backlog() ? 0 : 1);
  // EBUSY/EAGAIN: the CQ is backed up, which draining below fixes; EINTR: a signal.
  assert(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY || rc == -ETIME);
  uint64_t start_ns = monotonic_ns();
  now_ms_ = start_ns / 1000000;
  process_completions();
  channels_.drain([this](const ChannelItem& item) { on_item(item); });
  if (cluster_ != nullptr) cluster_->tick();  // before the replays take their reads
  storage_tick();
  run_deferred();
  channels_.flush(*io_);
  flush_sends();
  counters_.busy_ns += monotonic_ns() - start_ns;
  return true;
}

void Worker::process_completions() {
  std::array<io::Completion, kCompletionBatch> batch;
  for (;;) {
    size_t count = io_->reap(batch);
    for (size_t i = 0; i < count; ++i) {
      // A tick completes a send on thousands of connections: fetch a few ahead. A tag that
      // names no connection (a timer, a wakeup) prefetches nothing useful, and no harm.
      if (i + 4 < count) connections_.prefetch(io::OpTag::unpack(batch[i + 4].user_data).slot);
      dispatch(batch[i]);
    }
    if (count < batch.size()) break;
  }
  released_.flush();
}

void Worker::dispatch(const io::Completion& completion) {
  io::OpTag op = io::OpTag::unpack(completion.user_data);
  auto kind = static_cast<OpKind>(op.kind);
  switch (kind) {
    case OpKind::kAccept:
      on_accept_complete(acceptor_, completion, false);
      return;
    case OpKind::kAcceptTls:
      on_accept_complete(tls_acceptor_, completion, true);
      return;
    case OpKind::kAcceptCancel:
    case OpKind::kAcceptTlsCancel:
    case OpKind::kChannel:  // the channels are drained every tick
      return;
    case OpKind::kTimer:
      on_timer_complete();
      return;
    case OpKind::kWake:
      on_wake_complete();
      return;
    case OpKind::kRetry:
      channels_.on_retry();  // the channels are flushed every tick
      return;
    default:
      break;
  }
  Connection& connection = connections_.at(op.slot, op.generation);
  on_connection_complete(kind, connection, completion);
  release_if_done(connection);
}

void Worker::on_connection_complete(OpKind kind, Connection& connection,
                                    const io::Completion& completion) {
  switch (kind) {
    case OpKind::kRecv:
      on_recv_complete(connection, completion);
      return;
    case OpKind::kSend:
      on_send_complete(connection, completion);
      return;
    case OpKind::kCancel:  // -ENOENT or -EALREADY are fine: the target ended on its own
    case OpKind::kClose:
      assert(connection.io.ops_in_flight > 0);
      --connection.io.ops_in_flight;
      return;
    case OpKind::kPeerName:
      on_peer_name_complete(connection, completion);
      return;
    case OpKind::kShutdown:
      assert(connection.io.ops_in_flight > 0 && connection.io.shutdown_in_flight);
      --connection.io.ops_in_flight;
      connection.io.shutdown_in_flight = false;
      if (connection.io.phase == Connection::Phase::kClosing) {
        close_file(connection);  // held back until now: see close_connection()
      } else if (completion.res < 0) {
        close_connection(connection);
      }
      return;
    default:
      assert(false && "completion of an unknown operation kind");
  }
}

uint64_t Worker::tag(OpKind kind, const Connection& connection) const {
  return encode(kind, connection.generation(), connection.slot());
}

void Worker::run_deferred() {
  // Receives that hit -ENOBUFS: every buffer went back to the ring while this tick ran.
  for (uint64_t key : rearm_list_) {
    Connection* connection = find(key);
    if (connection != nullptr && wants_recv(*connection)) submit_recv(*connection);
  }
  rearm_list_.clear();
}

void Worker::flush_sends() {
  // The previous tick's sends went to the kernel in submit_and_wait().
  send_scratch_.reset();
  constexpr size_t kAhead = 4;  // as in deliver(): a connection's lines, a few sends ahead
  for (size_t i = 0; i < flush_list_.size(); ++i) {
    if (i + kAhead < flush_list_.size()) connections_.prefetch(flush_list_[i + kAhead]);
    Connection* connection = find(flush_list_[i]);
    if (connection == nullptr) continue;
    connection->io.in_flush_list = false;
    if (connection->io.phase != Connection::Phase::kClosing && !connection->io.send_in_flight &&
        connection->has_output()) {
      submit_send(*connection);
    }
  }
  flush_list_.clear();
}

void Worker::schedule_flush(Connection& connection) {
  if (connection.io.in_flush_list || connection.io.send_in_flight) return;
  if (!connection.has_output() || connection.io.phase == Connection::Phase::kClosing) return;
  connection.io.in_flush_list = true;
  flush_list_.push_back(key_of(connection));
}

void Worker::open_connection(uint32_t file_slot, bool tls) {
  Connection* connection = &connections_.add(session_config_, file_slot, now_ms_);
  connection->io.opened_ms = now_ms_;
  if (tls) connection->start_tls(tls_context());
  if (closing_listeners()) {
    connection->io.note_end("refused");
    connection->io.refused = true;  // accepted just before the accept was cancelled
    close_connection(*connection);
    return;
  }
  bool over_limit = open_count_ >= limits_.connections_max;
  if (!over_limit &&
      open_connections_.fetch_add(1, std::memory_order_relaxed) >= limits_.open_max) {
    open_connections_.fetch_sub(1, std::memory_order_relaxed);
    over_limit = true;
  }
  if (over_limit && tls) {
    // No 503 is possible before a TLS handshake: refuse at the TCP level.
    ++counters_.connections_refused;
    connection->io.note_end("refused");
    connection->io.refused = true;
    close_connection(*connection);
    return;
  }
  if (over_limit) {
    ++counters_.connections_refused;
    counters_.count_refusal(core::Refusal::kConnections);
    connection->io.note_end("refused");
    connection->refuse(ws::build_http_response(503, "text/plain", "connection limit reached\n"));
    begin_flushing(*connection);
  } else {
    ++open_count_;
    counters_.connections.set(open_count_);
    ++counters_.connections_accepted;
    // Issued before the receive, so its (inline) completion is reaped before any request.
    if (config_.access && config_.access->needs_peer_address()) submit_peer_name(*connection);
  }
  submit_recv(*connection);
}

// Receive.

bool Worker::wants_recv(const Connection& connection) const {
  return connection.io.phase != Connection::Phase::kClosing && !connection.io.recv_armed &&
         !connection.io.recv_paused && !connection.io.storage_paused && !connection.io.peer_eof;
}

void Worker::submit_recv(Connection& connection) {
  assert(!connection.io.recv_armed);
  io_->recv_multishot(connection.file_slot(), tag(OpKind::kRecv, connection));
  connection.io.recv_armed = true;
  ++connection.io.ops_in_flight;
}

void Worker::on_recv_complete(Connection& connection, const io::Completion& completion) {
  if (!completion.more()) {
    assert(connection.io.recv_armed && connection.io.ops_in_flight > 0);
    connection.io.recv_armed = false;
    --connection.io.ops_in_flight;
  }
  if (completion.res > 0) {
    on_bytes(connection, completion.buffer_id(), static_cast<size_t>(completion.res));
  } else if (completion.res == 0) {
    on_peer_eof(connection);
  } else if (completion.res == -ENOBUFS) {
    // The multishot ended because the ring ran dry; buffers return during this tick.
    ++counters_.recv_buffer_shortages;
    rearm_list_.push_back(key_of(connection));
    return;
  } else if (completion.res != -ECANCELED) {
    ++counters_.io_errors;
    connection.io.note_end("io_error");
    close_connection(connection);
    return;
  }
  if (wants_recv(connection)) submit_recv(connection);
}

void Worker::take_events(Connection& connection) {
  for (;;) {
    ConnectionEvent event = connection.next_event(context_);
    switch (event.kind) {
      case ConnectionEvent::Kind::kNone:
        return;
      case ConnectionEvent::Kind::kRequest:
        on_request(connection, event.upgrade);
        connection.answered();
        // A plain HTTP request (or a refused upgrade) ends with its answer.
        if (connection.route() == Connection::Route::kNone) connection.io.note_end("answered");
        break;
      case ConnectionEvent::Kind::kCommand:
        on_command(connection, event.payload, event.binary);
        break;
    }
  }
}

void Worker::on_bytes(Connection& connection, uint16_t buffer_id, size_t bytes) {
  counters_.bytes_in += bytes;
  connection.io.bytes_in += bytes;
  connection.io.last_receive_ms = now_ms_;
  connection.io.ping_sent = false;
  connection.io.shrunk = false;
  if (connection.io.phase == Connection::Phase::kActive) {
    std::span<uint8_t> input = io_->buffer(buffer_id, bytes);
    if (connection.access.proxy_header_done) {
      connection.receive(input);
      take_events(connection);
    } else {
      ProxyInput proxied =
          gate_.take_proxy_header(connection.access, connection.session(), input, now_ms_);
      // `rest` may point into proxy_prefix.
      if (admit(connection, proxied.admission) && !proxied.rest.empty()) {
        connection.receive(proxied.rest);
        take_events(connection);
      }
      if (connection.access.proxy_header_done) {
        std::string().swap(connection.access.address->proxy_prefix);
      }
    }
  }
  // At once: the Session copied what it keeps, and a held buffer starves other connections.
  io_->recycle(buffer_id);
  if (connection.io.phase != Connection::Phase::kActive) return;
  if (connection.session().state() == ws::Session::State::kClosed || connection.tls_ended()) {
    begin_flushing(connection);
    return;
  }
  schedule_flush(connection);
  // A peer that sends but never reads must not grow our memory: stop reading until the
  // queue drains (on_send_complete resumes).
  if (connection.queued_bytes() > config_.send_queue_bytes_high) pause_recv(connection);
}

void Worker::on_peer_eof(Connection& connection) {
  connection.io.peer_eof = true;
  connection.io.note_end("eof");
  switch (connection.io.phase) {
    case Connection::Phase::kActive: {
      ws::Session::State state = connection.session().state();
      if (state == ws::Session::State::kOpen || state == ws::Session::State::kClosing) {
        ++counters_.abnormal_closes;
      }
      begin_flushing(connection);  // a half-closed HTTP client still gets its answer
      return;
    }
    case Connection::Phase::kLingering:
      close_connection(connection);
      return;
    case Connection::Phase::kFlushing:  // end_tcp closes once the queue is out
    case Connection::Phase::kClosing:
      return;
  }
}

void Worker::pause_recv(Connection& connection) {
  if (connection.io.recv_paused) return;
  connection.io.recv_paused = true;
  ++counters_.recv_pauses;
  stop_recv(connection);
}

void Worker::stop_recv(Connection& connection) {
  if (!connection.io.recv_armed) return;
  io_->cancel(tag(OpKind::kRecv, connection), tag(OpKind::kCancel, connection));
  ++connection.io.ops_in_flight;
}

// Send.

void Worker::submit_send(Connection& connection) {
  assert(!connection.io.send_in_flight && connection.has_output());
  SendOp& op = gather_;
  if (connection.gather_output(op, context_) == 0) {
    // Only TLS gets here: encrypting failed (out of memory), so nothing can be sent.
    close_connection(connection);
    return;
  }
  const size_t buffers = op.message.msg_iovlen;
  // A lone buffer (a frame at low rates, or a TLS record) skips sendmsg's msghdr and iovec
  // copies.
  if (buffers == 1) {
    io_->send(connection.file_slot(), op.iovecs[0].iov_base, op.iovecs[0].iov_len,
              tag(OpKind::kSend, connection));
  } else {
    const msghdr* kept = send_scratch_.keep(op.message);
    if (kept == nullptr) {  // the arena is full: what it holds goes to the kernel first
      io_->submit();
      send_scratch_.reset();
      kept = send_scratch_.keep(op.message);
    }
    io_->sendmsg(connection.file_slot(), kept, tag(OpKind::kSend, connection));
  }
  connection.io.send_in_flight = true;
  connection.io.send_entries = connection.is_tls() ? 0 : static_cast<uint8_t>(buffers);
  ++connection.io.ops_in_flight;
  ++counters_.sends;
  counters_.send_buffers += buffers;
}

void Worker::on_send_complete(Connection& connection, const io::Completion& completion) {
  assert(connection.io.send_in_flight && connection.io.ops_in_flight > 0);
  --connection.io.ops_in_flight;
  connection.io.send_in_flight = false;
  connection.io.send_entries = 0;
  if (completion.res <= 0) {
    if (completion.res != -ECANCELED) {
      ++counters_.io_errors;
      connection.io.note_end("io_error");
    }
    close_connection(connection);
    return;
  }
  // A short send leaves the rest queued for the next tick.
  connection.consume_output(static_cast<size_t>(completion.res), released_);
  counters_.bytes_out += static_cast<uint64_t>(completion.res);
  connection.io.bytes_out += static_cast<uint64_t>(completion.res);
  if (connection.io.phase == Connection::Phase::kClosing) return;
  if (connection.io.recv_paused && connection.queued_bytes() <= config_.send_queue_bytes_low) {
    connection.io.recv_paused = false;
    if (wants_recv(connection)) submit_recv(connection);
  }
  if (connection.has_output()) {
    schedule_flush(connection);
  } else if (connection.io.phase == Connection::Phase::kFlushing) {
    end_tcp(connection);
  }
}

// Closing: the close handshake, then flush, FIN, linger for the peer's EOF, then cancel and
// close the file.

void Worker::close_websocket(Connection& connection, core::CloseReason reason) {
  counters_.count_close_reason(reason);
  if (connection.io.end_cause().empty()) {
    const core::CloseSpec spec = core::close_spec(reason);
    connection.io.note_end(spec.label);
    connection.io.close_code = static_cast<uint16_t>(spec.code);
  }
  connection.close_session(reason, now_ms_);
  schedule_flush(connection);
}

void Worker::begin_flushing(Connection& connection) {
  assert(connection.io.phase == Connection::Phase::kActive);
  connection.io.phase = Connection::Phase::kFlushing;
  connection.io.phase_since_ms = now_ms_;
  connection.finish_tls(context_);  // close_notify after the last frame
  if (!connection.has_output() && !connection.io.send_in_flight) {
    end_tcp(connection);
  } else {
    schedule_flush(connection);
  }
}

void Worker::end_tcp(Connection& connection) {
  assert(connection.io.phase == Connection::Phase::kFlushing && !connection.has_output());
  if (connection.io.peer_eof) {
    close_connection(connection);
    return;
  }
  // Half-close and read until the peer's EOF: closing with unread input would send RST and
  // could destroy the response (or Close frame) still in flight.
  connection.io.phase = Connection::Phase::kLingering;
  connection.io.phase_since_ms = now_ms_;
  io_->shutdown_write(connection.file_slot(), tag(OpKind::kShutdown, connection));
  connection.io.shutdown_in_flight = true;
  ++connection.io.ops_in_flight;
  connection.io.recv_paused = false;
  if (wants_recv(connection)) submit_recv(connection);
}

void Worker::close_connection(Connection& connection) {
  if (connection.io.phase == Connection::Phase::kClosing) return;
  connection.io.phase = Connection::Phase::kClosing;
  if (!connection.io.refused) ++counters_.connections_closed;
  // In-flight operations hold their own reference to the socket, so close_direct alone would
  // leave a receive pending forever: cancel them first (the SQEs are issued in order). Cancel
  // each by its user_data, a hash lookup in the kernel; a cancel by file walks every pending
  // operation of the ring, which made mass closes quadratic in the connection count.
  if (connection.io.recv_armed) {
    io_->cancel(tag(OpKind::kRecv, connection), tag(OpKind::kCancel, connection));
    ++connection.io.ops_in_flight;
  }
  if (connection.io.send_in_flight) {  // a send stuck on a peer that does not read
    io_->cancel(tag(OpKind::kSend, connection), tag(OpKind::kCancel, connection));
    ++connection.io.ops_in_flight;
  }
  // The kernel always runs a shutdown in an io-wq thread, which looks the direct descriptor
  // up only when it runs: closed now, the slot could already hold the next accepted socket,
  // and the late shutdown would cut that stranger's reply. Close once the shutdown is done.
  if (!connection.io.shutdown_in_flight) close_file(connection);
}

void Worker::close_file(Connection& connection) {
  assert(connection.io.phase == Connection::Phase::kClosing && !connection.io.file_closed);
  connection.io.file_closed = true;
  io_->close_file(connection.file_slot(), tag(OpKind::kClose, connection));
  ++connection.io.ops_in_flight;
}

void Worker::log_close(const Connection& connection) const {
  std::string_view route = "http";
  if (connection.route() == Connection::Route::kPubSub) route = "pubsub";
  if (connection.route() == Connection::Route::kEcho) route = "echo";
  std::string_view cause = connection.io.end_cause();
  if (cause.empty()) cause = route == "http" ? "answered" : "closed";
  log_line(LogLevel::kDebug, "connection closed",
           {{"reason", cause},
            {"code", uint64_t{connection.io.close_code}},
            {"route", route},
            {"duration_ms", now_ms_ - connection.io.opened_ms},
            {"bytes_in", connection.io.bytes_in},
            {"bytes_out", connection.io.bytes_out},
            {"worker", index_}});
}

void Worker::release_if_done(Connection& connection) {
  if (connection.io.phase != Connection::Phase::kClosing || connection.io.ops_in_flight > 0) return;
  connection.queue().clear();
  drop_subscriptions(connection);
  gate_.release_address(connection.access, now_ms_);
  if (!connection.io.refused) {
    --open_count_;
    counters_.connections.set(open_count_);
    open_connections_.fetch_sub(1, std::memory_order_relaxed);
  }
  if (log_enabled(LogLevel::kDebug)) log_close(connection);
  connections_.remove(connection);
  acceptor_.on_slot_freed(*io_, closing_listeners());
  tls_acceptor_.on_slot_freed(*io_, closing_listeners());
}

}  // namespace herald::broker::net
