// A provided-buffer ring (IORING_REGISTER_PBUF_RING) for multishot receives: the kernel picks
// a buffer only when bytes arrive, so idle connections hold none. Owns the mmap'd ring and
// buffer memory; does not know who reads the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "broker/io/buffer_budget.h"
#include "broker/io/free_buffer_stack.h"
#include "broker/io/ring.h"

namespace herald::broker::io {

// The kernel takes ring entries first in, first out, so a ring holding every buffer would
// cycle through all of them and keep each one's first pages resident. Only a budget of them
// (BufferBudget) is in the ring; the rest wait on a LIFO stack, and buffers that stay there
// give their pages back. Entries a burst left in the ring beyond the budget give theirs back
// too, where the kernel can say which entries no receive has taken (Linux 6.8).
//
// Owned by the ring's thread. The caller must recycle() every buffer it is handed, normally
// right after parsing, because the ring runs dry (-ENOBUFS) when buffers are held.
class BufferRing {
 public:
  BufferRing() = default;
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // `count` must be a power of two <= 32768. Returns 0 or -errno. The ring must outlive this.
  [[nodiscard]] int init(Ring& ring, uint16_t group_id, uint32_t count, uint32_t buffer_bytes);

  [[nodiscard]] uint16_t group_id() const { return group_id_; }
  [[nodiscard]] uint32_t buffer_bytes() const { return buffer_bytes_; }

  // The first `bytes` of buffer `buffer_id`, writable (the Session unmasks in place).
  [[nodiscard]] std::span<uint8_t> buffer(uint16_t buffer_id, size_t bytes);
  // Gives the buffer back: to the kernel while the ring holds fewer than the budget, else to
  // the stack.
  void recycle(uint16_t buffer_id);

  // A completion reaped from the ring: one that carries a buffer took it out of the ring.
  void on_completion(int32_t res, bool has_buffer);
  // Before each wait for completions: feeds the tick to the budget and tops the ring up.
  void end_tick();
  // About once a second: lets the budget shrink and releases the pages of buffers that stayed
  // on the stack, and of ring entries beyond the budget.
  void trim(uint64_t now_ms);

  // Buffers in the ring now, and the budget it is kept at.
  [[nodiscard]] uint32_t in_ring() const { return in_ring_; }
  [[nodiscard]] uint32_t target() const { return budget_.target(); }

 private:
  // Moves buffers from the top of the stack into the ring until it holds the budget.
  void refill();
  void add_to_ring(uint16_t buffer_id);
  // Releases the pages of the entries no receive has taken beyond the first target() from the
  // kernel's head. Returns how many it released.
  uint32_t release_ring_surplus();

  Ring* ring_ = nullptr;
  void* entries_ = nullptr;  // struct io_uring_buf_ring, mmap'd
  size_t entries_bytes_ = 0;
  uint8_t* memory_ = nullptr;  // count * buffer_bytes, mmap'd so untouched buffers cost no RSS
  size_t memory_bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint16_t group_id_ = 0;
  bool registered_ = false;
  // The kernel's head is known (IORING_REGISTER_PBUF_STATUS) and no receive can take an entry
  // while this thread runs outside io_uring_enter (DEFER_TASKRUN).
  bool head_known_ = false;

  BufferBudget budget_{1};
  FreeBufferStack free_;
  std::vector<bool> surplus_;  // by id: scratch of release_ring_surplus()
  uint32_t in_ring_ = 0;       // added and not yet handed out by a completion
  uint32_t taken_tick_ = 0;    // handed out since the last end_tick()
  bool starved_tick_ = false;  // a receive met -ENOBUFS since the last end_tick()
};

}  // namespace herald::broker::io
