// The receive buffer budget as numbers: it grows on a busy or starved tick, shrinks only after
// a quiet second, never leaves [floor, count], and does not grow back at once after shrinking.
#include "broker/io/buffer_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <random>

#include "tests/test_seed.h"

namespace herald::broker::io {
namespace {

TEST(BufferBudgetTest, StartsAtAnEighthWithAFloorOfSixteen) {
  EXPECT_EQ(BufferBudget(512).target(), 64u);
  EXPECT_EQ(BufferBudget(64).target(), 16u);
  EXPECT_EQ(BufferBudget(8).target(), 8u);  // fewer than 16: all of them
  EXPECT_EQ(BufferBudget(32768).floor(), 4096u);
}

TEST(BufferBudgetTest, AQuietTickChangesNothing) {
  BufferBudget budget(512);
  budget.on_tick(32, false);  // exactly half
  budget.on_tick(0, false);
  EXPECT_EQ(budget.target(), 64u);
}

TEST(BufferBudgetTest, GrowsWhenATickTakesMoreThanHalf) {
  BufferBudget budget(512);
  budget.on_tick(33, false);
  EXPECT_EQ(budget.target(), 128u);
  budget.on_tick(200, false);  // twice what was taken, rounded up to a power of two
  EXPECT_EQ(budget.target(), 512u);
  budget.on_tick(512, true);
  EXPECT_EQ(budget.target(), 512u);  // never above the count
}

TEST(BufferBudgetTest, GrowsWhenAReceiveStarved) {
  BufferBudget budget(512);
  budget.on_tick(1, true);
  EXPECT_EQ(budget.target(), 128u);
}

TEST(BufferBudgetTest, ShrinksOnlyAfterAQuietSecond) {
  BufferBudget budget(512);
  budget.on_tick(300, false);
  ASSERT_EQ(budget.target(), 512u);
  EXPECT_FALSE(budget.on_trim(10'000));  // the first call only starts the clock
  budget.on_tick(200, false);            // 200 * 4 >= 512: not quiet
  EXPECT_FALSE(budget.on_trim(11'000));
  EXPECT_EQ(budget.target(), 512u);
  budget.on_tick(20, false);
  EXPECT_FALSE(budget.on_trim(11'500));  // not a second yet
  EXPECT_TRUE(budget.on_trim(12'000));
  EXPECT_EQ(budget.target(), 128u);  // four times the busiest tick, rounded up: 80 -> 128
  EXPECT_TRUE(budget.on_trim(13'000));
  EXPECT_EQ(budget.target(), 64u);  // an idle second: the floor
  EXPECT_FALSE(budget.on_trim(14'000));
  EXPECT_EQ(budget.target(), 64u);
}

TEST(BufferBudgetTest, AStarvedSecondDoesNotShrink) {
  BufferBudget budget(512);
  budget.on_tick(300, false);
  ASSERT_TRUE(budget.on_trim(0) == false);
  budget.on_tick(0, true);
  EXPECT_FALSE(budget.on_trim(1'000));
  EXPECT_EQ(budget.target(), 512u);
}

TEST(BufferBudgetTest, RandomLoadStaysInBoundsAndDoesNotFlap) {
  const uint64_t seed = test_support::test_seed();
  std::mt19937_64 random(seed);
  BufferBudget budget(1024);
  uint64_t now_ms = 0;
  uint64_t decided_ms = 0;
  uint32_t peak = 0;  // the busiest tick since the budget's last decision
  for (int step = 0; step < 100'000; ++step) {
    const uint32_t before = budget.target();
    const uint32_t taken =
        static_cast<uint32_t>(random() % 4 == 0 ? random() % 1100 : random() % 40);
    const bool starved = random() % 50 == 0;
    budget.on_tick(taken, starved);
    peak = std::max(peak, taken);
    ASSERT_GE(budget.target(), before) << "seed " << seed;
    if ((starved || taken * 2 > before) && before < 1024) {
      ASSERT_GT(budget.target(), before) << "seed " << seed;
    }
    now_ms += random() % 400;
    const uint32_t untrimmed = budget.target();
    const bool shrank = budget.on_trim(now_ms);
    if (step == 0 || now_ms - decided_ms >= BufferBudget::kShrinkIntervalMs) {
      if (shrank) {
        // Its busiest tick would not grow the shrunk budget again.
        ASSERT_LE(uint64_t{peak} * 2, budget.target()) << "seed " << seed;
        ASSERT_LT(budget.target(), untrimmed) << "seed " << seed;
      }
      decided_ms = now_ms;
      peak = 0;
    } else {
      ASSERT_FALSE(shrank) << "seed " << seed;
    }
    const uint32_t target = budget.target();
    ASSERT_TRUE(std::has_single_bit(target)) << "seed " << seed;
    ASSERT_GE(target, budget.floor()) << "seed " << seed;
    ASSERT_LE(target, 1024u) << "seed " << seed;
  }
}

}  // namespace
}  // namespace herald::broker::io
