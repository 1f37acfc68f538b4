// Allocation and release of SharedBuffer blocks (header and bytes in one allocation).
#include "broker/net/shared_buffer.h"

#include <cassert>
#include <cstdint>
#include <new>

namespace herald::broker::net {

// The bytes start right after the header, aligned for any 8-byte access by encoders.
static_assert(sizeof(SharedBuffer) % alignof(uint64_t) == 0);

void SharedBuffer::release() {
  // acq_rel: the thread that frees must see every write made before other releases.
  uint32_t before = refs_.fetch_sub(1, std::memory_order_acq_rel);
  assert(before > 0 && "SharedBuffer refcount underflow");
  if (before == 1) {
    this->~SharedBuffer();
    ::operator delete(static_cast<void*>(this));
  }
}

SharedRef SharedRef::allocate(size_t bytes, size_t meta_bytes) {
  assert(meta_bytes % alignof(uint64_t) == 0 && meta_bytes <= UINT32_MAX);
  void* block = ::operator new(sizeof(SharedBuffer) + meta_bytes + bytes);
  return SharedRef(new (block) SharedBuffer(bytes, static_cast<uint32_t>(meta_bytes)));
}

}  // namespace herald::broker::net
