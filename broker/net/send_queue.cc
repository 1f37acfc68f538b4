// SendQueue: linked nodes from a pool, gathered into iovecs and consumed after each send.
#include "broker/net/send_queue.h"

#include <cassert>
#include <utility>

namespace herald::broker::net {

std::span<const uint8_t> SendNode::bytes() const {
  if (shared) return shared.bytes();
  return {reinterpret_cast<const uint8_t*>(owned.data()), owned.size()};
}

SendQueue::~SendQueue() { assert(empty() && bytes_ == 0); }

SendNode* SendQueue::push(SharedRef frame, SendNodePool& pool) {
  size_t size = frame.bytes().size();
  if (size == 0) return nullptr;
  SendNode* node = pool.acquire();
  node->shared = std::move(frame);
  append(node, size);
  return node;
}

SendNode* SendQueue::push(std::string bytes, SendNodePool& pool) {
  size_t size = bytes.size();
  if (size == 0) return nullptr;
  SendNode* node = pool.acquire();
  node->owned = std::move(bytes);
  append(node, size);
  return node;
}

void SendQueue::replace(SendNode* node, SharedRef frame) {
  assert(node->shared && node->offset == 0 && node->serial >= front_serial());
  bytes_ -= node->shared.bytes().size();
  bytes_ += frame.bytes().size();
  node->shared = std::move(frame);
}

void SendQueue::truncate(size_t keep_nodes, SendNodePool& pool) {
  SendNode* last_kept = nullptr;
  SendNode* node = head_;
  size_t kept_bytes = 0;
  for (size_t i = 0; i < keep_nodes && node != nullptr; ++i) {
    kept_bytes += node->bytes().size() - node->offset;
    last_kept = node;
    node = node->next;
  }
  while (node != nullptr) {
    SendNode* done = node;
    node = node->next;
    recycle(done, pool);
  }
  if (last_kept == nullptr) {
    head_ = nullptr;
  } else {
    last_kept->next = nullptr;
  }
  tail_ = last_kept;
  bytes_ = kept_bytes;
}

void SendQueue::append(SendNode* node, size_t bytes) {
  node->serial = pushed_++;
  if (tail_ == nullptr) {
    head_ = node;
  } else {
    tail_->next = node;
  }
  tail_ = node;
  bytes_ += bytes;
}

size_t SendQueue::gather(SendOp& op) const {
  size_t count = 0;
  size_t total = 0;
  for (const SendNode* node = head_; node != nullptr && count < SendOp::kIovecsMax;
       node = node->next) {
    std::span<const uint8_t> bytes = node->bytes().subspan(node->offset);
    // iovec wants a non-const pointer; sendmsg only reads through it.
    op.iovecs[count++] = iovec{const_cast<uint8_t*>(bytes.data()), bytes.size()};
    total += bytes.size();
  }
  op.message = msghdr{};
  op.message.msg_iov = op.iovecs;
  op.message.msg_iovlen = count;
  op.bytes = total;
  return total;
}

void SendQueue::consume(size_t bytes, SendNodePool& pool) {
  assert(bytes <= bytes_);
  bytes_ -= bytes;
  while (bytes > 0) {
    assert(head_ != nullptr);
    size_t left = head_->bytes().size() - head_->offset;
    if (bytes < left) {
      head_->offset += bytes;
      return;
    }
    bytes -= left;
    SendNode* done = head_;
    head_ = done->next;
    if (head_ == nullptr) tail_ = nullptr;
    recycle(done, pool);
  }
}

void SendQueue::clear(SendNodePool& pool) {
  while (head_ != nullptr) {
    SendNode* done = head_;
    head_ = done->next;
    recycle(done, pool);
  }
  tail_ = nullptr;
  bytes_ = 0;
}

void SendQueue::recycle(SendNode* node, SendNodePool& pool) {
  node->next = nullptr;
  node->shared = SharedRef();
  // A pooled node keeps no large heap block: Session output is usually small, and a kept
  // 16 MiB string would defeat the point of the pool.
  if (node->owned.capacity() > 4096) {
    std::string().swap(node->owned);
  } else {
    node->owned.clear();
  }
  node->offset = 0;
  pool.release(node);
}

}  // namespace herald::broker::net
