// The table behind close_spec(): one row per reason, so a new reason cannot go out without a
// code, a text and a label.
#include "broker/core/close_reason.h"

#include <array>
#include <cassert>

namespace herald::broker::core {

namespace {

namespace ws = protocol::websocket;

// Application close codes (PROTOCOL.md section 8; RFC 6455 §7.4.2 leaves 4000-4999 to us).
constexpr auto kCloseUnauthorized = static_cast<ws::CloseCode>(4001);
constexpr auto kCloseTokenExpired = static_cast<ws::CloseCode>(4003);

constexpr std::array<CloseSpec, kCloseReasons> kSpecs = {{
    {ws::CloseCode::kGoingAway, "", "shutdown"},
    {ws::CloseCode::kGoingAway, "", "idle_timeout"},
    {ws::CloseCode::kGoingAway, "", "tls_ended"},
    {ws::CloseCode::kPolicyViolation, "too many bad commands", "bad_commands"},
    {ws::CloseCode::kPolicyViolation, "slow consumer", "slow_consumer"},
    {kCloseUnauthorized, "unauthorized", "unauthorized"},
    {kCloseTokenExpired, "token expired", "token_expired"},
}};

static_assert(static_cast<size_t>(CloseReason::kTokenExpired) + 1 == kCloseReasons);

}  // namespace

CloseSpec close_spec(CloseReason reason) {
  auto index = static_cast<size_t>(reason);
  assert(index < kCloseReasons);
  return kSpecs[index];
}

std::string close_reason_label(size_t i) {
  assert(i < kCloseReasons);
  return std::string(kSpecs[i].label);
}

}  // namespace herald::broker::core
