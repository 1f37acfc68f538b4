// The io_uring backend: each operation is one SQE; completions are the CQEs as they are,
// except a failed MSG_RING wakeup, which this backend answers itself.
#include "broker/io/uring_backend.h"

#include <unistd.h>

#include <cstring>

namespace herald::broker::io {

namespace {

std::string errno_text(int error) { return std::strerror(error); }

}  // namespace

common::Status UringBackend::init(const BackendConfig& config) {
  if (int rc = ring_.init(config.queue_entries, config.queue_entries * 4); rc < 0) {
    return common::Status::io_error("io_uring_setup: " + errno_text(-rc));
  }
  // Senders reuse a sendmsg's msghdr and iovecs once it is submitted (backend.h).
  if (!ring_.submit_stable()) {
    return common::Status::io_error(
        "io_uring lacks IORING_FEAT_SUBMIT_STABLE (Linux 5.5); use --io epoll");
  }
  if (int rc = ring_.register_files_sparse(config.file_slots); rc < 0) {
    return common::Status::io_error(
        "cannot register " + std::to_string(config.file_slots) +
        " direct descriptors: " + errno_text(-rc) +
        " (the kernel caps the table at RLIMIT_NOFILE; lower --max-connections "
        "or add --workers)");
  }
  if (int rc = buffers_.init(ring_, 0, config.recv_buffer_count, config.recv_buffer_bytes);
      rc < 0) {
    return common::Status::io_error("cannot register the receive buffer ring: " + errno_text(-rc));
  }
  return common::Status::ok();
}

WakeAddress UringBackend::wake_address(int event_fd) const {
  return WakeAddress{ring_.fd(), event_fd};
}

void UringBackend::accept_multishot(int listen_fd, uint64_t user_data) {
  ring_.prep_accept_multishot_direct(listen_fd, user_data);
}

void UringBackend::peer_name(uint32_t file, void* address, uint32_t address_bytes,
                             uint64_t user_data) {
  ring_.prep_peer_name(file, address, address_bytes, user_data);
}

void UringBackend::recv_multishot(uint32_t file, uint64_t user_data) {
  ring_.prep_recv_multishot(file, buffers_.group_id(), user_data);
}

void UringBackend::send(uint32_t file, const void* bytes, size_t size, uint64_t user_data) {
  ring_.prep_send(file, bytes, size, user_data);
}

void UringBackend::sendmsg(uint32_t file, const msghdr* message, uint64_t user_data) {
  ring_.prep_sendmsg(file, message, user_data);
}

void UringBackend::shutdown_write(uint32_t file, uint64_t user_data) {
  ring_.prep_shutdown_write(file, user_data);
}

void UringBackend::cancel(uint64_t target, uint64_t user_data) {
  ring_.prep_cancel(target, user_data);
}

void UringBackend::close_file(uint32_t file, uint64_t user_data) {
  ring_.prep_close_direct(file, user_data);
}

void UringBackend::timeout(const Timespec* after, uint64_t user_data) {
  ring_.prep_timeout(after, user_data);
}

void UringBackend::read(int fd, void* buffer, uint32_t bytes, uint64_t user_data) {
  ring_.prep_read(fd, buffer, bytes, user_data);
}

void UringBackend::wake(const WakeAddress& peer, uint64_t peer_data) {
  if (msg_ring_failed_ || peer.ring_fd < 0) {
    uint64_t one = 1;
    // A full eventfd counter (EAGAIN) still wakes the reader, so the result does not matter.
    [[maybe_unused]] ssize_t written = ::write(peer.event_fd, &one, sizeof(one));
    return;
  }
  OpTag failed{kWakeFailedKind, 0, static_cast<uint32_t>(peer.event_fd)};
  ring_.prep_msg_ring(peer.ring_fd, 0, peer_data, failed.pack());
}

void UringBackend::on_wake_failed(const Completion& completion) {
  // An older kernel, or a peer ring that cannot take task work any more: from now on wake
  // peers through their eventfd, starting with the wakeup that was lost.
  msg_ring_failed_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t written =
      ::write(static_cast<int>(OpTag::unpack(completion.user_data).slot), &one, sizeof(one));
}

int UringBackend::submit_and_wait(unsigned wait_count) {
  // The tick is over: its receives set the budget, and the ring is topped up before the wait
  // in which the kernel fills buffers (DEFER_TASKRUN receives run inside it).
  buffers_.end_tick();
  return ring_.submit_and_wait(wait_count);
}

size_t UringBackend::reap(std::span<Completion> out) {
  size_t count = ring_.reap(out);
  // Rare: keep the common batch untouched unless a wakeup failed in it. Every completion also
  // tells the buffer ring whether a buffer left it.
  size_t kept = 0;
  for (size_t i = 0; i < count; ++i) {
    buffers_.on_completion(out[i].res, out[i].has_buffer());
    if (OpTag::unpack(out[i].user_data).kind == kWakeFailedKind) {
      on_wake_failed(out[i]);
      continue;
    }
    if (kept != i) out[kept] = out[i];
    ++kept;
  }
  return kept;
}

void UringBackend::submit() { ring_.submit(); }

}  // namespace herald::broker::io
