// PROXY v2 parsing. Every field is checked as it becomes available, so a client that is not a
// balancer (an HTTP request, say) is refused by its first byte, not after 16.
#include "protocol/proxy/proxy_header.h"

#include <cstring>

namespace herald::protocol::proxy {

namespace {

constexpr uint8_t kSignature[kSignatureBytes] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr uint8_t kVersion2 = 0x20;
constexpr uint8_t kCommandLocal = 0x00;
constexpr uint8_t kCommandProxy = 0x01;
constexpr uint8_t kFamilyUnspec = 0x00;
constexpr uint8_t kFamilyInet = 0x10;
constexpr uint8_t kFamilyInet6 = 0x20;
constexpr uint8_t kFamilyUnix = 0x30;
constexpr uint8_t kTransportUnspec = 0x00;
constexpr uint8_t kTransportStream = 0x01;
constexpr size_t kInetBytes = 12;
constexpr size_t kInet6Bytes = 36;
constexpr size_t kUnixBytes = 216;

ProxyHeader invalid() {
  ProxyHeader header;
  header.status = ProxyHeader::Status::kInvalid;
  return header;
}

}  // namespace

ProxyHeader parse_proxy_header(std::span<const uint8_t> input) {
  if (input.empty()) return {};  // (memcmp must not see a null pointer, even for 0 bytes)
  const size_t signature_seen = input.size() < kSignatureBytes ? input.size() : kSignatureBytes;
  if (std::memcmp(input.data(), kSignature, signature_seen) != 0) return invalid();
  if (input.size() <= kSignatureBytes) return {};
  const uint8_t version_command = input[12];
  if ((version_command & 0xF0) != kVersion2) return invalid();
  const uint8_t command = version_command & 0x0F;
  if (command != kCommandLocal && command != kCommandProxy) return invalid();
  if (input.size() < 14) return {};
  const uint8_t family = input[13] & 0xF0;
  const uint8_t transport = input[13] & 0x0F;
  if (family > kFamilyUnix || transport > 0x02) return invalid();
  if (input.size() < kFixedHeaderBytes) return {};
  const size_t payload_bytes = (size_t{input[14]} << 8) | input[15];
  if (payload_bytes > kPayloadBytesMax) return invalid();
  // The address block must fit in the announced length (TLVs may follow it).
  const size_t address_bytes = family == kFamilyInet    ? kInetBytes
                               : family == kFamilyInet6 ? kInet6Bytes
                               : family == kFamilyUnix  ? kUnixBytes
                                                        : 0;
  if (payload_bytes < address_bytes) return invalid();
  if (input.size() < kFixedHeaderBytes + payload_bytes) return {};

  ProxyHeader header;
  header.status = ProxyHeader::Status::kDone;
  header.bytes = kFixedHeaderBytes + payload_bytes;
  // LOCAL, UNSPEC, UNIX and datagram connections carry no TCP client address for us.
  if (command == kCommandLocal || family == kFamilyUnspec || family == kFamilyUnix ||
      (transport != kTransportStream && transport != kTransportUnspec)) {
    return header;
  }
  const uint8_t* address = input.data() + kFixedHeaderBytes;
  const size_t ip_bytes = family == kFamilyInet ? 4 : 16;
  header.source.family =
      family == kFamilyInet ? SourceAddress::Family::kIpv4 : SourceAddress::Family::kIpv6;
  std::memcpy(header.source.bytes.data(), address, ip_bytes);
  const uint8_t* port = address + 2 * ip_bytes;  // source port follows both addresses
  header.source.port = static_cast<uint16_t>((port[0] << 8) | port[1]);
  return header;
}

}  // namespace herald::protocol::proxy
