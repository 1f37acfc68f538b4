// The auth command (PROTOCOL.md section 10): {"op":"auth","token":...,"id":...}, and the
// auth error codes' wire names.
#include <gtest/gtest.h>

#include <string>

#include "protocol/pubsub/command.h"

namespace herald::protocol::pubsub {
namespace {

std::span<const uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

class AuthCommandTest : public ::testing::Test {
 protected:
  ParseResult parse(std::string_view text) { return parser_.parse_text(bytes(text)); }
  CommandParser parser_;
};

TEST_F(AuthCommandTest, ParsesTokenAndId) {
  const ParseResult result = parse(R"({"op":"auth","token":"eyJh.eyJz.c2ln","id":"a1"})");
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.op, Op::kAuth);
  EXPECT_EQ(result.command.token, "eyJh.eyJz.c2ln");
  EXPECT_EQ(result.command.id, R"("a1")");
}

TEST_F(AuthCommandTest, IdIsOptional) {
  const ParseResult result = parse(R"({"token":"x.y.z","op":"auth"})");
  ASSERT_TRUE(result.ok) << result.error_text;
  EXPECT_EQ(result.command.token, "x.y.z");
  EXPECT_TRUE(result.command.id.empty());
}

TEST_F(AuthCommandTest, RefusesMissingOrMistypedToken) {
  ParseResult result = parse(R"({"op":"auth","id":3})");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, ErrorCode::kBadRequest);
  EXPECT_EQ(result.error_text, "missing token");
  EXPECT_EQ(result.error_id, "3");
  result = parse(R"({"op":"auth","token":42})");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, ErrorCode::kBadRequest);
  EXPECT_EQ(result.error_text, "token must be a string");
}

TEST_F(AuthCommandTest, RefusesOtherFields) {
  for (const char* text :
       {R"({"op":"auth","token":"t","topic":"a"})", R"({"op":"auth","token":"t","data":1})",
        R"({"op":"auth","token":"t","echo":true})"}) {
    const ParseResult result = parse(text);
    EXPECT_FALSE(result.ok) << text;
    EXPECT_EQ(result.error, ErrorCode::kBadRequest) << text;
  }
}

TEST_F(AuthCommandTest, TokenIsOnlyForAuth) {
  const ParseResult result = parse(R"({"op":"sub","topic":"a","token":"t"})");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, ErrorCode::kBadRequest);
  EXPECT_EQ(result.error_text, "token is only allowed in auth");
}

TEST_F(AuthCommandTest, UnknownOpNamesAuth) {
  const ParseResult result = parse(R"({"op":"login"})");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, ErrorCode::kUnknownOp);
  EXPECT_EQ(result.error_text, "op must be sub, unsub, pub or auth");
}

TEST(AuthErrorCodes, WireNames) {
  EXPECT_EQ(error_code_name(ErrorCode::kUnauthorized), "unauthorized");
  EXPECT_EQ(error_code_name(ErrorCode::kForbidden), "forbidden");
  EXPECT_EQ(error_code_name(ErrorCode::kRateLimited), "rate_limited");
}

}  // namespace
}  // namespace herald::protocol::pubsub
