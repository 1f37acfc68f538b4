// The /readyz answer: one plain-text line an operator can read in a probe's log.
#include "broker/net/readiness.h"

#include <string_view>

namespace herald::broker::net {

ReadyzAnswer readyz_answer(uint32_t conditions) {
  if (conditions == 0) return {200, "ready\n"};
  struct Reason {
    NotReady condition;
    std::string_view text;
  };
  static constexpr Reason kReasons[] = {
      {NotReady::kStarting, "starting"},
      {NotReady::kDraining, "draining"},
      {NotReady::kStorageFailed, "history storage failed"},
      {NotReady::kStorageBusy, "history storage behind"},
      {NotReady::kRedis, "redis unreachable"},
  };
  std::string body = "not ready:";
  const char* separator = " ";
  for (const Reason& reason : kReasons) {
    if ((conditions & static_cast<uint32_t>(reason.condition)) == 0) continue;
    body.append(separator).append(reason.text);
    separator = ", ";
  }
  body += '\n';
  return {503, std::move(body)};
}

}  // namespace herald::broker::net
