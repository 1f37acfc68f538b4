// The logger's pure parts: JSON string escaping (quotes, backslashes, controls, invalid UTF-8),
// both line formats, and the per-reason rate limiter behind refusal lines.
#include "broker/net/log.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::broker::net {
namespace {

std::string json(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(LogTest, JsonStringsAreEscaped) {
  EXPECT_EQ(json("plain"), R"("plain")");
  EXPECT_EQ(json("quote \" backslash \\"), R"("quote \" backslash \\")");
  EXPECT_EQ(json("nl\ncr\rtab\t"), R"("nl\ncr\rtab\t")");
  EXPECT_EQ(json(std::string("nul\0x\x01\x1f\x7f", 8)), R"("nul\u0000x\u0001\u001f\u007f")");
  // Valid UTF-8 passes through; invalid bytes become U+FFFD so the line stays JSON.
  EXPECT_EQ(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(json("a\xff"
                 "b"),
            R"("a\ufffdb")");
  EXPECT_EQ(json("\xc3"), R"("\ufffd")");                                // truncated
  EXPECT_EQ(json("\xc0\xaf"), R"("\ufffd\ufffd")");                      // overlong
  EXPECT_EQ(json("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // a surrogate
  EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
}

TEST(LogTest, JsonLineHasTimeLevelMessageAndFields) {
  // 2026-12-07T13:20:51.123Z
  const int64_t ms = int64_t{1796649651} * 1000 + 123;
  EXPECT_EQ(format_log_line(LogFormat::kJson, LogLevel::kDebug, "connection \"closed\"",
                            {{"reason", "peer"}, {"code", uint64_t{1000}}, {"bytes_in", 17u}}, ms),
            R"({"ts":"2026-12-07T13:20:51.123Z","level":"debug","msg":"connection \"closed\"",)"
            R"("reason":"peer","code":1000,"bytes_in":17})"
            "\n");
}

TEST(LogTest, TextLineKeepsTheHeraldPrefix) {
  EXPECT_EQ(format_log_line(LogFormat::kText, LogLevel::kInfo, "listening", {}, 0),
            "herald: listening\n");
  EXPECT_EQ(format_log_line(LogFormat::kText, LogLevel::kWarn, "careful",
                            {{"why", "two words"}, {"n", 3}}, 0),
            "herald: warning: careful why=\"two words\" n=3\n");
  EXPECT_EQ(format_log_line(LogFormat::kText, LogLevel::kError, "x", {{"cause", "eof"}}, 0),
            "herald: error: x cause=eof\n");
}

TEST(LogTest, LevelsAndFormatsParse) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(parse_log_level("debug", level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_FALSE(parse_log_level("verbose", level));
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(parse_log_format("json", format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_FALSE(parse_log_format("xml", format));
}

TEST(LogRateLimiterTest, AtMostNPerSecondPerReasonThenTheCount) {
  LogRateLimiter limiter(2, 3);
  uint64_t suppressed = 99;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.allow(0, 5000 + i, suppressed) ? 1 : 0;
  EXPECT_EQ(allowed, 3);
  // Another reason has its own budget.
  EXPECT_TRUE(limiter.allow(1, 5500, suppressed));
  EXPECT_EQ(suppressed, 0u);
  // The next second: allowed again, carrying what was held back.
  EXPECT_TRUE(limiter.allow(0, 6000, suppressed));
  EXPECT_EQ(suppressed, 7u);
  EXPECT_TRUE(limiter.allow(0, 6001, suppressed));
  EXPECT_EQ(suppressed, 0u);
  // A flood over many seconds is bounded by the rate, whatever its size.
  allowed = 0;
  uint64_t counted = 0;
  for (uint64_t ms = 10000; ms < 20000; ++ms) {
    if (limiter.allow(0, ms, suppressed)) {
      ++allowed;
      counted += suppressed;
    }
  }
  EXPECT_EQ(allowed, 30);
  // Every refusal is written or counted by a later line, but the last second's (no line came
  // after them).
  EXPECT_EQ(counted + 30 + 997, 10000u);
}

}  // namespace
}  // namespace herald::broker::net
