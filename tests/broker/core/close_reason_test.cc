// The one mapping of close reasons: each reason's code, text and metric label, as PROTOCOL.md
// section 8 documents them.
#include "broker/core/close_reason.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace herald::broker::core {
namespace {

namespace ws = protocol::websocket;

TEST(CloseReasonTest, EachReasonHasItsDocumentedCode) {
  EXPECT_EQ(close_spec(CloseReason::kShutdown).code, ws::CloseCode::kGoingAway);
  EXPECT_EQ(close_spec(CloseReason::kIdleTimeout).code, ws::CloseCode::kGoingAway);
  EXPECT_EQ(close_spec(CloseReason::kTlsEnded).code, ws::CloseCode::kGoingAway);
  EXPECT_EQ(close_spec(CloseReason::kBadCommands).code, ws::CloseCode::kPolicyViolation);
  EXPECT_EQ(close_spec(CloseReason::kSlowConsumer).code, ws::CloseCode::kPolicyViolation);
  EXPECT_EQ(static_cast<int>(close_spec(CloseReason::kUnauthorized).code), 4001);
  EXPECT_EQ(static_cast<int>(close_spec(CloseReason::kTokenExpired).code), 4003);
  EXPECT_EQ(close_spec(CloseReason::kBadCommands).text, "too many bad commands");
  EXPECT_EQ(close_spec(CloseReason::kSlowConsumer).text, "slow consumer");
}

TEST(CloseReasonTest, CodesAreSendableAndLabelsDistinct) {
  std::set<std::string> labels;
  for (size_t i = 0; i < kCloseReasons; ++i) {
    CloseSpec spec = close_spec(static_cast<CloseReason>(i));
    EXPECT_TRUE(ws::is_valid_wire_close_code(static_cast<uint16_t>(spec.code))) << i;
    EXPECT_FALSE(spec.label.empty()) << i;
    EXPECT_EQ(close_reason_label(i), spec.label);
    EXPECT_LE(spec.text.size(), 123u) << "a Close reason fits a control frame (RFC 6455 §5.5)";
    labels.insert(std::string(spec.label));
  }
  EXPECT_EQ(labels.size(), kCloseReasons);
}

}  // namespace
}  // namespace herald::broker::core
