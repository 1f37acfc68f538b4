// A connection's queue of bytes to send: shared frames (one reference each) and owned buffers
// (Session output), in order, with the accounting a short send needs. Owns its nodes, which
// come from the worker's pool; never touches a socket.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "broker/net/free_list.h"
#include "broker/net/shared_buffer.h"

namespace herald::broker::net {

// One queued buffer: either `shared` or `owned` is set. `offset` counts bytes already sent.
// `serial` numbers the queue's pushes in order, so a node's position can be compared.
struct SendNode {
  SendNode* next = nullptr;
  SharedRef shared;
  std::string owned;
  size_t offset = 0;
  uint64_t serial = 0;

  [[nodiscard]] std::span<const uint8_t> bytes() const;
};

using SendNodePool = FreeList<SendNode>;

// Storage for one sendmsg in flight: it must outlive the operation, so it lives in a per-worker
// pool and an idle connection holds none.
struct SendOp {
  static constexpr size_t kIovecsMax = 64;
  SendOp* next = nullptr;
  msghdr message{};
  iovec iovecs[kIovecsMax]{};
  size_t bytes = 0;  // what was asked for
};

using SendOpPool = FreeList<SendOp>;

// Thread: the owning worker's. Nodes stay queued (and their bytes valid) until consume()
// acknowledges them, so a sendmsg may point into them while in flight.
class SendQueue {
 public:
  SendQueue() = default;
  ~SendQueue();  // must be clear()ed first: the nodes belong to a pool
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // Both return the new node (valid until consumed or cleared), or nullptr for empty bytes.
  SendNode* push(SharedRef frame, SendNodePool& pool);
  SendNode* push(std::string bytes, SendNodePool& pool);

  // Bytes queued and not yet acknowledged by consume().
  [[nodiscard]] size_t bytes() const { return bytes_; }
  [[nodiscard]] bool empty() const { return head_ == nullptr; }
  // The serial of the front node (of the next push when empty); nodes leave in serial order.
  [[nodiscard]] uint64_t front_serial() const { return head_ ? head_->serial : pushed_; }
  // True when the front node was partly sent: its rest must go out before anything else.
  [[nodiscard]] bool front_partly_sent() const { return head_ && head_->offset > 0; }

  // Swaps the frame of a queued shared node that no send in flight covers (conflation).
  void replace(SendNode* node, SharedRef frame);
  // Keeps the first `keep_nodes` nodes and frees the rest (a slow consumer's backlog, when
  // only a Close is still to be sent). Nodes a send in flight covers must be kept.
  void truncate(size_t keep_nodes, SendNodePool& pool);

  // Points `op` at up to SendOp::kIovecsMax buffers from the front. Returns the bytes covered.
  size_t gather(SendOp& op) const;
  // Acknowledges `bytes` sent from the front; a short send leaves the rest queued.
  void consume(size_t bytes, SendNodePool& pool);
  void clear(SendNodePool& pool);

 private:
  void append(SendNode* node, size_t bytes);
  static void recycle(SendNode* node, SendNodePool& pool);

  SendNode* head_ = nullptr;
  SendNode* tail_ = nullptr;
  size_t bytes_ = 0;
  uint64_t pushed_ = 0;
};

}  // namespace herald::broker::net
