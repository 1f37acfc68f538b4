// Inflated payloads of compressed server frames, by their compressed bytes. A broker that
// answers server_no_context_takeover and compresses a broadcast once sends every subscriber
// the very same compressed frame; inflating it once per loop rather than once per connection
// keeps the generator's CPU for measuring the broker, not zlib. Every frame is still read and
// its compressed bytes compared whole, so a corrupt or different frame misses the cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "protocol/websocket/deflate.h"

namespace herald::bench {

// Thread: one loop's.
class InflateCache {
 public:
  // The message `compressed` (a whole message's payload, RSV1 set, no context takeover)
  // inflates to, or null when it does not inflate within `bytes_max`: the caller then hands
  // the frame to its parser, which fails the connection as RFC 7692 asks.
  [[nodiscard]] const std::string* inflate(std::span<const uint8_t> compressed, uint64_t bytes_max);

  [[nodiscard]] uint64_t hits() const { return hits_; }
  [[nodiscard]] uint64_t misses() const { return misses_; }

 private:
  // Recent messages only: a fan-out has a few in flight, and a bound keeps memory flat.
  static constexpr size_t kEntriesMax = 256;

  std::unordered_map<std::string, std::string> entries_;
  std::unique_ptr<protocol::websocket::Inflater> inflater_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace herald::bench
