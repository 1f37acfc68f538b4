// Connection's TLS glue: received ciphertext through the TlsSession into the WebSocket Session,
// and queued plaintext frames through the TlsSession into one send. The queue and the Session
// are the same as for a plain connection; only the bytes at the socket differ.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "broker/net/connection.h"

namespace herald::broker::net {

namespace {

// Ciphertext produced per send at most: a few records, so one flush of a long queue does not
// copy it all into the TLS output at once (what is still queued stays shared frames).
constexpr size_t kTlsOutputBatchBytes = 64 * 1024;

}  // namespace

void Connection::start_tls(const TlsContext& context) {
  tls_ = std::make_unique<TlsSession>(context);
}

bool Connection::decrypt_next(ConnectionContext& context) {
  assert(context.tls_read_scratch.size() >= 16 * 1024);
  // Once the Session is done, what follows is not read; the scratch is reused only now that
  // the Session has used up the last record (it asked for more).
  if (session_.state() == protocol::websocket::Session::State::kClosed) return false;
  const bool was_done = tls_->handshake_done();
  // Bounded: each read consumes a record of the ciphertext fed, or stops.
  size_t plaintext = 0;
  TlsSession::Status status = tls_->read(context.tls_read_scratch, plaintext);
  if (!was_done && tls_->handshake_done()) {
    ++context.counters.tls_handshakes;
    if (tls_->resumed()) ++context.counters.tls_resumptions;
  }
  if (status == TlsSession::Status::kFailed) {
    // No WebSocket exists yet during the handshake (so no close code); later, a bad record
    // cannot be answered with a Close either: only the alert goes out.
    if (!tls_->handshake_done()) ++context.counters.tls_handshake_failures;
    end_tls(context.counters);
    return false;
  }
  if (status == TlsSession::Status::kClosed) {
    tls_closed_ = true;
    end_tls(context.counters);
    return false;
  }
  if (plaintext == 0) return false;
  session_.receive(context.tls_read_scratch.first(plaintext));
  return true;
}

void Connection::end_tls(WorkerCounters& counters) {
  // The Session ends too: in the handshake it closes silently; an open one would queue a Close
  // frame that cannot be encrypted any more, so its output is dropped with the queue.
  if (session_.state() == protocol::websocket::Session::State::kOpen) {
    counters.count_close_reason(core::CloseReason::kTlsEnded);
  }
  session_.close(core::close_spec(core::CloseReason::kTlsEnded).code);
  if (session_.has_output()) (void)session_.take_output();
  queue_.clear();
}

bool Connection::has_output() const {
  if (!tls_) return !queue_.empty();
  return tls_->has_output() || (!queue_.empty() && tls_->can_write());
}

size_t Connection::queued_bytes() const {
  return queue_.bytes() + (tls_ ? tls_->output_bytes() : 0);
}

size_t Connection::gather_output(SendOp& op, ConnectionContext& context) {
  if (!tls_) return queue_.gather(op);
  encrypt_queued(context, kTlsOutputBatchBytes);
  std::span<const uint8_t> out = tls_->take_output();
  op.message = msghdr{};
  op.iovecs[0] = iovec{const_cast<uint8_t*>(out.data()), out.size()};
  op.message.msg_iov = op.iovecs;
  op.message.msg_iovlen = out.empty() ? 0 : 1;
  op.bytes = out.size();
  return out.size();
}

void Connection::consume_output(size_t bytes, ReleaseBatch& released) {
  if (tls_) {
    tls_->consume(bytes);
  } else {
    queue_.consume(bytes, released);
  }
}

void Connection::encrypt_queued(ConnectionContext& context, size_t output_bytes_max) {
  if (!tls_->can_write()) return;
  std::span<uint8_t> scratch = context.tls_write_scratch;
  SendOp staging;
  while (!queue_.empty() && tls_->output_bytes() < output_bytes_max) {
    (void)queue_.gather(staging);
    size_t bytes = 0;
    TlsSession::Status status = TlsSession::Status::kOk;
    const iovec& first = staging.iovecs[0];
    if (first.iov_len >= scratch.size()) {
      // A large frame is encrypted in place: OpenSSL splits it into records itself.
      bytes = std::min(first.iov_len, output_bytes_max);
      status = tls_->write({static_cast<const uint8_t*>(first.iov_base), bytes});
    } else {
      // Small frames are coalesced into one record: one AEAD call and 22 bytes of overhead
      // for many messages, instead of one each.
      for (size_t i = 0; i < staging.message.msg_iovlen && bytes < scratch.size(); ++i) {
        size_t take = std::min(staging.iovecs[i].iov_len, scratch.size() - bytes);
        std::memcpy(scratch.data() + bytes, staging.iovecs[i].iov_base, take);
        bytes += take;
      }
      status = tls_->write(scratch.first(bytes));
    }
    if (status != TlsSession::Status::kOk) {
      end_tls(context.counters);
      return;
    }
    queue_.consume(bytes);
  }
}

void Connection::finish_tls(ConnectionContext& context) {
  if (!tls_) return;
  encrypt_queued(context, SIZE_MAX);
  if (queue_.empty()) tls_->close_notify();
}

}  // namespace herald::broker::net
