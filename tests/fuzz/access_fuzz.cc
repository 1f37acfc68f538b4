// Fuzzes the request-facing parsers of broker/auth: the Origin check, X-Forwarded-For
// walking, CIDR lists, and pulling tokens from Authorization and the query string. The input
// is split at 0x00 bytes into the pieces each one reads. Traps when an answer breaks its
// contract (an address that does not survive printing and parsing, a client named without
// a header, a token that is not a substring of its source).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/auth/access_policy.h"
#include "broker/auth/ip_address.h"
#include "broker/auth/origin_policy.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<std::string_view> split(std::string_view input) {
  std::vector<std::string_view> parts;
  while (parts.size() < 3) {
    const size_t zero = input.find('\0');
    parts.push_back(input.substr(0, zero));
    if (zero == std::string_view::npos) break;
    input.remove_prefix(zero + 1);
  }
  while (parts.size() < 3) parts.emplace_back();
  return parts;
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::broker::auth;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> parts = split(input);

  // Origins: a fixed list against the input, and the input as a list.
  static const OriginPolicy fixed = [] {
    OriginPolicy policy;
    check(policy.parse("https://app.example.com,*.example.net,http://[::1]:8080").is_ok());
    return policy;
  }();
  [[maybe_unused]] bool allowed = fixed.allows(parts[0]);
  OriginPolicy parsed;
  if (const herald::common::Status status = parsed.parse(parts[0]); status.is_ok()) {
    [[maybe_unused]] bool any = parsed.allows(parts[1]);
  } else {
    check(!status.message().empty());
  }

  // Trusted ranges from the input, then X-Forwarded-For walked from a trusted peer.
  herald::common::Result<std::vector<IpRange>> parsed_ranges = parse_ranges(parts[1]);
  if (!parsed_ranges.status.is_ok()) {
    check(!parsed_ranges.status.message().empty());
    parsed_ranges = parse_ranges("10.0.0.0/8,::1");
    check(parsed_ranges.status.is_ok());
  }
  const std::vector<IpRange>& ranges = parsed_ranges.value;
  IpAddress peer;
  check(IpAddress::parse("10.0.0.1", peer));
  const IpAddress client = forwarded_client(parts[2], peer, ranges);
  IpAddress round;
  check(IpAddress::parse(client.to_string(), round) && round == client);
  // Only the header can name a client other than the peer.
  check(client == peer || !parts[2].empty());

  check(inside(bearer_token(parts[0]), parts[0]));
  check(inside(query_token(parts[1]), parts[1]));
  return 0;
}
