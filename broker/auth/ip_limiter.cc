// The per-address table. An address with no open connection is dropped once its bucket has
// refilled (one second: the burst equals the per-second rate), so a scan of many addresses
// costs memory for a second at most.
#include "broker/auth/ip_limiter.h"

#include <cstring>

namespace herald::broker::auth {

namespace {

constexpr uint64_t kSweepEveryMs = 1000;
constexpr uint64_t kIdleForgetMs = 1000;

}  // namespace

IpLimiter::IpLimiter(uint64_t connections_max, uint64_t new_per_s_max, size_t entries_max)
    : connections_max_(connections_max), new_per_s_max_(new_per_s_max), entries_max_(entries_max) {}

size_t IpLimiter::Hash::operator()(const IpAddress& address) const {
  uint64_t high = 0;
  uint64_t low = 0;
  std::memcpy(&high, address.bytes.data(), 8);
  std::memcpy(&low, address.bytes.data() + 8, 8);
  // A multiplicative mix: addresses of one subnet differ in few bits.
  return static_cast<size_t>((high * 0x9E3779B97F4A7C15ull) ^ (low * 0xC2B2AE3D27D4EB4Full));
}

IpLimiter::Verdict IpLimiter::admit(const IpAddress& address, uint64_t now_ms) {
  if (!enabled()) return Verdict::kAdmitted;
  const IpAddress key = address.limit_key();
  std::lock_guard lock(mutex_);
  if (now_ms - last_sweep_ms_ >= kSweepEveryMs) forget_idle(now_ms);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= entries_max_) return Verdict::kTableFull;
    Entry entry;
    entry.new_connections = TokenBucket(new_per_s_max_, new_per_s_max_, now_ms);
    it = entries_.emplace(key, entry).first;
  }
  Entry& entry = it->second;
  entry.last_ms = now_ms;
  if (connections_max_ != 0 && entry.open >= connections_max_) return Verdict::kTooMany;
  if (!entry.new_connections.take(now_ms)) return Verdict::kTooFast;
  ++entry.open;
  return Verdict::kAdmitted;
}

void IpLimiter::release(const IpAddress& address, uint64_t now_ms) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(address.limit_key());
  if (it == entries_.end() || it->second.open == 0) return;
  --it->second.open;
  it->second.last_ms = now_ms;
}

size_t IpLimiter::tracked() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void IpLimiter::forget_idle(uint64_t now_ms) {
  last_sweep_ms_ = now_ms;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.open == 0 && now_ms - it->second.last_ms >= kIdleForgetMs) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace herald::broker::auth
