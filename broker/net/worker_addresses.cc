// Client addresses of a worker's connections: the TCP peer learned with SO_PEERNAME (sockets
// accepted into the direct-descriptor table have no fd for getpeername), the client named by
// a trusted proxy (PROXY v2 header first, else X-Forwarded-For at the request), and the
// per-address limits of broker/auth's IpLimiter, answered 429 (PROTOCOL.md section 7).
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "broker/net/worker.h"
#include "broker/net/worker_ops.h"
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

void Worker::submit_peer_name(Connection& connection) {
  if (peer_address_bytes_ == 0 || peer_name_failed_) return;
  connection.address_ = std::make_unique<ClientAddress>();
  io_->peer_name(connection.file_slot_, &connection.address_->peer, peer_address_bytes_,
                 tag(OpKind::kPeerName, connection));
  ++connection.ops_in_flight_;
}

void Worker::on_peer_name_complete(Connection& connection, const io::Completion& completion) {
  assert(connection.ops_in_flight_ > 0);
  --connection.ops_in_flight_;
  if (connection.phase_ != Connection::Phase::kActive) return;
  if (completion.res < 0) {
    // -ENOTCONN: the client already left. Anything else: this kernel cannot do it (before
    // 6.7); per-address limits and trusted proxies are then off on this worker. The worker
    // prints nothing else: this is a start-up-class problem seen at the first connection.
    if (completion.res != -ENOTCONN && !peer_name_failed_) {
      peer_name_failed_ = true;
      std::fprintf(stderr,
                   "herald: warning: SO_PEERNAME over io_uring failed (%s); per-IP limits and "
                   "--trusted-proxies need Linux 6.7 or later\n",
                   std::strerror(-completion.res));
    }
    return;
  }
  ClientAddress& address = *connection.address_;
  address.ip = address_of(address.peer);
  if (auth::in_ranges(config_.access->trusted_proxies(), address.ip) &&
      connection.session_.state() == ws::Session::State::kHandshake) {
    address.via_proxy = true;
    connection.proxy_header_done_ = false;
    return;
  }
  address.settled = true;
  [[maybe_unused]] bool admitted = admit_address(connection);
}

std::span<uint8_t> Worker::take_proxy_header(Connection& connection, std::span<uint8_t> bytes) {
  ClientAddress& address = *connection.address_;
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
      connection.proxy_header_done_ = true;
      if (input.size() >= proxy::kSignatureBytes &&
          proxy::parse_proxy_header(input.first(proxy::kSignatureBytes)).status ==
              proxy::ProxyHeader::Status::kNeedMore) {
        // The signature was there and the rest is broken: a misconfigured balancer.
        counters_.count_refusal(core::Refusal::kProxyHeader);
        close_connection(connection);
        return {};
      }
      return input;  // no PROXY header: the proxy speaks HTTP (X-Forwarded-For applies)
    case proxy::ProxyHeader::Status::kDone:
      break;
  }
  connection.proxy_header_done_ = true;
  const proxy::SourceAddress& source = header.source;
  if (source.family == proxy::SourceAddress::Family::kIpv4) {
    address.ip = auth::IpAddress::from_ipv4(std::span<const uint8_t, 4>(source.bytes.data(), 4));
  } else if (source.family == proxy::SourceAddress::Family::kIpv6) {
    address.ip = auth::IpAddress::from_ipv6(source.bytes);
  }
  // LOCAL (the balancer's health check) names no client: no per-address limit applies.
  if (source.family != proxy::SourceAddress::Family::kNone) {
    address.settled = true;
    if (!admit_address(connection)) return {};
  }
  return input.subspan(header.bytes);
}

bool Worker::admit_forwarded(Connection& connection) {
  ClientAddress* address = connection.address_.get();
  if (address == nullptr || !address->via_proxy || address->settled) return true;
  address->settled = true;
  std::string_view forwarded = connection.session_.request().header("x-forwarded-for");
  if (forwarded.empty()) return true;  // the proxy itself (a health check): not limited
  address->ip = auth::forwarded_client(forwarded, address->ip, config_.access->trusted_proxies());
  return admit_address(connection);
}

bool Worker::admit_address(Connection& connection) {
  auth::IpLimiter& limiter = config_.access->ip_limiter();
  ClientAddress& address = *connection.address_;
  const auth::IpLimiter::Verdict verdict = limiter.admit(address.ip, now_ms_);
  if (verdict == auth::IpLimiter::Verdict::kAdmitted) {
    address.admitted = limiter.enabled();
    return true;
  }
  const bool too_many = verdict == auth::IpLimiter::Verdict::kTooMany;
  counters_.count_refusal(too_many ? core::Refusal::kConnectionsPerIp
                                   : core::Refusal::kConnectionRate);
  const char* text = too_many ? "too many connections from this address\n"
                              : "too many new connections from this address; retry later\n";
  ws::Session& session = connection.session_;
  switch (session.state()) {
    case ws::Session::State::kHandshake:
      // Nothing was read yet (or only part of a request): answer now and stop reading.
      connection.queue_.push_copy(ws::build_http_response(429, "text/plain", text));
      begin_flushing(connection);
      break;
    case ws::Session::State::kDeciding:
      session.respond(429, "text/plain", text);
      break;
    default:
      close_connection(connection);
      break;
  }
  return false;
}

void Worker::release_address(Connection& connection) {
  ClientAddress* address = connection.address_.get();
  if (address == nullptr || !address->admitted) return;
  address->admitted = false;
  config_.access->ip_limiter().release(address->ip, now_ms_);
}

}  // namespace herald::broker::net
