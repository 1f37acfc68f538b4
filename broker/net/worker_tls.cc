// The worker's TLS listener: a second acceptor whose connections get a TlsSession, and the safe
// point where a reloaded context is picked up (the next accept).
#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"

namespace herald::broker::net {

using worker_detail::encode;

namespace {

// SSL_read yields at most one record (16 KiB); a write coalesces up to one record of frames.
constexpr size_t kTlsScratchBytes = 16 * 1024;

}  // namespace

void Worker::enable_tls(Listener listener, TlsContextSlot& slot) {
  tls_acceptor_ = Acceptor(std::move(listener), encode(OpKind::kAcceptTls, 0, 0),
                           encode(OpKind::kAcceptTlsCancel, 0, 0));
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

}  // namespace herald::broker::net
