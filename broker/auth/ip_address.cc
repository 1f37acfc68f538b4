// Address parsing and CIDR matching over the 16-byte form.
#include "broker/auth/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <utility>

namespace herald::broker::auth {

namespace {

constexpr size_t kTextBytesMax = 64;  // longer than any textual IPv6 address

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

IpAddress IpAddress::from_ipv4(std::span<const uint8_t, 4> ipv4) {
  IpAddress address;
  address.bytes[10] = 0xff;
  address.bytes[11] = 0xff;
  std::memcpy(address.bytes.data() + 12, ipv4.data(), 4);
  return address;
}

IpAddress IpAddress::from_ipv6(std::span<const uint8_t, 16> ipv6) {
  IpAddress address;
  std::memcpy(address.bytes.data(), ipv6.data(), 16);
  return address;
}

bool IpAddress::parse(std::string_view text, IpAddress& out) {
  if (text.empty() || text.size() >= kTextBytesMax) return false;
  char buffer[kTextBytesMax];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  uint8_t raw[16];
  if (inet_pton(AF_INET, buffer, raw) == 1) {
    out = from_ipv4(std::span<const uint8_t, 4>(raw, 4));
    return true;
  }
  if (inet_pton(AF_INET6, buffer, raw) == 1) {
    out = from_ipv6(std::span<const uint8_t, 16>(raw, 16));
    return true;
  }
  return false;
}

bool IpAddress::is_ipv4() const {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes.data(), kMapped, sizeof(kMapped)) == 0;
}

IpAddress IpAddress::limit_key() const {
  if (is_ipv4()) return *this;
  IpAddress key = *this;
  std::memset(key.bytes.data() + 8, 0, 8);
  return key;
}

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_ipv4()) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
  }
  return text;
}

bool IpRange::contains(const IpAddress& address) const {
  const unsigned whole = prefix_bits / 8;
  if (std::memcmp(base.bytes.data(), address.bytes.data(), whole) != 0) return false;
  const unsigned rest = prefix_bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (base.bytes[whole] & mask) == (address.bytes[whole] & mask);
}

common::Result<std::vector<IpRange>> parse_ranges(std::string_view list) {
  std::vector<IpRange> out;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    const size_t slash = item.find('/');
    IpRange range;
    bool ok = IpAddress::parse(item.substr(0, slash), range.base);
    const unsigned family_bits = range.base.is_ipv4() ? 32 : 128;
    unsigned bits = family_bits;
    if (ok && slash != std::string_view::npos) {
      const std::string_view digits = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
      ok = ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() &&
           bits <= family_bits;
    }
    if (!ok) {
      return {
          common::Status::invalid_argument(std::string(item) + " is not an address or CIDR range"),
          {}};
    }
    range.prefix_bits = bits + (family_bits == 32 ? 96 : 0);
    out.push_back(range);
  }
  return {common::Status::ok(), std::move(out)};
}

bool in_ranges(std::span<const IpRange> ranges, const IpAddress& address) {
  for (const IpRange& range : ranges) {
    if (range.contains(address)) return true;
  }
  return false;
}

IpAddress forwarded_client(std::string_view x_forwarded_for, const IpAddress& peer,
                           std::span<const IpRange> trusted) {
  IpAddress client = peer;
  std::string_view rest = x_forwarded_for;
  while (!rest.empty() && in_ranges(trusted, client)) {
    const size_t comma = rest.rfind(',');
    const std::string_view item =
        trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    IpAddress next;
    if (!IpAddress::parse(item, next)) break;
    client = next;
  }
  return client;
}

}  // namespace herald::broker::auth
