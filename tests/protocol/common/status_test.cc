// Status and Result: ok by default, each code kept with its message, and a Result that moves
// its value out. The start-up paths print message() as it is, so it must survive untouched.
#include "protocol/common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace herald::common {
namespace {

TEST(StatusTest, DefaultAndOkAreOkWithNoMessage) {
  const Status by_default;
  EXPECT_TRUE(by_default.is_ok());
  EXPECT_EQ(by_default.code(), Status::Code::kOk);
  EXPECT_TRUE(by_default.message().empty());
  EXPECT_TRUE(Status::ok().is_ok());
}

TEST(StatusTest, EachFailureKeepsItsCodeAndExactMessage) {
  const Status invalid = Status::invalid_argument("--port: not a number: \"x\"");
  EXPECT_FALSE(invalid.is_ok());
  EXPECT_EQ(invalid.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(invalid.message(), "--port: not a number: \"x\"");

  const Status io = Status::io_error("bind 127.0.0.1:80: Permission denied");
  EXPECT_EQ(io.code(), Status::Code::kIoError);
  EXPECT_EQ(io.message(), "bind 127.0.0.1:80: Permission denied");

  const Status corrupt = Status::corruption("record too short");
  EXPECT_EQ(corrupt.code(), Status::Code::kCorruption);
  EXPECT_EQ(corrupt.message(), "record too short");
}

TEST(StatusTest, CopiesAndMovesKeepCodeAndMessage) {
  Status original = Status::io_error("disk full");
  const Status copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
  const Status moved = std::move(original);
  EXPECT_EQ(copy.code(), Status::Code::kIoError);
  EXPECT_EQ(moved.code(), Status::Code::kIoError);
  EXPECT_EQ(moved.message(), "disk full");
}

Result<std::unique_ptr<int>> make(bool fail) {
  if (fail) return {Status::invalid_argument("no"), nullptr};
  return {Status::ok(), std::make_unique<int>(7)};
}

TEST(ResultTest, HoldsAMoveOnlyValueOrTheReason) {
  Result<std::unique_ptr<int>> good = make(false);
  ASSERT_TRUE(good.status.is_ok());
  const std::unique_ptr<int> value = std::move(good.value);
  EXPECT_EQ(*value, 7);

  const Result<std::unique_ptr<int>> bad = make(true);
  EXPECT_EQ(bad.status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(bad.status.message(), "no");
  EXPECT_EQ(bad.value, nullptr);
}

TEST(ResultTest, DefaultIsOkWithAValueInitializedValue) {
  const Result<int> result;
  EXPECT_TRUE(result.status.is_ok());
  EXPECT_EQ(result.value, 0);
}

}  // namespace
}  // namespace herald::common
