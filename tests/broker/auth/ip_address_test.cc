// Client addresses: parsing, the /64 limit key, CIDR ranges and X-Forwarded-For walking.
#include "broker/auth/ip_address.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace herald::broker::auth {
namespace {

IpAddress ip(const char* text) {
  IpAddress address;
  EXPECT_TRUE(IpAddress::parse(text, address)) << text;
  return address;
}

TEST(IpAddressTest, ParsesAndPrints) {
  EXPECT_EQ(ip("192.0.2.7").to_string(), "192.0.2.7");
  EXPECT_TRUE(ip("192.0.2.7").is_ipv4());
  EXPECT_EQ(ip("2001:db8::1").to_string(), "2001:db8::1");
  EXPECT_FALSE(ip("2001:db8::1").is_ipv4());
  // An IPv4-mapped IPv6 address is the IPv4 address.
  EXPECT_EQ(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
  IpAddress out;
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "example.com", " 1.2.3.4", "1.2.3.4/8", "::g"}) {
    EXPECT_FALSE(IpAddress::parse(bad, out)) << bad;
  }
  EXPECT_FALSE(IpAddress::parse(std::string(100, '1'), out));
}

TEST(IpAddressTest, LimitKeyIsTheAddressOrTheSlash64) {
  EXPECT_EQ(ip("192.0.2.7").limit_key(), ip("192.0.2.7"));
  EXPECT_NE(ip("192.0.2.7").limit_key(), ip("192.0.2.8").limit_key());
  EXPECT_EQ(ip("2001:db8:1:2::1").limit_key(), ip("2001:db8:1:2:ffff::9").limit_key());
  EXPECT_NE(ip("2001:db8:1:2::1").limit_key(), ip("2001:db8:1:3::1").limit_key());
}

TEST(IpAddressTest, Ranges) {
  auto parsed = parse_ranges("10.0.0.0/8, 192.168.1.7,2001:db8::/32,172.16.0.0/12");
  ASSERT_TRUE(parsed.status.is_ok()) << parsed.status.message();
  std::vector<IpRange> ranges = std::move(parsed.value);
  EXPECT_TRUE(in_ranges(ranges, ip("10.255.0.1")));
  EXPECT_FALSE(in_ranges(ranges, ip("11.0.0.1")));
  EXPECT_TRUE(in_ranges(ranges, ip("192.168.1.7")));
  EXPECT_FALSE(in_ranges(ranges, ip("192.168.1.8")));
  EXPECT_TRUE(in_ranges(ranges, ip("2001:db8:ffff::1")));
  EXPECT_FALSE(in_ranges(ranges, ip("2001:db9::1")));
  EXPECT_TRUE(in_ranges(ranges, ip("172.31.255.255")));
  EXPECT_FALSE(in_ranges(ranges, ip("172.32.0.0")));
  // An IPv4 range never matches an IPv6 address that merely shares bytes.
  EXPECT_FALSE(in_ranges(ranges, ip("::10.0.0.1")));
  parsed = parse_ranges("0.0.0.0/0");
  ASSERT_TRUE(parsed.status.is_ok());
  ranges = std::move(parsed.value);
  EXPECT_TRUE(in_ranges(ranges, ip("8.8.8.8")));
  EXPECT_FALSE(in_ranges(ranges, ip("2001:db8::1")));
  parsed = parse_ranges("");
  ASSERT_TRUE(parsed.status.is_ok());
  EXPECT_TRUE(parsed.value.empty());
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "host.example"}) {
    parsed = parse_ranges(bad);
    EXPECT_EQ(parsed.status.code(), common::Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status.message().find(bad), std::string::npos) << parsed.status.message();
  }
}

TEST(IpAddressTest, ForwardedForWalksPastTrustedHops) {
  auto parsed = parse_ranges("10.0.0.0/8");
  ASSERT_TRUE(parsed.status.is_ok());
  const std::vector<IpRange> trusted = std::move(parsed.value);
  const IpAddress proxy = ip("10.0.0.1");
  EXPECT_EQ(forwarded_client("203.0.113.5", proxy, trusted), ip("203.0.113.5"));
  EXPECT_EQ(forwarded_client("198.51.100.1, 203.0.113.5", proxy, trusted), ip("203.0.113.5"));
  EXPECT_EQ(forwarded_client("198.51.100.1, 203.0.113.5, 10.1.1.1", proxy, trusted),
            ip("203.0.113.5"));
  EXPECT_EQ(forwarded_client("198.51.100.1,10.1.1.1 ,10.2.2.2", proxy, trusted),
            ip("198.51.100.1"));
  // Every entry trusted: the leftmost is the client.
  EXPECT_EQ(forwarded_client("10.9.9.9, 10.1.1.1", proxy, trusted), ip("10.9.9.9"));
  // Garbage stops the walk at the hop that wrote it.
  EXPECT_EQ(forwarded_client("203.0.113.5, unknown", proxy, trusted), proxy);
  EXPECT_EQ(forwarded_client("203.0.113.5, garbage, 10.1.1.1", proxy, trusted), ip("10.1.1.1"));
  EXPECT_EQ(forwarded_client("", proxy, trusted), proxy);
  // From an untrusted peer nothing is believed.
  EXPECT_EQ(forwarded_client("203.0.113.5", ip("198.51.100.9"), trusted), ip("198.51.100.9"));
}

}  // namespace
}  // namespace herald::broker::auth
