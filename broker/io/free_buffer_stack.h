// The free receive buffers of one mapping as a LIFO stack: the next receive takes the buffer
// used last, whose pages are already resident, and buffers that stay at the cold end give
// their pages back (MADV_DONTNEED). Knows nothing of rings or sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace herald::broker::io {

// Owned by one loop thread. The mapping (count * buffer_bytes, private anonymous, page
// aligned) is the caller's and must outlive this. Every id is either on the stack or held by
// the caller; only buffers on the stack are ever released, so nobody may write to a buffer
// once it is pushed, until it is popped.
class FreeBufferStack {
 public:
  // Pushes every id, the lowest on top.
  void init(uint8_t* memory, uint32_t count, uint32_t buffer_bytes);

  [[nodiscard]] bool empty() const { return ids_.empty(); }
  [[nodiscard]] size_t size() const { return ids_.size(); }
  // The id pop() returns next; the stack must not be empty.
  [[nodiscard]] uint16_t top() const { return ids_.back(); }
  uint16_t pop();
  // A buffer the caller is done with; it counts as touched.
  void push(uint16_t id);

  // Gives back the pages of touched buffers that no pop() reached since the last call (they
  // sat below the stack's low-water mark). Returns how many buffers it released.
  uint32_t release_cold();

  // Whether buffer `id` was pushed since its pages were last given back.
  [[nodiscard]] bool touched(uint16_t id) const { return touched_[id]; }
  // Records that buffer `id`, held by the caller, had its pages given back by the caller.
  void note_released(uint16_t id);

  // Buffers touched and not released since: an estimate of the resident ones.
  [[nodiscard]] uint32_t touched_count() const { return touched_count_; }

 private:
  uint8_t* memory_ = nullptr;
  uint32_t buffer_bytes_ = 0;
  std::vector<uint16_t> ids_;
  std::vector<bool> touched_;  // by id: pushed since it was last released
  std::vector<bool> cold_;     // by id: scratch of release_cold()
  uint32_t touched_count_ = 0;
  size_t low_water_ = 0;  // the smallest size() since the last release_cold()
};

// Gives back the pages of the buffers marked in `marks` (by id; all cleared on return): one
// madvise per run of adjacent buffers, trimmed to whole pages, so a page shared with an
// unmarked buffer keeps its contents. The caller guarantees that nobody needs the bytes and
// that nothing writes to them concurrently; a later write faults in zeroed pages.
void release_buffer_pages(uint8_t* memory, uint32_t buffer_bytes, std::vector<bool>& marks);

}  // namespace herald::broker::io
