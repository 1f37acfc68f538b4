// io_uring setup and SQE preparation. The only .cc files that include <liburing.h> are here
// in broker/io; nothing in this file knows what a connection or a WebSocket is.
#include "broker/io/ring.h"

#include <liburing.h>

#include <bit>
#include <cassert>
#include <cerrno>
#include <cstddef>

namespace herald::broker::io {

static_assert(sizeof(Timespec) == sizeof(__kernel_timespec));
static_assert(offsetof(Timespec, tv_nsec) == offsetof(__kernel_timespec, tv_nsec));

// Completions carry the CQE's flags as they are.
static_assert(Completion::kBufferFlag == IORING_CQE_F_BUFFER);
static_assert(Completion::kMoreFlag == IORING_CQE_F_MORE);
static_assert(Completion::kBufferShift == IORING_CQE_BUFFER_SHIFT);

struct Ring::State {
  io_uring ring{};
};

namespace {

int init_ring(io_uring* ring, unsigned sq_entries, unsigned cq_entries, unsigned flags) {
  io_uring_params params{};
  params.flags = flags | IORING_SETUP_CQSIZE;
  params.cq_entries = cq_entries;
  return io_uring_queue_init_params(sq_entries, ring, &params);
}

}  // namespace

Ring::Ring() : state_(std::make_unique<State>()) {}

Ring::~Ring() {
  if (initialized_) io_uring_queue_exit(&state_->ring);
}

int Ring::init(unsigned sq_entries, unsigned cq_entries) {
  assert(!initialized_);
  // DEFER_TASKRUN runs completions only inside our own io_uring_enter, so no IPIs interrupt
  // the loop; older kernels reject it with EINVAL and get a plain ring.
  constexpr unsigned kTunedFlags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                   IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
  int rc = init_ring(&state_->ring, sq_entries, cq_entries, kTunedFlags);
  setup_ = RingSetup::kTuned;
  if (rc == -EINVAL) {
    rc = init_ring(&state_->ring, sq_entries, cq_entries, 0);
    setup_ = RingSetup::kFallback;
  }
  initialized_ = rc == 0;
  return rc;
}

int Ring::register_files_sparse(unsigned count) {
  return io_uring_register_files_sparse(&state_->ring, count);
}

namespace {

// Never fails: a full SQ is submitted to make room (liburing examples/proxy.c does the same).
io_uring_sqe* next_sqe(io_uring* ring) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  assert(sqe != nullptr);
  return sqe;
}

}  // namespace

void Ring::prep_accept_multishot_direct(int listen_fd, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_multishot_accept_direct(sqe, listen_fd, nullptr, nullptr, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_peer_name(uint32_t file_slot, void* address, uint32_t address_bytes,
                          uint64_t user_data) {
  // liburing 2.3 has no io_uring_prep_cmd_sock(): fill the fields it would, by their
  // positions in the kernel's SQE (level and optname share `addr`, optlen `file_index`,
  // optval `addr3`).
  constexpr uint32_t kSocketUringOpGetsockopt = 2;  // SOCKET_URING_OP_GETSOCKOPT
  static_assert(std::endian::native == std::endian::little, "level is addr's low half");
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, static_cast<int>(file_slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE;
  sqe->cmd_op = kSocketUringOpGetsockopt;
  sqe->addr = uint64_t{SOL_SOCKET} | (uint64_t{SO_PEERNAME} << 32);
  sqe->file_index = address_bytes;
  sqe->addr3 = reinterpret_cast<uintptr_t>(address);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_recv_multishot(uint32_t file_slot, uint16_t buffer_group, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_recv_multishot(sqe, static_cast<int>(file_slot), nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffer_group;
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_sendmsg(uint32_t file_slot, const msghdr* message, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_sendmsg(sqe, static_cast<int>(file_slot), message, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_send(uint32_t file_slot, const void* bytes, size_t size, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_send(sqe, static_cast<int>(file_slot), bytes, size, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_shutdown_write(uint32_t file_slot, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_shutdown(sqe, static_cast<int>(file_slot), SHUT_WR);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_cancel(uint64_t target, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_cancel64(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_close_direct(uint32_t file_slot, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_close_direct(sqe, file_slot);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_timeout(const Timespec* after, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  // The cast is layout-safe: see the static_asserts above.
  io_uring_prep_timeout(sqe, reinterpret_cast<__kernel_timespec*>(const_cast<Timespec*>(after)), 0,
                        0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_read(int fd, void* buffer, unsigned bytes, uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_read(sqe, fd, buffer, bytes, 0);
  io_uring_sqe_set_data64(sqe, user_data);
}

void Ring::prep_msg_ring(int target_ring_fd, uint32_t len, uint64_t target_data,
                         uint64_t user_data) {
  io_uring_sqe* sqe = next_sqe(&state_->ring);
  io_uring_prep_msg_ring(sqe, target_ring_fd, len, target_data, 0);
  // A wakeup per peer per tick: a success completion here would only be noise.
  sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(sqe, user_data);
}

int Ring::submit_and_wait(unsigned wait_count) {
  return io_uring_submit_and_wait(&state_->ring, wait_count);
}

int Ring::submit() { return io_uring_submit(&state_->ring); }

bool Ring::submit_stable() const {
  return (state_->ring.features & IORING_FEAT_SUBMIT_STABLE) != 0;
}

size_t Ring::reap(std::span<Completion> out) {
  io_uring* ring = &state_->ring;
  size_t count = 0;
  unsigned head = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(ring, head, cqe) {
    if (count == out.size()) break;
    out[count++] = Completion{cqe->user_data, cqe->res, cqe->flags};
  }
  io_uring_cq_advance(ring, static_cast<unsigned>(count));
  return count;
}

int Ring::fd() const { return state_->ring.ring_fd; }

void* Ring::native() { return &state_->ring; }

int probe_io_uring() {
  io_uring ring{};
  int rc = io_uring_queue_init(2, &ring, 0);
  if (rc != 0) return rc;
  // Every opcode the loop issues (MSG_RING, 5.18, is the newest); multishot receive (6.0)
  // cannot be probed by opcode, so resolve_backend() also checks the kernel release.
  constexpr int kNeeded[] = {IORING_OP_ACCEPT,  IORING_OP_RECV,     IORING_OP_SEND,
                             IORING_OP_SENDMSG, IORING_OP_SHUTDOWN, IORING_OP_ASYNC_CANCEL,
                             IORING_OP_CLOSE,   IORING_OP_TIMEOUT,  IORING_OP_READ,
                             IORING_OP_MSG_RING};
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) {
    rc = -EOPNOTSUPP;
  } else {
    for (int op : kNeeded) {
      if (io_uring_opcode_supported(probe, op) == 0) rc = -EOPNOTSUPP;
    }
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  return rc;
}

}  // namespace herald::broker::io
