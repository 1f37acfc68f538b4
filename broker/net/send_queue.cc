// SendQueue: a growable ring of 16-byte entries, gathered into iovecs and consumed after
// each send.
#include "broker/net/send_queue.h"

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

namespace herald::broker::net {
namespace {

// When a ring drains it is given back unless it grew past its first size and no further than
// kCapacityKept: a first-size ring most likely held a one-off answer (an idle subscriber's
// ack), and a larger one a backlog that may not come back; a subscriber that receives steadily
// keeps its ring rather than cycling it through malloc on every send (the idle sweep gives it
// back once the subscriber goes quiet). 64 entries (1 KiB) cover a burst of 64 frames, as a
// publisher with 64 messages in flight sends: kept at 16, such a ring regrew from 2 to 64 after
// every drain, five mallocs and copies that callgrind put at about 70 instructions a delivery
// at 1,000 subscribers.
constexpr uint32_t kCapacityFirst = 2;
constexpr uint32_t kCapacityKept = 64;

// Gives up one reference the queue held.
void release(SharedBuffer* buffer) { SharedRef released = SharedRef::adopt(buffer); }

}  // namespace

SendQueue::~SendQueue() {
  clear();
  std::free(ring_);
}

uint64_t SendQueue::push(SharedRef frame) {
  size_t size = frame.bytes().size();
  if (size == 0) return kNone;
  return append(std::move(frame), size);
}

uint64_t SendQueue::push_copy(std::string_view bytes) {
  if (bytes.empty()) return kNone;
  SharedRef copy = SharedRef::allocate(bytes.size());
  std::memcpy(copy.mutable_bytes().data(), bytes.data(), bytes.size());
  return append(std::move(copy), bytes.size());
}

uint64_t SendQueue::append(SharedRef frame, size_t size) {
  // A frame is at most --max-message-bytes plus its header; the entry keeps 32 bits of it.
  assert(size <= std::numeric_limits<uint32_t>::max());
  if (count_ == capacity_) grow();
  ring_[(head_ + count_) & (capacity_ - 1)] = Entry{frame.detach(), 0, static_cast<uint32_t>(size)};
  ++count_;
  bytes_ += size;
  return front_serial_ + count_ - 1;
}

void SendQueue::grow() {
  uint32_t capacity = capacity_ == 0 ? kCapacityFirst : capacity_ * 2;
  auto* ring = static_cast<Entry*>(std::malloc(capacity * sizeof(Entry)));
  if (ring == nullptr) throw std::bad_alloc();
  for (uint32_t i = 0; i < count_; ++i) ring[i] = at(i);
  std::free(ring_);
  ring_ = ring;
  capacity_ = capacity;
  head_ = 0;
}

void SendQueue::replace(uint64_t serial, SharedRef frame) {
  assert(serial >= front_serial_ && serial - front_serial_ < count_);
  Entry& entry = at(serial - front_serial_);
  assert(entry.offset == 0);
  size_t size = frame.bytes().size();
  assert(size > 0 && size <= std::numeric_limits<uint32_t>::max());
  bytes_ = bytes_ - entry.size + size;
  release(entry.buffer);
  entry = Entry{frame.detach(), 0, static_cast<uint32_t>(size)};
}

void SendQueue::truncate(size_t keep) {
  while (count_ > keep) {
    Entry& entry = at(count_ - 1);
    bytes_ -= entry.size - entry.offset;
    release(entry.buffer);
    --count_;
  }
}

size_t SendQueue::gather(SendOp& op) const {
  size_t count = count_ < SendOp::kIovecsMax ? count_ : SendOp::kIovecsMax;
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const Entry& entry = at(i);
    // iovec wants a non-const pointer; sendmsg only reads through it.
    op.iovecs[i] =
        iovec{const_cast<uint8_t*>(entry.buffer->data()) + entry.offset, entry.size - entry.offset};
    total += entry.size - entry.offset;
  }
  op.message = msghdr{};
  op.message.msg_iov = op.iovecs;
  op.message.msg_iovlen = count;
  op.bytes = total;
  return total;
}

void SendQueue::consume(size_t bytes, ReleaseBatch* released) {
  assert(bytes <= bytes_);
  bytes_ -= bytes;
  while (bytes > 0) {
    assert(count_ > 0);
    Entry& entry = at(0);
    size_t left = entry.size - entry.offset;
    if (bytes < left) {
      entry.offset += static_cast<uint32_t>(bytes);
      return;
    }
    bytes -= left;
    if (released != nullptr) {
      released->add(entry.buffer);
    } else {
      release(entry.buffer);
    }
    head_ = (head_ + 1) & (capacity_ - 1);
    --count_;
    ++front_serial_;
  }
  if (count_ == 0 && (capacity_ <= kCapacityFirst || capacity_ > kCapacityKept)) shrink();
}

void SendQueue::clear() {
  while (count_ > 0) {
    release(at(0).buffer);
    head_ = (head_ + 1) & (capacity_ - 1);
    --count_;
    ++front_serial_;
  }
  bytes_ = 0;
}

void SendQueue::shrink() {
  if (count_ > 0) return;
  std::free(std::exchange(ring_, nullptr));
  capacity_ = 0;
  head_ = 0;
}

}  // namespace herald::broker::net
