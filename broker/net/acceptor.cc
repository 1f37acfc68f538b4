// Accept bookkeeping, shared by the plain and the TLS listener.
#include "broker/net/acceptor.h"

#include <cerrno>

namespace herald::broker::net {

void Acceptor::start(io::Backend& io) {
  if (armed_ || !listener_.is_open()) return;
  io.accept_multishot(listener_.fd(), accept_tag_);
  armed_ = true;
  retry_ = false;
  blocked_ = false;
}

std::optional<uint32_t> Acceptor::on_complete(const io::Completion& completion, io::Backend& io,
                                              bool stopping, WorkerCounters& counters) {
  if (!completion.more()) armed_ = false;
  std::optional<uint32_t> accepted;
  if (completion.res >= 0) {
    accepted = static_cast<uint32_t>(completion.res);
  } else if (completion.res == -ENFILE) {
    // The table is full even with the 503 headroom: wait for a slot instead of spinning.
    blocked_ = !armed_;
  } else if (completion.res != -ECANCELED) {
    ++counters.io_errors;
    retry_ = !armed_;
  }
  if (armed_) return accepted;
  if (stopping) {
    listener_.close();
  } else if (completion.res >= 0) {
    start(io);  // the kernel ended the multishot on its own (e.g. CQ pressure)
  }
  return accepted;
}

void Acceptor::on_tick(io::Backend& io, bool stopping) {
  // A persistent error cannot spin the loop: at most one retry a tick. A full table is not
  // retried here: io_uring would accept and drop a waiting client each time.
  if (retry_ && !stopping) start(io);
}

void Acceptor::on_slot_freed(io::Backend& io, bool stopping) {
  if (blocked_ && !stopping) start(io);
}

void Acceptor::stop(io::Backend& io) {
  if (armed_) {
    io.cancel(accept_tag_, cancel_tag_);
  } else {
    listener_.close();
  }
}

}  // namespace herald::broker::net
