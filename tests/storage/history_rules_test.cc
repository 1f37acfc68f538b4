#include "storage/history_rules.h"

#include <gtest/gtest.h>

namespace herald::storage {
namespace {

HistoryRule parse_ok(std::string_view text) {
  Result<HistoryRule> rule = parse_history_rule(text);
  EXPECT_TRUE(rule.status.is_ok()) << text << ": " << rule.status.message();
  return rule.value;
}

std::string parse_error(std::string_view text) {
  Result<HistoryRule> rule = parse_history_rule(text);
  EXPECT_EQ(rule.status.code(), Status::Code::kInvalidArgument) << text;
  EXPECT_FALSE(rule.status.message().empty()) << text;
  return rule.status.message();
}

TEST(HistoryRules, ParsesTheIssueExamples) {
  HistoryRule prices = parse_ok("prices.>=rocksdb,count=1000000,age=7d,bytes=1GiB,durability=sync");
  EXPECT_EQ(prices.pattern, "prices.>");
  EXPECT_EQ(prices.backend, Backend::kRocksDb);
  EXPECT_EQ(prices.retention.count_max, 1'000'000u);
  EXPECT_EQ(prices.retention.age_ms_max, 7u * 24 * 3600 * 1000);
  EXPECT_EQ(prices.retention.bytes_max, uint64_t{1} << 30);
  EXPECT_EQ(prices.durability, Durability::kSync);

  HistoryRule game = parse_ok("game.>=memory,count=100");
  EXPECT_EQ(game.backend, Backend::kMemory);
  EXPECT_EQ(game.retention.count_max, 100u);
  EXPECT_EQ(game.retention.age_ms_max, 0u);
  EXPECT_EQ(game.durability, Durability::kAsync);
}

TEST(HistoryRules, Units) {
  EXPECT_EQ(parse_ok("a=rocksdb,age=250ms").retention.age_ms_max, 250u);
  EXPECT_EQ(parse_ok("a=rocksdb,age=3s").retention.age_ms_max, 3000u);
  EXPECT_EQ(parse_ok("a=rocksdb,age=2m").retention.age_ms_max, 120'000u);
  EXPECT_EQ(parse_ok("a=rocksdb,age=1h").retention.age_ms_max, 3'600'000u);
  EXPECT_EQ(parse_ok("a=memory,bytes=512").retention.bytes_max, 512u);
  EXPECT_EQ(parse_ok("a=memory,bytes=512B").retention.bytes_max, 512u);
  EXPECT_EQ(parse_ok("a=memory,bytes=4KiB").retention.bytes_max, 4096u);
  EXPECT_EQ(parse_ok("a=memory,bytes=3MiB").retention.bytes_max, 3u << 20);
  EXPECT_EQ(parse_ok("a=rocksdb,bytes=2TiB").retention.bytes_max, uint64_t{2} << 40);
  EXPECT_EQ(parse_ok("a.*.c=rocksdb,count=1,durability=async").durability, Durability::kAsync);
  EXPECT_EQ(parse_ok("x.>=none").backend, Backend::kNone);
}

TEST(HistoryRules, RejectsBadRules) {
  parse_error("");
  parse_error("prices.>");
  parse_error("=memory,count=1");
  parse_error("a..b=memory,count=1");
  parse_error("a.>.b=memory,count=1");
  parse_error("a=disk,count=1");
  parse_error("a=memory");         // unbounded memory
  parse_error("a=memory,age=1d");  // still unbounded in memory
  parse_error("a=rocksdb");        // no bound at all
  parse_error("a=memory,count=0");
  parse_error("a=memory,count=-1");
  parse_error("a=memory,count=1x");
  parse_error("a=memory,count=");
  parse_error("a=memory,count=1,");
  parse_error("a=memory,count");
  parse_error("a=rocksdb,age=7");  // an age needs a unit
  parse_error("a=rocksdb,age=7w");
  parse_error("a=rocksdb,bytes=1GB");  // binary units only, spelled out
  parse_error("a=rocksdb,count=18446744073709551616");
  parse_error("a=rocksdb,bytes=17179869184GiB");  // overflows 64 bits
  parse_error("a=rocksdb,count=1,durability=maybe");
  parse_error("a=memory,count=1,durability=sync");  // memory has no disk to sync
  parse_error("a=none,count=1");
  parse_error("a=memory,count=1,colour=red");
  EXPECT_NE(parse_error("a=memory,colour=red").find("colour"), std::string::npos);
}

TEST(HistoryRules, FirstMatchWinsAndNoneExcludes) {
  auto parsed = HistoryRules::parse({"prices.tmp.>=none", "prices.>=rocksdb,count=10",
                                     "game.>=memory,count=100", ">=memory,count=1"});
  ASSERT_TRUE(parsed.status.is_ok()) << parsed.status.message();
  const HistoryRules* rules = &parsed.value;
  EXPECT_EQ(rules->match("prices.tmp.x"), nullptr);
  ASSERT_NE(rules->match("prices.AAPL"), nullptr);
  EXPECT_EQ(rules->match("prices.AAPL")->backend, Backend::kRocksDb);
  EXPECT_EQ(rules->match("game.1.moves")->retention.count_max, 100u);
  EXPECT_EQ(rules->match("chat")->retention.count_max, 1u);
  EXPECT_TRUE(rules->uses(Backend::kRocksDb));
  EXPECT_TRUE(rules->uses(Backend::kMemory));
}

TEST(HistoryRules, UnmatchedTopicsKeepNothing) {
  auto parsed = HistoryRules::parse({"game.>=memory,count=100"});
  ASSERT_TRUE(parsed.status.is_ok()) << parsed.status.message();
  const HistoryRules* rules = &parsed.value;
  EXPECT_EQ(rules->match("game"), nullptr);  // '>' needs at least one more token
  EXPECT_EQ(rules->match("prices.AAPL"), nullptr);
  EXPECT_FALSE(rules->uses(Backend::kRocksDb));
}

TEST(HistoryRules, ErrorQuotesTheFlag) {
  auto rules = HistoryRules::parse({"a=memory,count=1", "b=floppy"});
  EXPECT_EQ(rules.status.code(), Status::Code::kInvalidArgument);
  const std::string& error = rules.status.message();
  EXPECT_NE(error.find("--history 'b=floppy'"), std::string::npos) << error;
  EXPECT_NE(error.find("floppy"), std::string::npos);
}

}  // namespace
}  // namespace herald::storage
