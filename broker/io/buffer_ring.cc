// The provided-buffer ring, set up the liburing 2.3 way: mmap the entries, register them
// with io_uring_register_buf_ring, then fill with io_uring_buf_ring_add/advance.
#include "broker/io/buffer_ring.h"

#include <liburing.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

#include "broker/io/completion.h"

namespace herald::broker::io {

namespace {

void* map_anonymous(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

io_uring_buf_ring* ring_entries(void* entries) { return static_cast<io_uring_buf_ring*>(entries); }

// IORING_REGISTER_PBUF_STATUS (Linux 6.8): the kernel's head of a provided-buffer ring, the
// next entry a receive will take. liburing 2.3 predates it; older kernels answer EINVAL.
constexpr unsigned kRegisterPbufStatus = 26;
struct PbufStatus {
  uint32_t buf_group = 0;
  uint32_t head = 0;
  uint32_t resv[8] = {};
};

// The kernel's head, or -errno.
int64_t ring_head(io_uring* ring, uint16_t group_id) {
  PbufStatus status;
  status.buf_group = group_id;
  if (syscall(__NR_io_uring_register, ring->ring_fd, kRegisterPbufStatus, &status, 1) != 0) {
    return -errno;
  }
  return status.head;
}

}  // namespace

BufferRing::~BufferRing() {
  if (registered_) {
    io_uring_unregister_buf_ring(static_cast<io_uring*>(ring_->native()), group_id_);
  }
  if (entries_ != nullptr) munmap(entries_, entries_bytes_);
  if (memory_ != nullptr) munmap(memory_, memory_bytes_);
}

int BufferRing::init(Ring& ring, uint16_t group_id, uint32_t count, uint32_t buffer_bytes) {
  assert(count > 0 && count <= 32768 && (count & (count - 1)) == 0);
  assert(entries_ == nullptr);
  ring_ = &ring;
  group_id_ = group_id;
  count_ = count;
  buffer_bytes_ = buffer_bytes;
  entries_bytes_ = count * sizeof(io_uring_buf);
  memory_bytes_ = size_t{count} * buffer_bytes;
  entries_ = map_anonymous(entries_bytes_);
  memory_ = static_cast<uint8_t*>(map_anonymous(memory_bytes_));
  if (entries_ == nullptr || memory_ == nullptr) return -ENOMEM;

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(entries_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int rc = io_uring_register_buf_ring(static_cast<io_uring*>(ring.native()), &reg, 0);
  if (rc != 0) return rc;
  registered_ = true;

  io_uring_buf_ring_init(ring_entries(entries_));
  budget_ = BufferBudget(count);
  free_.init(memory_, count, buffer_bytes);
  surplus_.assign(count, false);
  // A plain ring runs receives as task work at any return to user space, even from madvise.
  head_known_ = ring.setup() == RingSetup::kTuned &&
                ring_head(static_cast<io_uring*>(ring.native()), group_id) >= 0;
  refill();
  return 0;
}

std::span<uint8_t> BufferRing::buffer(uint16_t buffer_id, size_t bytes) {
  assert(buffer_id < count_ && bytes <= buffer_bytes_);
  return {memory_ + size_t{buffer_id} * buffer_bytes_, bytes};
}

void BufferRing::recycle(uint16_t buffer_id) {
  assert(buffer_id < count_);
  free_.push(buffer_id);
  // Straight back while the ring is short, as the hottest buffer: no stack round trip.
  if (in_ring_ < budget_.target()) add_to_ring(free_.pop());
}

void BufferRing::on_completion(int32_t res, bool has_buffer) {
  if (has_buffer) {
    assert(in_ring_ > 0);
    --in_ring_;
    ++taken_tick_;
  } else if (res == -ENOBUFS) {
    starved_tick_ = true;
  }
}

void BufferRing::end_tick() {
  // An idle tick changes nothing and reads no clock.
  if (taken_tick_ != 0 || starved_tick_) {
    budget_.on_tick(taken_tick_, starved_tick_, monotonic_ns() / 1'000'000);
  }
  taken_tick_ = 0;
  starved_tick_ = false;
  refill();
}

void BufferRing::trim(uint64_t now_ms) {
  budget_.on_trim(now_ms);
  release_ring_surplus();
  // Buffers left on the stack are never in the kernel's ring, so their pages can go.
  free_.release_cold();
}

uint32_t BufferRing::release_ring_surplus() {
  // After a burst the ring still holds the entries the budget had then, and an idle worker
  // takes none, so their pages would stay. The entries from the kernel's head to our tail are
  // exactly those no receive has taken, whatever completions are still unreaped, and with
  // DEFER_TASKRUN no receive runs until this thread next enters io_uring. The first target()
  // of them stay warm; a receive into a released one later faults in zeroed pages.
  if (!head_known_ || in_ring_ <= budget_.target()) return 0;
  io_uring_buf_ring* entries = ring_entries(entries_);
  const int64_t head = ring_head(static_cast<io_uring*>(ring_->native()), group_id_);
  if (head < 0) return 0;
  const auto tail = static_cast<uint16_t>(entries->tail);
  const uint16_t queued = tail - static_cast<uint16_t>(head);
  assert(queued <= in_ring_ && queued <= count_);
  const uint32_t mask = count_ - 1;
  uint32_t released = 0;
  for (uint32_t i = budget_.target(); i < queued; ++i) {
    const uint16_t id = entries->bufs[(static_cast<uint32_t>(head) + i) & mask].bid;
    assert(id < count_);
    if (!free_.touched(id)) continue;  // released before, and no receive has used it since
    surplus_[id] = true;
    free_.note_released(id);
    ++released;
  }
  release_buffer_pages(memory_, buffer_bytes_, surplus_);
  return released;
}

void BufferRing::refill() {
  while (in_ring_ < budget_.target() && !free_.empty()) add_to_ring(free_.pop());
}

void BufferRing::add_to_ring(uint16_t buffer_id) {
  io_uring_buf_ring* entries = ring_entries(entries_);
  io_uring_buf_ring_add(entries, memory_ + size_t{buffer_id} * buffer_bytes_, buffer_bytes_,
                        buffer_id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(entries, 1);
  ++in_ring_;
}

}  // namespace herald::broker::io
