// Per-address limits: open connections, new connections per second, release, the table
// bound and forgetting idle addresses.
#include "broker/auth/ip_limiter.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace herald::broker::auth {
namespace {

using Verdict = IpLimiter::Verdict;

IpAddress ip(const char* text) {
  IpAddress address;
  EXPECT_TRUE(IpAddress::parse(text, address)) << text;
  return address;
}

TEST(IpLimiterTest, OpenConnectionsPerAddress) {
  IpLimiter limiter(2, 0, 100);
  const IpAddress a = ip("192.0.2.1");
  EXPECT_EQ(limiter.admit(a, 0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(a, 0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(a, 0), Verdict::kTooMany);
  EXPECT_EQ(limiter.admit(ip("192.0.2.2"), 0), Verdict::kAdmitted);
  limiter.release(a, 1);
  EXPECT_EQ(limiter.admit(a, 1), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(a, 1), Verdict::kTooMany);
}

TEST(IpLimiterTest, Ipv6CountsPerSlash64) {
  IpLimiter limiter(1, 0, 100);
  EXPECT_EQ(limiter.admit(ip("2001:db8::1"), 0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(ip("2001:db8::2"), 0), Verdict::kTooMany);
  EXPECT_EQ(limiter.admit(ip("2001:db8:0:1::1"), 0), Verdict::kAdmitted);
}

TEST(IpLimiterTest, NewConnectionsPerSecond) {
  IpLimiter limiter(0, 3, 100);
  const IpAddress a = ip("192.0.2.1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.admit(a, 1000), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(a, 1000), Verdict::kTooFast);
  EXPECT_EQ(limiter.admit(a, 1333), Verdict::kTooFast);
  EXPECT_EQ(limiter.admit(a, 1334), Verdict::kAdmitted);  // one token per 333.3 ms
  EXPECT_EQ(limiter.admit(ip("192.0.2.2"), 1334), Verdict::kAdmitted);
}

TEST(IpLimiterTest, BoundedTableForgetsIdleAddresses) {
  IpLimiter limiter(0, 10, 2);
  EXPECT_EQ(limiter.admit(ip("192.0.2.1"), 0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(ip("192.0.2.2"), 0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(ip("192.0.2.3"), 0), Verdict::kTableFull);
  EXPECT_EQ(limiter.tracked(), 2u);
  limiter.release(ip("192.0.2.1"), 0);
  // A second later the idle address is forgotten; the open one stays.
  EXPECT_EQ(limiter.admit(ip("192.0.2.3"), 1000), Verdict::kAdmitted);
  EXPECT_EQ(limiter.tracked(), 2u);
  EXPECT_EQ(limiter.admit(ip("192.0.2.4"), 1000), Verdict::kTableFull);
}

TEST(IpLimiterTest, OffWhenBothLimitsAreZero) {
  IpLimiter limiter(0, 0, 1);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.admit(ip("192.0.2.1"), 0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(IpLimiterTest, ReleaseOfAnUnknownAddressIsHarmless) {
  IpLimiter limiter(1, 0, 10);
  limiter.release(ip("192.0.2.1"), 0);
  EXPECT_EQ(limiter.admit(ip("192.0.2.1"), 0), Verdict::kAdmitted);
}

// Workers admit and release concurrently: each thread holds at most one connection, so with
// a limit of 4 and 4 threads every admit succeeds, and the count comes back to zero.
TEST(IpLimiterTest, ConcurrentAdmitAndRelease) {
  IpLimiter limiter(4, 0, 100);
  const IpAddress a = ip("192.0.2.1");
  std::vector<std::thread> threads;
  std::vector<int> refused(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        if (limiter.admit(a, 0) == Verdict::kAdmitted) {
          limiter.release(a, 0);
        } else {
          ++refused[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(refused, std::vector<int>(4, 0));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(limiter.admit(a, 0), Verdict::kAdmitted);
  EXPECT_EQ(limiter.admit(a, 0), Verdict::kTooMany);
}

}  // namespace
}  // namespace herald::broker::auth
