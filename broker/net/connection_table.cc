// Slot allocation and the generation check that makes a stale completion an assert, not a
// use-after-free.
#include "broker/net/connection_table.h"

#include <cassert>

#include "broker/io/completion.h"

namespace herald::broker::net {

ConnectionTable::ConnectionTable(uint32_t capacity) {
  slots_.reserve(capacity);
  generations_.reserve(capacity);
  free_slots_.reserve(capacity);
}

ConnectionTable::~ConnectionTable() {
  // The worker releases every connection before it returns from run(); a worker whose setup
  // failed never had one.
  assert(live_ == 0);
}

Connection& ConnectionTable::add(const protocol::websocket::SessionConfig& session_config,
                                 uint32_t file, uint64_t now_ms) {
  uint32_t slot = 0;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(nullptr);
    generations_.push_back(0);
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  uint32_t generation = generations_[slot] & io::OpTag::kGenerationMask;
  auto* connection = new Connection(session_config, slot, generation, file, now_ms);
  slots_[slot] = connection;
  ++live_;
  return *connection;
}

void ConnectionTable::remove(Connection& connection) {
  uint32_t slot = connection.slot();
  assert(slots_[slot] == &connection);
  delete &connection;
  slots_[slot] = nullptr;
  ++generations_[slot];
  free_slots_.push_back(slot);
  --live_;
}

Connection& ConnectionTable::at(uint32_t slot, uint32_t generation) const {
  assert(slot < slots_.size() && "completion for a slot never used");
  Connection* connection = slots_[slot];
  // A completion for a freed connection would be a use-after-free: never let it through.
  assert(connection != nullptr && "completion for a released connection");
  assert(connection->generation() == generation && "completion for a previous connection");
  return *connection;
}

Connection* ConnectionTable::find(uint64_t key) const {
  auto slot = static_cast<uint32_t>(key);
  auto generation = static_cast<uint32_t>(key >> 32);
  if (slot >= slots_.size()) return nullptr;
  Connection* connection = slots_[slot];
  return connection != nullptr && connection->generation() == generation ? connection : nullptr;
}

}  // namespace herald::broker::net
