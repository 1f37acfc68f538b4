// The AccessGate's address side (PROTOCOL.md section 7): the TCP peer the worker learned with
// SO_PEERNAME, the client a trusted proxy names (PROXY v2 header first, else X-Forwarded-For at
// the request), and the per-address limits of broker/auth's IpLimiter, answered 429.
#include <netinet/in.h>

#include <string>

#include "broker/net/access_gate.h"
#include "protocol/proxy/proxy_header.h"
#include "protocol/websocket/handshake.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
namespace proxy = protocol::proxy;

namespace {

auth::IpAddress address_of(const sockaddr_in6& storage) {
  if (storage.sin6_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(storage);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&v4.sin_addr);
    return auth::IpAddress::from_ipv4(std::span<const uint8_t, 4>(bytes, 4));
  }
  // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d, which is already the
  // form IpAddress uses for IPv4.
  const auto* bytes = reinterpret_cast<const uint8_t*>(&storage.sin6_addr);
  return auth::IpAddress::from_ipv6(std::span<const uint8_t, 16>(bytes, 16));
}

}  // namespace

Admission AccessGate::on_peer_address(AccessState& access, ws::Session& session, uint64_t now_ms) {
  ClientAddress& address = *access.address;
  address.ip = address_of(address.peer);
  if (auth::in_ranges(config_.access->trusted_proxies(), address.ip) &&
      session.state() == ws::Session::State::kHandshake) {
    address.via_proxy = true;
    access.proxy_header_done = false;
    return {};
  }
  address.settled = true;
  return admit_address(address, session, now_ms);
}

ProxyInput AccessGate::take_proxy_header(AccessState& access, ws::Session& session,
                                         std::span<uint8_t> bytes, uint64_t now_ms) {
  ClientAddress& address = *access.address;
  std::string& prefix = address.proxy_prefix;
  std::span<uint8_t> input = bytes;
  if (!prefix.empty()) {
    prefix.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    input = {reinterpret_cast<uint8_t*>(prefix.data()), prefix.size()};
  }
  const proxy::ProxyHeader header = proxy::parse_proxy_header(input);
  switch (header.status) {
    case proxy::ProxyHeader::Status::kNeedMore:
      if (prefix.empty()) prefix.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return {};
    case proxy::ProxyHeader::Status::kInvalid:
      access.proxy_header_done = true;
      if (input.size() >= proxy::kSignatureBytes &&
          proxy::parse_proxy_header(input.first(proxy::kSignatureBytes)).status ==
              proxy::ProxyHeader::Status::kNeedMore) {
        // The signature was there and the rest is broken: a misconfigured balancer.
        counters_.count_refusal(core::Refusal::kProxyHeader);
        return ProxyInput{{}, Admission{Admission::Kind::kClose, {}}};
      }
      return ProxyInput{input, {}};  // no PROXY header: the proxy speaks HTTP (X-Forwarded-For)
    case proxy::ProxyHeader::Status::kDone:
      break;
  }
  access.proxy_header_done = true;
  const proxy::SourceAddress& source = header.source;
  if (source.family == proxy::SourceAddress::Family::kIpv4) {
    address.ip = auth::IpAddress::from_ipv4(std::span<const uint8_t, 4>(source.bytes.data(), 4));
  } else if (source.family == proxy::SourceAddress::Family::kIpv6) {
    address.ip = auth::IpAddress::from_ipv6(source.bytes);
  }
  // LOCAL (the balancer's health check) names no client: no per-address limit applies.
  if (source.family != proxy::SourceAddress::Family::kNone) {
    address.settled = true;
    Admission admission = admit_address(address, session, now_ms);
    if (!admission.admitted()) return ProxyInput{{}, std::move(admission)};
  }
  return ProxyInput{input.subspan(header.bytes), {}};
}

Admission AccessGate::admit_forwarded(AccessState& access, ws::Session& session, uint64_t now_ms) {
  ClientAddress* address = access.address.get();
  if (address == nullptr || !address->via_proxy || address->settled) return {};
  address->settled = true;
  std::string_view forwarded = session.request().header("x-forwarded-for");
  if (forwarded.empty()) return {};  // the proxy itself (a health check): not limited
  address->ip = auth::forwarded_client(forwarded, address->ip, config_.access->trusted_proxies());
  return admit_address(*address, session, now_ms);
}

Admission AccessGate::admit_address(ClientAddress& address, ws::Session& session, uint64_t now_ms) {
  auth::IpLimiter& limiter = config_.access->ip_limiter();
  const auth::IpLimiter::Verdict verdict = limiter.admit(address.ip, now_ms);
  if (verdict == auth::IpLimiter::Verdict::kAdmitted) {
    address.admitted = limiter.enabled();
    return {};
  }
  const bool too_many = verdict == auth::IpLimiter::Verdict::kTooMany;
  counters_.count_refusal(too_many ? core::Refusal::kConnectionsPerIp
                                   : core::Refusal::kConnectionRate);
  const char* text = too_many ? "too many connections from this address\n"
                              : "too many new connections from this address; retry later\n";
  switch (session.state()) {
    case ws::Session::State::kHandshake:
      // Nothing was read yet (or only part of a request): answer now and stop reading.
      return Admission{Admission::Kind::kRespond, ws::build_http_response(429, "text/plain", text)};
    case ws::Session::State::kDeciding:
      session.respond(429, "text/plain", text);
      return Admission{Admission::Kind::kAnswered, {}};
    default:
      return Admission{Admission::Kind::kClose, {}};
  }
}

void AccessGate::release_address(AccessState& access, uint64_t now_ms) {
  ClientAddress* address = access.address.get();
  if (address == nullptr || !address->admitted) return;
  address->admitted = false;
  config_.access->ip_limiter().release(address->ip, now_ms);
}

}  // namespace herald::broker::net
