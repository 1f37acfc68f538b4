// One io_uring instance and the operations Herald issues on it. This is the only module that
// includes <liburing.h>; callers see plain integers: a user_data tag per operation and copied
// Completions. It never interprets user_data and never owns sockets beyond what it is told.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "broker/io/completion.h"

namespace herald::broker::io {

enum class RingSetup : uint8_t {
  kTuned,     // SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN | SUBMIT_ALL
  kFallback,  // the kernel refused those flags: a plain ring
};

// Owned by exactly one thread: the one that called init() (IORING_SETUP_SINGLE_ISSUER).
// Every prep_* queues one SQE, submitting first when the SQ is full, so it cannot fail;
// errors come back in the completion.
class Ring {
 public:
  Ring();
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Returns 0 or -errno from io_uring_queue_init_params. -EPERM and -ENOSYS mean io_uring is
  // disabled (sysctl kernel.io_uring_disabled) or filtered (a seccomp profile).
  [[nodiscard]] int init(unsigned sq_entries, unsigned cq_entries);
  [[nodiscard]] RingSetup setup() const { return setup_; }
  // Registers an empty direct-descriptor table of `count` slots. Returns 0 or -errno.
  [[nodiscard]] int register_files_sparse(unsigned count);

  // Accepts into a free slot of the direct-descriptor table until cancelled or failed;
  // each completion's res is the slot (or -errno, -ENFILE when the table is full).
  void prep_accept_multishot_direct(int listen_fd, uint64_t user_data);
  // getsockopt(SOL_SOCKET, SO_PEERNAME) on a direct descriptor, through IORING_OP_URING_CMD
  // (Linux 6.7+): the only way to learn the peer of a socket accepted straight into the
  // table. Writes exactly `address_bytes` (the kernel refuses more than the address holds).
  // res is the length, or -errno (-EOPNOTSUPP or -EINVAL on older kernels).
  void prep_peer_name(uint32_t file_slot, void* address, uint32_t address_bytes,
                      uint64_t user_data);
  // Receives into buffers picked from `buffer_group` until failed, cancelled, EOF (res 0)
  // or -ENOBUFS (the buffer ring ran dry).
  void prep_recv_multishot(uint32_t file_slot, uint16_t buffer_group, uint64_t user_data);
  // `message` and what it points to must stay valid until the completion.
  void prep_sendmsg(uint32_t file_slot, const msghdr* message, uint64_t user_data);
  // One buffer: no msghdr or iovec for the kernel to copy in. `bytes` must stay valid until
  // the completion.
  void prep_send(uint32_t file_slot, const void* bytes, size_t size, uint64_t user_data);
  void prep_shutdown_write(uint32_t file_slot, uint64_t user_data);
  // Cancels the operation tagged `target` (a hash lookup in the kernel). SQEs without
  // IOSQE_ASYNC are issued in order, so a cancel queued before prep_close_direct still finds
  // its target.
  void prep_cancel(uint64_t target, uint64_t user_data);
  // Frees the slot; operations still running keep their own reference to the socket.
  void prep_close_direct(uint32_t file_slot, uint64_t user_data);
  void prep_timeout(const Timespec* after, uint64_t user_data);
  void prep_read(int fd, void* buffer, unsigned bytes, uint64_t user_data);
  // Posts a completion {user_data = target_data, res = len} to the ring whose descriptor is
  // `target_ring_fd` (IORING_OP_MSG_RING): a wakeup for another thread's ring. This ring sees
  // a completion tagged `user_data` only when the message fails (e.g. -EINVAL, -EOVERFLOW).
  void prep_msg_ring(int target_ring_fd, uint32_t len, uint64_t target_data, uint64_t user_data);

  // Submits queued SQEs and waits for at least `wait_count` completions. Returns >= 0 or
  // -errno; -EINTR, -EAGAIN, -EBUSY and -ETIME are transient.
  int submit_and_wait(unsigned wait_count);
  // IORING_FEAT_SUBMIT_STABLE: what an SQE points to is copied when the kernel takes it.
  [[nodiscard]] bool submit_stable() const;
  int submit();
  // Copies up to out.size() completions out of the CQ and marks them seen.
  size_t reap(std::span<Completion> out);

  // The ring's descriptor, the target of other rings' prep_msg_ring.
  [[nodiscard]] int fd() const;
  // The raw ring, for BufferRing registration only.
  void* native();

 private:
  struct State;
  std::unique_ptr<State> state_;
  RingSetup setup_ = RingSetup::kTuned;
  bool initialized_ = false;
};

// Probes whether this process may create an io_uring and the kernel knows every opcode Herald
// issues. Returns 0, -errno from io_uring_setup, or -EOPNOTSUPP for a missing opcode.
[[nodiscard]] int probe_io_uring();

}  // namespace herald::broker::io
