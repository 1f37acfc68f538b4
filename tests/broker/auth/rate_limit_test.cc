// The publish token bucket: burst, refill by elapsed time, cap, and the unlimited setting.
#include "broker/auth/rate_limit.h"

#include <gtest/gtest.h>

namespace herald::broker::auth {
namespace {

TEST(TokenBucketTest, BurstThenRefill) {
  TokenBucket bucket(10, 3, 1000);  // 10/s, 3 at once
  EXPECT_TRUE(bucket.take(1000));
  EXPECT_TRUE(bucket.take(1000));
  EXPECT_TRUE(bucket.take(1000));
  EXPECT_FALSE(bucket.take(1000));
  EXPECT_FALSE(bucket.take(1099));  // 0.99 of a token
  EXPECT_TRUE(bucket.take(1100));   // one token per 100 ms
  EXPECT_FALSE(bucket.take(1100));
  // A long pause refills to the burst, not beyond.
  int taken = 0;
  for (int i = 0; i < 10; ++i) taken += bucket.take(100000) ? 1 : 0;
  EXPECT_EQ(taken, 3);
}

TEST(TokenBucketTest, ClockGoingBackDoesNotRefill) {
  TokenBucket bucket(1, 1, 5000);
  EXPECT_TRUE(bucket.take(5000));
  EXPECT_FALSE(bucket.take(4000));
  EXPECT_FALSE(bucket.take(5999));
  EXPECT_TRUE(bucket.take(6000));
}

TEST(TokenBucketTest, ZeroRateIsUnlimited) {
  TokenBucket bucket;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(bucket.take(0));
  TokenBucket configured(0, 0, 0);
  EXPECT_TRUE(configured.take(0));
}

TEST(TokenBucketTest, HugeElapsedTimeDoesNotWrap) {
  TokenBucket bucket(uint64_t{1} << 32, 2, 0);
  EXPECT_TRUE(bucket.take(0));
  EXPECT_TRUE(bucket.take(0));
  EXPECT_FALSE(bucket.take(0));
  EXPECT_TRUE(bucket.take(UINT64_MAX));
}

}  // namespace
}  // namespace herald::broker::auth
