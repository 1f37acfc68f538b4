// The process-wide limiter behind log_refusal: one window per reason, shared by every worker
// (the count is what an operator reads, whichever worker refused).
#include "broker/net/refusal_log.h"

#include "broker/io/completion.h"
#include "broker/net/log.h"

namespace herald::broker::net {

namespace {

constexpr uint32_t kRefusalLinesPerSecond = 5;

}  // namespace

void log_refusal(core::Refusal refusal) {
  if (!log_enabled(LogLevel::kInfo)) return;
  static LogRateLimiter limiter(core::kRefusalKinds, kRefusalLinesPerSecond);
  uint64_t suppressed = 0;
  const auto reason = static_cast<uint32_t>(refusal);
  if (!limiter.allow(reason, io::monotonic_ns() / 1000000, suppressed)) return;
  if (suppressed == 0) {
    log_line(LogLevel::kInfo, "refused", {{"reason", core::refusal_name(refusal)}});
  } else {
    log_line(LogLevel::kInfo, "refused",
             {{"reason", core::refusal_name(refusal)}, {"suppressed", suppressed}});
  }
}

}  // namespace herald::broker::net
