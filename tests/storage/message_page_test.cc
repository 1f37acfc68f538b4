// MessagePage: payloads stay exact through the buffer's growth and through moves.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "storage/log.h"

namespace herald::storage {
namespace {

std::string payload_for(uint64_t i) { return std::string(i % 97, static_cast<char>('a' + i % 26)); }

TEST(MessagePageTest, PayloadsSurviveGrowthAndMoves) {
  MessagePage page;  // no reserve: the buffer moves many times while filling
  for (uint64_t i = 1; i <= 2000; ++i) {
    page.add(i, static_cast<int64_t>(i) * 3, i % 2 == 1, payload_for(i));
  }
  MessagePage moved = std::move(page);
  MessagePage assigned;
  assigned.add(99, 0, false, "replaced");
  assigned = std::move(moved);
  ASSERT_EQ(assigned.size(), 2000u);
  uint64_t i = 0;
  for (const StoredMessage& message : assigned) {
    ++i;
    ASSERT_EQ(message.seq, i);
    ASSERT_EQ(message.time_ms, static_cast<int64_t>(i) * 3);
    ASSERT_EQ(message.binary, i % 2 == 1);
    ASSERT_EQ(message.payload, payload_for(i)) << "message " << i;
  }
  EXPECT_EQ(assigned.front().seq, 1u);
  EXPECT_EQ(assigned.back().seq, 2000u);
}

TEST(MessagePageTest, EmptyPayloadsAndClear) {
  MessagePage page;
  page.reserve(4, 3);
  page.add(1, 0, false, "");
  page.add(2, 0, true, "abc");
  page.add(3, 0, false, "");
  page.add(4, 0, false, "defg");  // past the reserve
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page[0].payload, "");
  EXPECT_EQ(page[1].payload, "abc");
  EXPECT_EQ(page[2].payload, "");
  EXPECT_EQ(page[3].payload, "defg");
  page.clear();
  EXPECT_TRUE(page.empty());
  page.add(5, 0, false, "again");
  EXPECT_EQ(page.front().payload, "again");
}

}  // namespace
}  // namespace herald::storage
