// The receive buffer budget as numbers: it grows on a busy or starved tick, shrinks only after
// a second without a busy tick, never leaves [floor, count], and does not grow back at once.
#include "broker/io/buffer_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <random>

#include "tests/test_seed.h"

namespace herald::broker::io {
namespace {

constexpr uint64_t kStart = 1'000'000;  // a monotonic clock some time after boot

TEST(BufferBudgetTest, StartsAtAnEighthWithAFloorOfSixteen) {
  EXPECT_EQ(BufferBudget(512).target(), 64u);
  EXPECT_EQ(BufferBudget(64).target(), 16u);
  EXPECT_EQ(BufferBudget(8).target(), 8u);  // fewer than 16: all of them
  EXPECT_EQ(BufferBudget(32768).floor(), 4096u);
}

TEST(BufferBudgetTest, AQuietTickChangesNothing) {
  BufferBudget budget(512);
  budget.on_tick(32, false, kStart);  // exactly half
  budget.on_tick(0, false, kStart);
  EXPECT_EQ(budget.target(), 64u);
}

TEST(BufferBudgetTest, GrowsWhenATickTakesMoreThanHalf) {
  BufferBudget budget(512);
  budget.on_tick(33, false, kStart);
  EXPECT_EQ(budget.target(), 128u);
  budget.on_tick(200, false, kStart);  // twice what was taken, rounded up to a power of two
  EXPECT_EQ(budget.target(), 512u);
  budget.on_tick(512, true, kStart);
  EXPECT_EQ(budget.target(), 512u);  // never above the count
}

TEST(BufferBudgetTest, GrowsWhenAReceiveStarved) {
  BufferBudget budget(512);
  budget.on_tick(1, true, kStart);
  EXPECT_EQ(budget.target(), 128u);
}

TEST(BufferBudgetTest, ShrinksASecondAfterTheLastBusyTick) {
  BufferBudget budget(512);
  budget.on_tick(300, false, kStart);
  ASSERT_EQ(budget.target(), 512u);
  budget.on_tick(200, false, kStart + 500);  // 200 * 4 >= 512: busy
  EXPECT_FALSE(budget.on_trim(kStart + 1'000));
  budget.on_tick(20, false, kStart + 1'200);  // quiet
  EXPECT_FALSE(budget.on_trim(kStart + 1'499));
  budget.on_tick(20, false, kStart + 1'450);
  EXPECT_TRUE(budget.on_trim(kStart + 1'500));
  EXPECT_EQ(budget.target(), 128u);  // four times the busiest quiet tick, rounded up: 80 -> 128
  budget.on_tick(31, false, kStart + 1'600);     // under a quarter of 128: quiet
  EXPECT_FALSE(budget.on_trim(kStart + 2'000));  // not a second since it shrank
  budget.on_tick(31, false, kStart + 2'400);
  EXPECT_FALSE(budget.on_trim(kStart + 2'500));  // 31 * 4 rounds up to 128: no smaller fits
  EXPECT_EQ(budget.target(), 128u);
  budget.on_tick(32, false, kStart + 2'600);  // a quarter: busy, though it does not grow
  EXPECT_EQ(budget.target(), 128u);
  EXPECT_FALSE(budget.on_trim(kStart + 3'500));
  EXPECT_TRUE(budget.on_trim(kStart + 3'600));
  EXPECT_EQ(budget.target(), 64u);  // an idle second: the floor
  EXPECT_FALSE(budget.on_trim(kStart + 9'000));
  EXPECT_EQ(budget.target(), 64u);
}

TEST(BufferBudgetTest, AnIdleSecondAfterAStormGoesStraightToTheFloor) {
  BufferBudget budget(512);
  budget.on_tick(400, false, kStart);
  ASSERT_EQ(budget.target(), 512u);
  EXPECT_TRUE(budget.on_trim(kStart + 1'000));
  EXPECT_EQ(budget.target(), 64u);
}

TEST(BufferBudgetTest, AStarvedTickCountsAsBusy) {
  BufferBudget budget(512);
  budget.on_tick(300, false, kStart);
  budget.on_tick(0, true, kStart + 900);
  EXPECT_FALSE(budget.on_trim(kStart + 1'500));
  EXPECT_EQ(budget.target(), 512u);
  EXPECT_TRUE(budget.on_trim(kStart + 1'900));
}

TEST(BufferBudgetTest, RandomLoadStaysInBoundsAndDoesNotFlap) {
  const uint64_t seed = test_support::test_seed();
  std::mt19937_64 random(seed);
  BufferBudget budget(1024);
  uint64_t now_ms = kStart;
  uint64_t busy_ms = 0;
  uint64_t shrunk_ms = 0;
  uint32_t quiet_peak = 0;  // the model's busiest quiet tick since a busy one or on_trim()
  for (int step = 0; step < 100'000; ++step) {
    const uint32_t before = budget.target();
    const uint32_t taken =
        static_cast<uint32_t>(random() % 8 == 0 ? random() % 1100 : random() % 40);
    const bool starved = random() % 100 == 0;
    now_ms += random() % 300;
    budget.on_tick(taken, starved, now_ms);
    if (starved || taken * 4 >= before) {
      busy_ms = now_ms;
      quiet_peak = 0;
    } else {
      quiet_peak = std::max(quiet_peak, taken);
    }
    ASSERT_GE(budget.target(), before) << "seed " << seed;
    if ((starved || taken * 2 > before) && before < 1024) {
      ASSERT_GT(budget.target(), before) << "seed " << seed;
    }
    now_ms += random() % 300;
    const uint32_t untrimmed = budget.target();
    const uint32_t window_peak = quiet_peak;
    quiet_peak = 0;  // each call looks at the quiet ticks since the previous one
    const bool shrank = budget.on_trim(now_ms);
    const bool may_shrink =
        untrimmed > budget.floor() && now_ms >= busy_ms + 1000 && now_ms >= shrunk_ms + 1000;
    if (shrank) {
      ASSERT_TRUE(may_shrink) << "seed " << seed << " step " << step;
    }
    // Room to halve at least: it must shrink.
    if (may_shrink && uint64_t{window_peak} * 8 <= untrimmed) {
      ASSERT_TRUE(shrank) << "seed " << seed << " step " << step;
    }
    if (shrank) {
      ASSERT_LT(budget.target(), untrimmed) << "seed " << seed;
      // The busiest quiet tick would not grow the shrunk budget again.
      ASSERT_LE(uint64_t{window_peak} * 2, budget.target()) << "seed " << seed;
      shrunk_ms = now_ms;
    }
    const uint32_t target = budget.target();
    ASSERT_TRUE(std::has_single_bit(target)) << "seed " << seed;
    ASSERT_GE(target, budget.floor()) << "seed " << seed;
    ASSERT_LE(target, 1024u) << "seed " << seed;
  }
}

}  // namespace
}  // namespace herald::broker::io
