// madvise(MADV_DONTNEED) on private anonymous memory drops the pages; the next write faults in
// zeroed ones, so a released buffer needs no other care.
#include "broker/io/free_buffer_stack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdint>

namespace herald::broker::io {

void FreeBufferStack::init(uint8_t* memory, uint32_t count, uint32_t buffer_bytes) {
  assert(count > 0 && count <= 65536);
  memory_ = memory;
  buffer_bytes_ = buffer_bytes;
  ids_.clear();
  ids_.reserve(count);
  for (uint32_t id = count; id > 0; --id) ids_.push_back(static_cast<uint16_t>(id - 1));
  touched_.assign(count, false);
  cold_.assign(count, false);
  touched_count_ = 0;
  low_water_ = ids_.size();
}

uint16_t FreeBufferStack::pop() {
  assert(!ids_.empty());
  const uint16_t id = ids_.back();
  ids_.pop_back();
  low_water_ = std::min(low_water_, ids_.size());
  return id;
}

void FreeBufferStack::push(uint16_t id) {
  assert(id < touched_.size() && ids_.size() < touched_.size());
  ids_.push_back(id);
  if (!touched_[id]) {
    touched_[id] = true;
    ++touched_count_;
  }
}

uint32_t FreeBufferStack::release_cold() {
  uint32_t released = 0;
  for (size_t i = 0; i < low_water_; ++i) {
    const uint16_t id = ids_[i];
    if (!touched_[id]) continue;
    cold_[id] = true;
    touched_[id] = false;
    ++released;
  }
  low_water_ = ids_.size();
  if (released == 0) return 0;
  touched_count_ -= released;
  release_buffer_pages(memory_, buffer_bytes_, cold_);
  return released;
}

void FreeBufferStack::note_released(uint16_t id) {
  assert(id < touched_.size());
  if (touched_[id]) {
    touched_[id] = false;
    --touched_count_;
  }
}

void release_buffer_pages(uint8_t* memory, uint32_t buffer_bytes, std::vector<bool>& marks) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const size_t count = marks.size();
  for (size_t id = 0; id < count;) {
    if (!marks[id]) {
      ++id;
      continue;
    }
    size_t end = id;
    while (end < count && marks[end]) marks[end++] = false;
    const uintptr_t first = reinterpret_cast<uintptr_t>(memory + id * buffer_bytes);
    const uintptr_t last = reinterpret_cast<uintptr_t>(memory + end * buffer_bytes);
    const uintptr_t from = (first + page - 1) / page * page;
    const uintptr_t to = last / page * page;
    if (from < to) {
      // Cannot fail on our own mapping; if it did, the pages would merely stay resident.
      [[maybe_unused]] int rc = madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
    }
    id = end;
  }
}

}  // namespace herald::broker::io
