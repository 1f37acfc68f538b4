// PROXY v2 headers as byte literals: IPv4, IPv6, LOCAL, TLVs, every prefix needing more,
// and each way a header is refused.
#include "protocol/proxy/proxy_header.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::protocol::proxy {
namespace {

const std::string kSignature("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12);

std::span<const uint8_t> bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// PROXY TCP4 192.0.2.7:51000 -> 198.51.100.1:443, then "GET".
std::string ipv4_header() {
  return kSignature + std::string("\x21\x11\x00\x0C", 4) +
         std::string("\xC0\x00\x02\x07\xC6\x33\x64\x01\xC7\x38\x01\xBB", 12);
}

TEST(ProxyHeaderTest, Ipv4) {
  const std::string input = ipv4_header() + "GET";
  const ProxyHeader header = parse_proxy_header(bytes(input));
  ASSERT_EQ(header.status, ProxyHeader::Status::kDone);
  EXPECT_EQ(header.bytes, 28u);
  EXPECT_EQ(header.source.family, SourceAddress::Family::kIpv4);
  EXPECT_EQ(header.source.bytes[0], 192);
  EXPECT_EQ(header.source.bytes[3], 7);
  EXPECT_EQ(header.source.port, 51000);
}

TEST(ProxyHeaderTest, Ipv6WithTlvs) {
  std::string address(36, '\0');
  address[0] = '\x20';
  address[1] = '\x01';
  address[15] = '\x09';
  address[32] = '\x00';
  address[33] = '\x50';
  const std::string tlv("\x04\x00\x03xyz", 6);  // PP2_TYPE_NOOP with 3 bytes
  const std::string input = kSignature + std::string("\x21\x21\x00\x2A", 4) + address + tlv;
  const ProxyHeader header = parse_proxy_header(bytes(input));
  ASSERT_EQ(header.status, ProxyHeader::Status::kDone);
  EXPECT_EQ(header.bytes, input.size());
  EXPECT_EQ(header.source.family, SourceAddress::Family::kIpv6);
  EXPECT_EQ(header.source.bytes[0], 0x20);
  EXPECT_EQ(header.source.bytes[15], 0x09);
  EXPECT_EQ(header.source.port, 80);
}

TEST(ProxyHeaderTest, LocalAndUnspecifiedKeepThePeerAddress) {
  const std::string local = kSignature + std::string("\x20\x00\x00\x00", 4);
  ProxyHeader header = parse_proxy_header(bytes(local));
  ASSERT_EQ(header.status, ProxyHeader::Status::kDone);
  EXPECT_EQ(header.bytes, 16u);
  EXPECT_EQ(header.source.family, SourceAddress::Family::kNone);
  // LOCAL with an address block: skipped, still no address.
  const std::string local_inet =
      kSignature + std::string("\x20\x11\x00\x0C", 4) + std::string(12, '\x01');
  header = parse_proxy_header(bytes(local_inet));
  ASSERT_EQ(header.status, ProxyHeader::Status::kDone);
  EXPECT_EQ(header.source.family, SourceAddress::Family::kNone);
}

TEST(ProxyHeaderTest, EveryPrefixNeedsMore) {
  const std::string input = ipv4_header();
  for (size_t i = 0; i < input.size(); ++i) {
    EXPECT_EQ(parse_proxy_header(bytes(input.substr(0, i))).status, ProxyHeader::Status::kNeedMore)
        << i;
  }
}

TEST(ProxyHeaderTest, Refusals) {
  const std::string cases[] = {
      "GET / HTTP/1.1\r\n",                             // not a balancer
      "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",             // version 1 text
      kSignature + std::string("\x11\x11\x00\x0C", 4),  // version 1 in binary
      kSignature + std::string("\x22\x11\x00\x0C", 4),  // command 2
      kSignature + std::string("\x21\x41\x00\x0C", 4),  // family 4
      kSignature + std::string("\x21\x13\x00\x0C", 4),  // transport 3
      kSignature + std::string("\x21\x11\x00\x0B", 4),  // IPv4 block too short
      kSignature + std::string("\x21\x21\x00\x0C", 4),  // IPv6 block too short
      kSignature + std::string("\x21\x11\x04\x01", 4),  // over kPayloadBytesMax
  };
  for (const std::string& input : cases) {
    EXPECT_EQ(parse_proxy_header(bytes(input)).status, ProxyHeader::Status::kInvalid) << input;
  }
  EXPECT_EQ(parse_proxy_header({}).status, ProxyHeader::Status::kNeedMore);
}

}  // namespace
}  // namespace herald::protocol::proxy
