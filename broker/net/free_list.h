// A per-thread pool of reusable objects (send operations), so the hot path
// does not allocate once warm. Not thread-safe: each worker owns its own pools.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>

namespace herald::broker::net {

// T must have a `T* next` member, used for the free list. Objects beyond `retained_max` are
// deleted on release, so a burst does not pin memory forever.
template <typename T>
class FreeList {
 public:
  explicit FreeList(size_t retained_max) : retained_max_(retained_max) {}
  ~FreeList() {
    while (free_ != nullptr) delete std::exchange(free_, free_->next);
  }
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;

  [[nodiscard]] T* acquire() {
    ++in_use_;
    if (free_ == nullptr) return new T{};
    T* item = free_;
    free_ = item->next;
    --free_count_;
    item->next = nullptr;
    return item;
  }

  // `item` must be in its reset state (the caller clears what it set).
  void release(T* item) {
    assert(in_use_ > 0);
    --in_use_;
    if (free_count_ >= retained_max_) {
      delete item;
      return;
    }
    item->next = free_;
    free_ = item;
    ++free_count_;
  }

  [[nodiscard]] size_t in_use() const { return in_use_; }
  [[nodiscard]] size_t free_count() const { return free_count_; }

 private:
  T* free_ = nullptr;
  size_t free_count_ = 0;
  size_t in_use_ = 0;
  size_t retained_max_;
};

}  // namespace herald::broker::net
