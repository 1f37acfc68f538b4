// The worker's TLS listener: a second multishot accept whose connections get a TlsSession, and
// the safe point where a reloaded context is picked up (the next accept).
#include <cassert>
#include <cerrno>

#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"

namespace herald::broker::net {

using worker_detail::encode;

namespace {

// SSL_read yields at most one record (16 KiB); a write coalesces up to one record of frames.
constexpr size_t kTlsScratchBytes = 16 * 1024;

}  // namespace

void Worker::enable_tls(Listener listener, TlsContextSlot& slot) {
  tls_listener_ = std::move(listener);
  tls_slot_ = &slot;
  tls_context_ = slot.current();
  tls_generation_ = slot.generation();
  tls_scratch_.resize(2 * kTlsScratchBytes);
  context_.tls_read_scratch = std::span<uint8_t>(tls_scratch_).first(kTlsScratchBytes);
  context_.tls_write_scratch = std::span<uint8_t>(tls_scratch_).subspan(kTlsScratchBytes);
}

const TlsContext& Worker::tls_context() {
  // One acquire load per accept; the lock in current() only after a reload.
  if (uint64_t generation = tls_slot_->generation(); generation != tls_generation_) {
    tls_context_ = tls_slot_->current();
    tls_generation_ = generation;
  }
  return *tls_context_;
}

void Worker::submit_tls_accept() {
  assert(!tls_accept_armed_ && tls_listener_.is_open());
  io_->accept_multishot(tls_listener_.fd(), encode(OpKind::kAcceptTls, 0, 0));
  tls_accept_armed_ = true;
}

void Worker::on_tls_accept_complete(const io::Completion& completion) {
  if (!completion.more()) tls_accept_armed_ = false;
  if (completion.res >= 0) {
    open_connection(static_cast<uint32_t>(completion.res), true);
  } else if (completion.res != -ECANCELED && completion.res != -ENFILE) {
    ++counters_.io_errors;
  }
  if (tls_accept_armed_) return;
  if (stopping_) {
    tls_listener_.close();
  } else if (completion.res >= 0) {
    submit_tls_accept();  // the kernel ended the multishot on its own
  } else {
    // An error (or a full descriptor table) ended it: the next timer tick re-arms it, so a
    // persistent error cannot spin the loop.
    tls_accept_retry_ = true;
  }
}

void Worker::retry_tls_accept() {
  if (!tls_accept_retry_ || tls_accept_armed_ || stopping_) return;
  tls_accept_retry_ = false;
  submit_tls_accept();
}

void Worker::stop_tls_accept() {
  if (tls_slot_ == nullptr) return;
  if (tls_accept_armed_) {
    io_->cancel(encode(OpKind::kAcceptTls, 0, 0), encode(OpKind::kAcceptTlsCancel, 0, 0));
  } else {
    tls_listener_.close();
  }
}

}  // namespace herald::broker::net
