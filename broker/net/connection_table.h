// The worker's connections by slot. A slot is reused with the next generation, so a key
// (generation, slot), like an operation's tag, never reaches the next connection in the slot.
// Owns the Connection objects; frees one only when told (after its last completion).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "broker/net/connection.h"

namespace herald::broker::net {

// Thread: the owning worker's.
class ConnectionTable {
 public:
  explicit ConnectionTable(uint32_t capacity);
  ~ConnectionTable();
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;

  // A new connection in a free slot, on `file`, accepted at `now_ms`.
  Connection& add(const protocol::websocket::SessionConfig& session_config, uint32_t file,
                  uint64_t now_ms);
  // Frees `connection` and its slot.
  void remove(Connection& connection);

  // The live connection a completion names; asserts it is the one that issued it.
  [[nodiscard]] Connection& at(uint32_t slot, uint32_t generation) const;
  // The connection `key` names, or null once it is gone (its slot may hold another).
  [[nodiscard]] Connection* find(uint64_t key) const;
  // Fetches into cache what find(key) and a delivery to it will read; a stale key is harmless.
  void prefetch(uint64_t key) const {
    auto slot = static_cast<uint32_t>(key);
    if (slot < slots_.size() && slots_[slot] != nullptr) slots_[slot]->prefetch();
  }
  void prefetch_queue_tail(uint64_t key) const {
    auto slot = static_cast<uint32_t>(key);
    if (slot < slots_.size() && slots_[slot] != nullptr) slots_[slot]->prefetch_queue_tail();
  }
  [[nodiscard]] static uint64_t key_of(const Connection& connection) {
    return (uint64_t{connection.generation()} << 32) | connection.slot();
  }

  // Every connection object: accepted, refused and closing ones.
  [[nodiscard]] size_t size() const { return live_; }
  // Slots in order; a free slot is null.
  [[nodiscard]] auto begin() const { return slots_.begin(); }
  [[nodiscard]] auto end() const { return slots_.end(); }

 private:
  std::vector<Connection*> slots_;
  std::vector<uint32_t> generations_;
  std::vector<uint32_t> free_slots_;
  size_t live_ = 0;
};

}  // namespace herald::broker::net
