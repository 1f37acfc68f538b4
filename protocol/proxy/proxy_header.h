// The PROXY protocol version 2 header (HAProxy's proxy-protocol.txt, section 2.2): the binary
// block a load balancer sends before the client's first byte, carrying the client's address.
// Sans-I/O: bytes in, a result out; no allocation, no state between calls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace herald::protocol::proxy {

inline constexpr size_t kSignatureBytes = 12;
inline constexpr size_t kFixedHeaderBytes = 16;
// Address block and TLVs together. The format allows 65535; real balancers send far less
// (AWS, GCP and HAProxy stay under a few hundred bytes), and a bound keeps memory fixed.
inline constexpr size_t kPayloadBytesMax = 1024;

struct SourceAddress {
  enum class Family : uint8_t { kNone, kIpv4, kIpv6 };
  Family family = Family::kNone;
  std::array<uint8_t, 16> bytes{};  // network order; the first 4 for IPv4
  uint16_t port = 0;
};

struct ProxyHeader {
  enum class Status : uint8_t {
    kNeedMore,  // a prefix of a valid header: read more bytes
    kDone,      // `bytes` of input were the header; the connection's data follows
    kInvalid,   // not a PROXY v2 header (or over kPayloadBytesMax): drop the connection
  };
  Status status = Status::kNeedMore;
  size_t bytes = 0;
  // kDone: LOCAL (the balancer's own health check) or an unspecified or UNIX family leave
  // family kNone, meaning "use the TCP peer's address".
  SourceAddress source;
};

// Parses the start of a connection's input.
[[nodiscard]] ProxyHeader parse_proxy_header(std::span<const uint8_t> input);

}  // namespace herald::protocol::proxy
