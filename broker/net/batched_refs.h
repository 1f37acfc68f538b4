// Reference counting in bulk for the fan-out, which shares one frame with thousands of send
// queues on one thread: an atomic read-modify-write per queue (one to take the reference, one
// to give it back) was 2 of every delivery's locked instructions. These two pay for many
// references with one atomic operation each way; a frame's count stays exact whenever
// another thread could look at it (never below the references really held, and every
// deferred release is applied before the worker waits for I/O again).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "broker/net/shared_buffer.h"

namespace herald::broker::net {

// References to one frame bought up front (one atomic add) and handed out without any; what
// is left goes back in one atomic subtract. The caller's own reference keeps the frame alive
// meanwhile. Thread: one.
class PrepaidRefs {
 public:
  PrepaidRefs(const SharedRef& frame, uint32_t count)
      : buffer_(const_cast<SharedBuffer*>(frame.get())), left_(count) {
    if (buffer_ != nullptr && left_ > 0) buffer_->retain(left_);
  }
  ~PrepaidRefs() {
    if (buffer_ != nullptr && left_ > 0) buffer_->release(left_);
  }
  PrepaidRefs(const PrepaidRefs&) = delete;
  PrepaidRefs& operator=(const PrepaidRefs&) = delete;

  // A reference to `frame`: a prepaid one when it is the frame paid for, else a copy.
  [[nodiscard]] SharedRef take(const SharedRef& frame) {
    if (frame.get() != buffer_ || left_ == 0) return frame;
    --left_;
    return SharedRef::adopt(buffer_);
  }

 private:
  SharedBuffer* buffer_;
  uint32_t left_;
};

// Releases gathered and applied per distinct buffer: the completions of one tick give back
// the same few frames from thousands of queues. Thread: one; flush() before blocking.
// 4 KiB per worker.
class ReleaseBatch {
 public:
  ReleaseBatch() = default;
  ~ReleaseBatch() { flush(); }
  ReleaseBatch(const ReleaseBatch&) = delete;
  ReleaseBatch& operator=(const ReleaseBatch&) = delete;

  // Takes over one reference to `buffer`.
  void add(SharedBuffer* buffer) {
    Slot& slot = slots_[slot_of(buffer)];
    if (slot.buffer == buffer) {
      ++slot.count;
      return;
    }
    if (slot.buffer != nullptr) slot.buffer->release(slot.count);  // a collision: settle it
    slot.buffer = buffer;  // `listed` stays: the slot is in used_ once until flush()
    slot.count = 1;
    if (!slot.listed) {
      slot.listed = true;
      used_[used_count_++] = static_cast<uint16_t>(&slot - slots_);
    }
  }
  void flush() {
    for (size_t i = 0; i < used_count_; ++i) {
      Slot& slot = slots_[used_[i]];
      if (slot.buffer != nullptr) slot.buffer->release(slot.count);
      slot = Slot{};
    }
    used_count_ = 0;
  }

 private:
  // Direct-mapped: a tick's sends give back a few frames each, many times over (10 frames per
  // send at --publish-window 10), so each add is one lookup; a collision only costs the atomic
  // this saves elsewhere.
  static constexpr size_t kSlots = 256;
  struct Slot {
    SharedBuffer* buffer = nullptr;
    uint32_t count = 0;
    bool listed = false;  // in used_
  };
  [[nodiscard]] static size_t slot_of(const SharedBuffer* buffer) {
    // Fibonacci hashing of the address without its alignment bits.
    return static_cast<size_t>(
        ((reinterpret_cast<uintptr_t>(buffer) >> 4) * uint64_t{0x9E3779B97F4A7C15}) >> 56);
  }
  Slot slots_[kSlots];
  uint16_t used_[kSlots];  // the slots to visit on flush
  size_t used_count_ = 0;
};

}  // namespace herald::broker::net
