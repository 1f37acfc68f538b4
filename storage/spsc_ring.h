// A bounded lock-free single-producer single-consumer ring of movable items: the channel
// between one I/O thread and the storage worker. Never allocates after construction, never
// blocks: a full ring refuses the push and leaves the item with the caller.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <memory>
#include <utility>

namespace herald::storage {

template <typename T>
class SpscRing {
 public:
  // `capacity` must be a power of two, at least 2.
  explicit SpscRing(size_t capacity) : slots_(new T[capacity]), mask_(capacity - 1) {
    assert(capacity >= 2 && (capacity & mask_) == 0);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer only. False when full; `item` is then left untouched.
  [[nodiscard]] bool try_push(T&& item) {
    size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cached_ > mask_) {
      head_cached_ = head_.load(std::memory_order_acquire);
      if (tail - head_cached_ > mask_) return false;
    }
    slots_[tail & mask_] = std::move(item);
    tail_.store(tail + 1, std::memory_order_release);  // publishes the slot
    return true;
  }

  // Consumer only. Moves the oldest item into `out`; false when empty.
  [[nodiscard]] bool try_pop(T& out) {
    size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cached_) {
      tail_cached_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cached_) return false;
    }
    out = std::move(slots_[head & mask_]);
    head_.store(head + 1, std::memory_order_release);  // hands the slot back
    return true;
  }

  // Consumer only: how many items a pop would find now (at least).
  [[nodiscard]] size_t readable() {
    tail_cached_ = tail_.load(std::memory_order_acquire);
    return tail_cached_ - head_.load(std::memory_order_relaxed);
  }

  [[nodiscard]] size_t capacity() const { return mask_ + 1; }

 private:
  static constexpr size_t kLine = 64;  // the two sides never share a cache line

  std::unique_ptr<T[]> slots_;
  const size_t mask_;
  alignas(kLine) std::atomic<size_t> head_{0};  // written by the consumer
  size_t tail_cached_ = 0;
  alignas(kLine) std::atomic<size_t> tail_{0};  // written by the producer
  size_t head_cached_ = 0;
};

}  // namespace herald::storage
