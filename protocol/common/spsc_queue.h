// A bounded lock-free single-producer single-consumer queue: the channels between workers and
// between an I/O thread and the storage worker. Owns its slots; never allocates after
// construction, never blocks and never drops: a full queue refuses the push.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <memory>
#include <utility>

namespace herald::common {

// T must be default-constructible and movable (plain tags and pointers, or requests that own
// their bytes). Exactly one thread pushes and exactly one thread pops, for the queue's whole
// life; either may call empty_approx() and capacity().
template <typename T>
class SpscQueue {
 public:
  // `capacity` must be a power of two, at least 2.
  explicit SpscQueue(size_t capacity) : slots_(new T[capacity]), mask_(capacity - 1) {
    assert(capacity >= 2 && (capacity & mask_) == 0);
  }
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Producer only. False when full; `item` is then left untouched with the caller.
  [[nodiscard]] bool try_push(const T& item) { return push(item); }
  [[nodiscard]] bool try_push(T&& item) { return push(std::move(item)); }

  // Producer only: whether a push would succeed now.
  [[nodiscard]] bool writable() {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cached_ <= mask_) return true;
    // Only the consumer moves head_: refresh the cached copy only when it looks full.
    head_cached_ = head_.load(std::memory_order_acquire);
    return tail - head_cached_ <= mask_;
  }

  // Consumer only. Moves the oldest item into `out`; false when empty.
  [[nodiscard]] bool try_pop(T& out) {
    size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cached_) {
      tail_cached_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cached_) return false;
    }
    out = std::move(slots_[head & mask_]);
    head_.store(head + 1, std::memory_order_release);  // hands the slot back to the producer
    return true;
  }

  // Consumer only: how many items a pop would find now (at least).
  [[nodiscard]] size_t readable() {
    tail_cached_ = tail_.load(std::memory_order_acquire);
    return tail_cached_ - head_.load(std::memory_order_relaxed);
  }

  // Either side; a hint only (the other side may be changing it).
  [[nodiscard]] bool empty_approx() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  [[nodiscard]] size_t capacity() const { return mask_ + 1; }

 private:
  static constexpr size_t kLine = 64;  // a cache line: the two sides never share one

  template <typename U>
  bool push(U&& item) {
    if (!writable()) return false;
    const size_t tail = tail_.load(std::memory_order_relaxed);
    slots_[tail & mask_] = std::forward<U>(item);
    tail_.store(tail + 1, std::memory_order_release);  // publishes the slot to the consumer
    return true;
  }

  std::unique_ptr<T[]> slots_;
  const size_t mask_;
  alignas(kLine) std::atomic<size_t> head_{0};  // written by the consumer
  size_t tail_cached_ = 0;                      // the consumer's view of tail_
  alignas(kLine) std::atomic<size_t> tail_{0};  // written by the producer
  size_t head_cached_ = 0;                      // the producer's view of head_
};

}  // namespace herald::common
