// Client addresses for per-IP limits: one 16-byte form for IPv4 (as ::ffff:a.b.c.d) and IPv6,
// CIDR ranges for --trusted-proxies, and the client's address taken from X-Forwarded-For.
// Pure functions and values; no I/O, no name resolution.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/status.h"

namespace herald::broker::auth {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 mapped into ::ffff:0:0/96

  [[nodiscard]] static IpAddress from_ipv4(std::span<const uint8_t, 4> ipv4);
  [[nodiscard]] static IpAddress from_ipv6(std::span<const uint8_t, 16> ipv6);
  // Dotted IPv4 or textual IPv6 (inet_pton). False on anything else.
  [[nodiscard]] static bool parse(std::string_view text, IpAddress& out);

  [[nodiscard]] bool is_ipv4() const;
  // What a per-IP limit counts: the whole IPv4 address; the /64 of an IPv6 address, since
  // one host is routinely given a whole /64 and could otherwise rotate through it.
  [[nodiscard]] IpAddress limit_key() const;
  [[nodiscard]] std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

struct IpRange {
  IpAddress base;
  unsigned prefix_bits = 128;  // in the 16-byte form (an IPv4 /8 is 104 here)
  [[nodiscard]] bool contains(const IpAddress& address) const;
};

// "10.0.0.0/8,192.168.1.7,::1/128" (empty: none). Fails with a line naming the bad entry.
[[nodiscard]] common::Result<std::vector<IpRange>> parse_ranges(std::string_view list);
[[nodiscard]] bool in_ranges(std::span<const IpRange> ranges, const IpAddress& address);

// The client behind trusted proxies: walks X-Forwarded-For from the right (the entry the
// nearest proxy added) past every trusted address. `peer` is the TCP peer (itself trusted).
// An entry that is not an address stops the walk: the hop that wrote it is the client.
[[nodiscard]] IpAddress forwarded_client(std::string_view x_forwarded_for, const IpAddress& peer,
                                         std::span<const IpRange> trusted);

}  // namespace herald::broker::auth
