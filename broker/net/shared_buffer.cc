// Allocation and release of SharedBuffer blocks (header and bytes in one allocation).
#include "broker/net/shared_buffer.h"

#include <cassert>
#include <cstdint>
#include <new>

namespace herald::broker::net {

// The bytes start right after the header, aligned for any 8-byte access by encoders.
static_assert(sizeof(SharedBuffer) % alignof(uint64_t) == 0);

void SharedBuffer::release(uint32_t count) {
  // acq_rel: the thread that frees must see every write made before other releases.
  uint32_t before = refs_.fetch_sub(count, std::memory_order_acq_rel);
  assert(before >= count && "SharedBuffer refcount underflow");
  if (before == count) {
    SharedBuffer* variant = variant_.load(std::memory_order_acquire);
    if (is_variant(variant)) variant->release();
    this->~SharedBuffer();
    ::operator delete(static_cast<void*>(this));
  }
}

SharedRef::Variant SharedRef::variant(SharedRef& out) const {
  assert(buffer_ != nullptr);
  std::atomic<SharedBuffer*>& state = buffer_->variant_;
  SharedBuffer* seen = state.load(std::memory_order_acquire);
  if (seen == nullptr) {
    // The first to ask makes it; acquire pairs with publish_variant()'s release.
    if (state.compare_exchange_strong(seen, SharedBuffer::making(), std::memory_order_acquire)) {
      return Variant::kYours;
    }
  }
  if (seen == SharedBuffer::making()) return Variant::kBusy;
  if (seen == SharedBuffer::absent()) return Variant::kAbsent;
  seen->retain();
  out = SharedRef(seen);
  return Variant::kReady;
}

void SharedRef::publish_variant(SharedRef variant) const {
  assert(buffer_ != nullptr && buffer_->variant_.load() == SharedBuffer::making());
  SharedBuffer* state = variant ? variant.detach() : SharedBuffer::absent();
  buffer_->variant_.store(state, std::memory_order_release);
}

SharedRef SharedRef::allocate(size_t bytes, size_t meta_bytes) {
  assert(meta_bytes % alignof(uint64_t) == 0 && meta_bytes <= UINT32_MAX);
  void* block = ::operator new(sizeof(SharedBuffer) + meta_bytes + bytes);
  return SharedRef(new (block) SharedBuffer(bytes, static_cast<uint32_t>(meta_bytes)));
}

}  // namespace herald::broker::net
