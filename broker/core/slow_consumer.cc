// The slow-consumer decision and its two small per-connection tables.
#include "broker/core/slow_consumer.h"

#include <cassert>
#include <iterator>

namespace herald::broker::core {

using protocol::pubsub::Policy;

SlowDecision decide(size_t queued_bytes, size_t frame_bytes, size_t queued_bytes_max,
                    Policy policy) {
  assert(policy != Policy::kDefault);
  if (queued_bytes + frame_bytes <= queued_bytes_max) return SlowDecision::kEnqueue;
  switch (policy) {
    case Policy::kDisconnect:
      return SlowDecision::kDisconnect;
    case Policy::kConflate:
      return SlowDecision::kConflate;
    case Policy::kCatchup:  // the worker turns this into a catch-up where the topic has history
    case Policy::kDrop:
    case Policy::kDefault:
      break;
  }
  return SlowDecision::kDrop;
}

bool GapTable::add_missed(std::string_view topic) {
  auto it = missed_.find(topic);
  if (it != missed_.end()) {
    ++it->second;
    return true;
  }
  if (missed_.size() >= kTopicsMax) return false;
  missed_.emplace(std::string(topic), 1);
  return true;
}

uint64_t GapTable::take(std::string_view topic) {
  auto it = missed_.find(topic);
  if (it == missed_.end()) return 0;
  uint64_t missed = it->second;
  missed_.erase(it);
  return missed;
}

void ConflateIndex::record(std::string_view topic, uint64_t serial, uint64_t first_free) {
  auto it = entries_.find(topic);
  if (it != entries_.end()) {
    it->second = serial;
    return;
  }
  if (entries_.size() >= kTopicsMax) {
    for (auto stale = entries_.begin(); stale != entries_.end();) {
      stale = stale->second < first_free ? entries_.erase(stale) : std::next(stale);
    }
    if (entries_.size() >= kTopicsMax) return;
  }
  entries_.emplace(std::string(topic), serial);
}

uint64_t ConflateIndex::find(std::string_view topic, uint64_t first_free) const {
  auto it = entries_.find(topic);
  if (it == entries_.end() || it->second < first_free) return kNone;
  return it->second;
}

}  // namespace herald::broker::core
