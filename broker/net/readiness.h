// Whether the broker should be sent new traffic (GET /readyz): a set of conditions that each
// make it not ready, set and cleared by whoever detects them. A new dependency (Redis) is a new
// bit here and one owner that sets it. Holds no I/O and knows no worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace herald::broker::net {

// One reason the broker is not ready. Bits of a mask.
enum class NotReady : uint32_t {
  kStarting = 1u << 0,       // workers, listeners or storage are not all up yet
  kDraining = 1u << 1,       // SIGTERM or POST /admin/drain: clients are being moved away
  kStorageFailed = 1u << 2,  // a history write failed (sticky until a restart)
  kStorageBusy = 1u << 3,    // a worker holds publishes: the history writer is behind
  kRedis = 1u << 4,          // a --redis server is unreachable or its canary is overdue
};

// Any thread. Starts not ready (kStarting); the server clears that once it serves.
class Readiness {
 public:
  void set(NotReady condition) {
    conditions_.fetch_or(static_cast<uint32_t>(condition), std::memory_order_acq_rel);
  }
  void clear(NotReady condition) {
    conditions_.fetch_and(~static_cast<uint32_t>(condition), std::memory_order_acq_rel);
  }
  // Sets `condition` and returns whether this call set it (false: it was set already).
  [[nodiscard]] bool claim(NotReady condition) {
    const auto bit = static_cast<uint32_t>(condition);
    return (conditions_.fetch_or(bit, std::memory_order_acq_rel) & bit) == 0;
  }
  [[nodiscard]] bool has(NotReady condition) const {
    return (conditions() & static_cast<uint32_t>(condition)) != 0;
  }
  // The mask of NotReady bits now set; 0 means ready.
  [[nodiscard]] uint32_t conditions() const { return conditions_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint32_t> conditions_{static_cast<uint32_t>(NotReady::kStarting)};
};

// The answer to GET /readyz for a mask of conditions: 200 "ready", or 503 with every reason.
struct ReadyzAnswer {
  int status = 200;
  std::string body;
};
[[nodiscard]] ReadyzAnswer readyz_answer(uint32_t conditions);

}  // namespace herald::broker::net
