// Per-client-address limits shared by every worker: open connections per address and new
// connections per second per address (a token bucket each). Thread-safe (one mutex, taken
// once when a connection's address becomes known and once when it is released, never per
// message). Memory is bounded: idle addresses are forgotten, and at `entries_max` addresses
// new ones are refused rather than tracked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "broker/auth/ip_address.h"
#include "broker/auth/rate_limit.h"

namespace herald::broker::auth {

class IpLimiter {
 public:
  // 0 turns a limit off. `entries_max` bounds the table.
  IpLimiter(uint64_t connections_max, uint64_t new_per_s_max, size_t entries_max);

  enum class Verdict : uint8_t { kAdmitted, kTooMany, kTooFast, kTableFull };
  // Counts one more connection from `address` (its limit_key()) when admitted; the caller
  // then owes exactly one release().
  [[nodiscard]] Verdict admit(const IpAddress& address, uint64_t now_ms);
  void release(const IpAddress& address, uint64_t now_ms);

  [[nodiscard]] bool enabled() const { return connections_max_ != 0 || new_per_s_max_ != 0; }
  [[nodiscard]] size_t tracked() const;

 private:
  struct Entry {
    uint64_t open = 0;
    TokenBucket new_connections;
    uint64_t last_ms = 0;
  };
  struct Hash {
    size_t operator()(const IpAddress& address) const;
  };
  void forget_idle(uint64_t now_ms);

  const uint64_t connections_max_;
  const uint64_t new_per_s_max_;
  const size_t entries_max_;
  mutable std::mutex mutex_;
  std::unordered_map<IpAddress, Entry, Hash> entries_;
  uint64_t last_sweep_ms_ = 0;
};

}  // namespace herald::broker::auth
