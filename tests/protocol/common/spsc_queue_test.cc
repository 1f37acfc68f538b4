// SpscQueue: FIFO order, full and empty edges, wrap-around, move-only items, and a bounded
// two-thread stress run that checks every item arrives once and in order.
#include "protocol/common/spsc_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <thread>

namespace herald::common {
namespace {

TEST(SpscQueueTest, FifoWithFullAndEmptyEdges) {
  SpscQueue<int> queue(4);
  int out = 0;
  EXPECT_FALSE(queue.try_pop(out));
  EXPECT_TRUE(queue.empty_approx());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(queue.try_push(i));
  EXPECT_FALSE(queue.try_push(99));  // full: refused, not dropped or overwritten
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(queue.try_pop(out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(queue.try_pop(out));
}

TEST(SpscQueueTest, WrapsAroundManyTimes) {
  SpscQueue<uint64_t> queue(8);
  uint64_t next_in = 0;
  uint64_t next_out = 0;
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.try_push(next_in++));
    uint64_t out = 0;
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(queue.try_pop(out));
      ASSERT_EQ(out, next_out++);
    }
  }
  EXPECT_EQ(queue.capacity(), 8u);
}

TEST(SpscQueueTest, MovesItemsAndLeavesARefusedOneWithTheCaller) {
  SpscQueue<std::unique_ptr<int>> queue(2);
  EXPECT_EQ(queue.readable(), 0u);
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(queue.try_push(std::make_unique<int>(i)));
  auto refused = std::make_unique<int>(7);
  EXPECT_FALSE(queue.try_push(std::move(refused)));
  ASSERT_NE(refused, nullptr);  // a full queue does not take the item
  EXPECT_EQ(*refused, 7);
  EXPECT_EQ(queue.readable(), 2u);
  std::unique_ptr<int> out;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(queue.try_pop(out));
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(*out, i);
  }
  EXPECT_EQ(queue.readable(), 0u);
  EXPECT_FALSE(queue.try_pop(out));
}

TEST(SpscQueueTest, TwoThreadsDeliverEveryItemOnceInOrder) {
  constexpr uint64_t kItems = 2'000'000;
  SpscQueue<uint64_t> queue(1024);
  std::thread producer([&] {
    for (uint64_t i = 1; i <= kItems;) {
      if (queue.try_push(i)) {
        ++i;
      } else {
        std::this_thread::yield();
      }
    }
  });
  uint64_t expected = 1;
  uint64_t sum = 0;
  while (expected <= kItems) {
    uint64_t out = 0;
    if (!queue.try_pop(out)) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(out, expected);
    sum += out;
    ++expected;
  }
  producer.join();
  EXPECT_EQ(sum, kItems * (kItems + 1) / 2);
  uint64_t extra = 0;
  EXPECT_FALSE(queue.try_pop(extra));
}

}  // namespace
}  // namespace herald::common
