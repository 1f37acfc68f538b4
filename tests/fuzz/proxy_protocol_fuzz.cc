// Fuzzes the PROXY v2 parser, whole and fed in growing prefixes: a prefix of a header that
// parses never counts as invalid, the header never claims more bytes than it was given, and
// the answer for the whole input does not depend on trailing bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "protocol/proxy/proxy_header.h"

namespace {

void check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using herald::protocol::proxy::parse_proxy_header;
  using herald::protocol::proxy::ProxyHeader;
  const std::span<const uint8_t> input(data, size);
  const ProxyHeader whole = parse_proxy_header(input);
  check(whole.bytes <= size);
  check(whole.bytes <=
        herald::protocol::proxy::kFixedHeaderBytes + herald::protocol::proxy::kPayloadBytesMax);
  if (whole.status != ProxyHeader::Status::kDone) return 0;
  check(whole.bytes >= herald::protocol::proxy::kFixedHeaderBytes);
  // Exactly the header: same answer. Any shorter prefix: need more.
  const ProxyHeader exact = parse_proxy_header(input.first(whole.bytes));
  check(exact.status == ProxyHeader::Status::kDone && exact.bytes == whole.bytes);
  check(exact.source.family == whole.source.family && exact.source.port == whole.source.port);
  for (size_t i = 0; i < whole.bytes; i += 7) {
    check(parse_proxy_header(input.first(i)).status == ProxyHeader::Status::kNeedMore);
  }
  return 0;
}
