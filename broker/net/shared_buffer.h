// An immutable byte buffer with an atomic intrusive refcount: a frame is encoded once and every
// send queue that carries it holds a reference (broadcast never copies a payload per
// subscriber). Owns only its bytes, and at most one variant: another encoding of the same
// frames (compressed, RFC 7692), made once by whichever thread first needs it and then shared
// like the buffer. Knows nothing of sockets, queues or compression.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace herald::broker::net {

class SharedRef;

// Allocated in one block: this header, an optional meta area (what the broker needs to route
// the frame, never sent), then the bytes. Any thread may release a reference; bytes and meta
// are written only through the first reference, before it is shared.
class SharedBuffer {
 public:
  SharedBuffer(const SharedBuffer&) = delete;
  SharedBuffer& operator=(const SharedBuffer&) = delete;

  [[nodiscard]] const uint8_t* data() const { return meta() + meta_bytes_; }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] const uint8_t* meta() const { return reinterpret_cast<const uint8_t*>(this + 1); }
  [[nodiscard]] size_t meta_size() const { return meta_bytes_; }
  [[nodiscard]] uint32_t ref_count() const { return refs_.load(std::memory_order_relaxed); }

 private:
  friend class SharedRef;
  friend class PrepaidRefs;
  friend class ReleaseBatch;
  SharedBuffer(size_t size, uint32_t meta_bytes) : meta_bytes_(meta_bytes), size_(size) {}
  ~SharedBuffer() = default;

  [[nodiscard]] uint8_t* mutable_meta() { return reinterpret_cast<uint8_t*>(this + 1); }
  [[nodiscard]] uint8_t* mutable_data() { return mutable_meta() + meta_bytes_; }
  void retain(uint32_t count = 1) {
    [[maybe_unused]] uint32_t before = refs_.fetch_add(count, std::memory_order_relaxed);
    assert(before > 0);
  }
  void release(uint32_t count = 1);

  // The variant's states besides a pointer to it (which holds one reference).
  [[nodiscard]] static SharedBuffer* making() { return reinterpret_cast<SharedBuffer*>(1); }
  [[nodiscard]] static SharedBuffer* absent() { return reinterpret_cast<SharedBuffer*>(2); }
  [[nodiscard]] static bool is_variant(const SharedBuffer* state) {
    return reinterpret_cast<uintptr_t>(state) > 2;
  }

  std::atomic<uint32_t> refs_{1};
  uint32_t meta_bytes_;
  size_t size_;
  // Null until asked for; then making(), then the variant or absent(). A cache of derived
  // bytes, not part of the value: writable through a const reference.
  mutable std::atomic<SharedBuffer*> variant_{nullptr};
};

// Owns one reference. Copying shares the buffer (one atomic increment); moving is free.
class SharedRef {
 public:
  SharedRef() = default;
  // A buffer of `bytes` bytes (and `meta_bytes`, a multiple of 8, of meta) with one
  // reference, for the caller to fill via mutable_bytes() and mutable_meta().
  static SharedRef allocate(size_t bytes, size_t meta_bytes = 0);
  // Takes over a reference given up by detach() (possibly on another thread).
  static SharedRef adopt(SharedBuffer* buffer) { return SharedRef(buffer); }
  // Gives up this reference as a raw pointer, for a channel between threads; adopt() it back.
  [[nodiscard]] SharedBuffer* detach() { return std::exchange(buffer_, nullptr); }

  SharedRef(const SharedRef& other) : buffer_(other.buffer_) {
    if (buffer_ != nullptr) buffer_->retain();
  }
  SharedRef(SharedRef&& other) noexcept : buffer_(std::exchange(other.buffer_, nullptr)) {}
  SharedRef& operator=(SharedRef other) noexcept {
    std::swap(buffer_, other.buffer_);
    return *this;
  }
  ~SharedRef() {
    if (buffer_ != nullptr) buffer_->release();
  }

  explicit operator bool() const { return buffer_ != nullptr; }
  [[nodiscard]] const SharedBuffer* get() const { return buffer_; }
  [[nodiscard]] std::span<const uint8_t> bytes() const {
    return buffer_ == nullptr ? std::span<const uint8_t>{}
                              : std::span<const uint8_t>{buffer_->data(), buffer_->size()};
  }
  [[nodiscard]] std::span<const uint8_t> meta() const {
    return buffer_ == nullptr ? std::span<const uint8_t>{}
                              : std::span<const uint8_t>{buffer_->meta(), buffer_->meta_size()};
  }
  // The variant, for a caller that would use it instead of these bytes.
  enum class Variant : uint8_t {
    kReady,   // `out` holds it
    kAbsent,  // there is none: whoever made it found nothing to gain
    kBusy,    // another thread is making it: use these bytes this time
    kYours,   // nobody asked before: make it, then publish_variant()
  };
  Variant variant(SharedRef& out) const;
  // Ends kYours: `variant` (may be null: none) is kept until this buffer is freed.
  void publish_variant(SharedRef variant) const;

  // Writable only while this is the sole reference: the buffer is immutable once shared.
  [[nodiscard]] std::span<uint8_t> mutable_bytes() {
    assert(buffer_ != nullptr && buffer_->ref_count() == 1);
    return {buffer_->mutable_data(), buffer_->size()};
  }
  [[nodiscard]] std::span<uint8_t> mutable_meta() {
    assert(buffer_ != nullptr && buffer_->ref_count() == 1);
    return {buffer_->mutable_meta(), buffer_->meta_size()};
  }
  // Cuts the bytes to their first `size` (a buffer allocated for the worst case, filled
  // with less). Sole reference only; the allocation keeps its size.
  void shrink(size_t size) {
    assert(buffer_ != nullptr && buffer_->ref_count() == 1 && size <= buffer_->size_);
    buffer_->size_ = size;
  }

 private:
  explicit SharedRef(SharedBuffer* buffer) : buffer_(buffer) {}
  SharedBuffer* buffer_ = nullptr;
};

}  // namespace herald::broker::net
