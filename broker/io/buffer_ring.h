// A provided-buffer ring (IORING_REGISTER_PBUF_RING) for multishot receives: the kernel picks
// a buffer only when bytes arrive, so idle connections hold none. Owns the mmap'd ring and
// buffer memory; does not know who reads the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "broker/io/ring.h"

namespace herald::broker::io {

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
  // Gives the buffer back to the kernel.
  void recycle(uint16_t buffer_id);

 private:
  Ring* ring_ = nullptr;
  void* entries_ = nullptr;  // struct io_uring_buf_ring, mmap'd
  size_t entries_bytes_ = 0;
  uint8_t* memory_ = nullptr;  // count * buffer_bytes, mmap'd so untouched buffers cost no RSS
  size_t memory_bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint16_t group_id_ = 0;
  bool registered_ = false;
};

}  // namespace herald::broker::io
