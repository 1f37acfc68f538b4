// A connection's queue of bytes to send, in order: each entry one reference to a shared frame
// (broadcast) or to a buffer of the connection's own output (handshake answer, acks, control
// frames), with the accounting a short send needs. Never touches a socket.
//
// Entries are 16 bytes in one contiguous ring per connection, not linked nodes: fan-out pushes
// to thousands of queues per message and gathers each one per tick, and scattered nodes made
// those two walks the broker's hottest cache misses.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "broker/net/batched_refs.h"
#include "broker/net/shared_buffer.h"

namespace herald::broker::net {

// One send being gathered: the worker fills one, then hands the kernel a copy of what was used
// (send_scratch.h). Left uninitialised: gather() writes what it uses.
struct SendOp {
  static constexpr size_t kIovecsMax = 64;
  msghdr message;
  iovec iovecs[kIovecsMax];
  size_t bytes;  // what was asked for
};

// Thread: the owning worker's. Entries stay queued (and their bytes valid) until consume()
// acknowledges them, so a sendmsg may point into them while in flight. Every push gets a
// serial number, in order; entries leave in serial order.
class SendQueue {
 public:
  static constexpr uint64_t kNone = UINT64_MAX;

  SendQueue() = default;
  ~SendQueue();
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // Both return the entry's serial, or kNone for empty bytes (nothing is queued). The first
  // takes the reference; the second copies `bytes` into a buffer of its own.
  uint64_t push(SharedRef frame);
  uint64_t push_copy(std::string_view bytes);

  // Bytes queued and not yet acknowledged by consume().
  [[nodiscard]] size_t bytes() const { return bytes_; }
  [[nodiscard]] bool empty() const { return count_ == 0; }
  [[nodiscard]] size_t size() const { return count_; }
  // The serial of the front entry (of the next push when empty).
  [[nodiscard]] uint64_t front_serial() const { return front_serial_; }
  // True when the front entry was partly sent: its rest must go out before anything else.
  [[nodiscard]] bool front_partly_sent() const { return count_ > 0 && at(0).offset > 0; }

  // Asks the CPU for the entry the next push writes.
  void prefetch_tail() const {
    if (ring_ != nullptr) __builtin_prefetch(&ring_[(head_ + count_) & (capacity_ - 1)], 1);
  }

  // Swaps the frame of the queued entry `serial`, which no send in flight may cover
  // (conflation).
  void replace(uint64_t serial, SharedRef frame);
  // Keeps the first `keep` entries and releases the rest (a slow consumer's backlog, when only
  // a Close is still to be sent). Entries a send in flight covers must be kept.
  void truncate(size_t keep);

  // Points `op` at up to SendOp::kIovecsMax buffers from the front. Returns the bytes covered.
  size_t gather(SendOp& op) const;
  // Acknowledges `bytes` sent from the front; a short send leaves the rest queued. The second
  // form hands the references of the entries sent to `released` (batched_refs.h).
  void consume(size_t bytes) { consume(bytes, nullptr); }
  void consume(size_t bytes, ReleaseBatch& released) { consume(bytes, &released); }
  // Releases every entry.
  void clear();
  // Gives back the ring's memory when the queue is empty (an idle connection holds none).
  void shrink();

 private:
  struct Entry {
    SharedBuffer* buffer;  // one reference, owned by the queue
    uint32_t offset;       // bytes already sent
    uint32_t size;         // the buffer's size, cached to keep walks off its cache line
  };
  static_assert(sizeof(Entry) == 16);

  [[nodiscard]] Entry& at(size_t index) { return ring_[(head_ + index) & (capacity_ - 1)]; }
  [[nodiscard]] const Entry& at(size_t index) const {
    return ring_[(head_ + index) & (capacity_ - 1)];
  }
  uint64_t append(SharedRef frame, size_t size);
  void consume(size_t bytes, ReleaseBatch* released);
  void grow();

  Entry* ring_ = nullptr;
  uint32_t capacity_ = 0;  // zero or a power of two
  uint32_t head_ = 0;      // index of the front entry
  uint32_t count_ = 0;
  size_t bytes_ = 0;
  uint64_t front_serial_ = 0;
};

}  // namespace herald::broker::net
