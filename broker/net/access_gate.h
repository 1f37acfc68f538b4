// Applies the access rules to connections (PROTOCOL.md sections 7 and 10): the Origin
// allow-list and a token at the handshake, tokens on POST /publish, per-command permissions,
// the auth command, the publish rate, the 4001/4003 deadlines, and the client's address (PROXY
// v2 header, X-Forwarded-For, per-address limits). The policy itself lives in broker/auth.
// Issues no I/O and holds no connection: it is handed a connection's AccessState and Session,
// answers through the Session where it can, and returns what the worker must do otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "broker/core/close_reason.h"
#include "broker/core/metrics.h"
#include "broker/net/config.h"
#include "broker/net/connection.h"
#include "broker/net/counters.h"
#include "protocol/pubsub/command.h"
#include "protocol/websocket/session.h"

namespace herald::broker::net {

// The gate's verdict on a connection where the Session cannot carry the answer alone.
struct Admission {
  enum class Kind : uint8_t {
    kAdmitted,
    kAnswered,  // refused, and the answer is in the Session (it was in kDeciding)
    kRespond,   // refused before a request was read: queue `response`, flush, read no more
    kClose,     // refused where no answer fits (a broken PROXY header, an open WebSocket)
  };
  Kind kind = Kind::kAdmitted;
  std::string response;  // kRespond: a complete HTTP response

  [[nodiscard]] bool admitted() const { return kind == Kind::kAdmitted; }
};

// A refused command: the error reply the worker sends.
struct Denial {
  protocol::pubsub::ErrorCode code;
  std::string text;
};

// A passed access deadline: the worker counts `refusal` and closes the WebSocket for `reason`.
struct AccessDeadline {
  core::CloseReason reason;
  core::Refusal refusal;
};

// A trusted proxy's first bytes with its PROXY v2 header taken off.
struct ProxyInput {
  std::span<uint8_t> rest;  // for the Session; may point into the address's proxy_prefix
  Admission admission;
};

// Thread: the owning worker's. `config` and `counters` must outlive it. Each refusal is
// counted here, in `counters`, except the deadlines (the worker counts those as it closes).
class AccessGate {
 public:
  AccessGate(const ServerConfig& config, WorkerCounters& counters)
      : config_(config), counters_(counters) {}

  [[nodiscard]] bool auth_required() const {
    return config_.access && config_.access->auth_required();
  }

  // The handshake. An upgrade to a route with messages: the Origin, then a token from the query
  // or Authorization (without one, an auth command must follow before the 4001 deadline).
  // Also starts the publish bucket. False: rejected through the Session (403, 401).
  [[nodiscard]] bool admit_upgrade(protocol::websocket::Session& session, AccessState& access,
                                   uint64_t now_ms);
  // POST /publish: a token that allows `topic`. False: answered through the Session (401, 403).
  [[nodiscard]] bool admit_http_publish(protocol::websocket::Session& session,
                                        std::string_view topic);

  // Commands. Subscribe and publish need a grant that allows the topic, and a publish takes a
  // token from the bucket; other commands pass.
  [[nodiscard]] std::optional<Denial> permit(AccessState& access,
                                             const protocol::pubsub::Command& command,
                                             uint64_t now_ms);
  // The auth command: a valid token replaces the grant; a failed one keeps the previous grant
  // (still valid until its own expiry). With auth off it is always accepted.
  [[nodiscard]] std::optional<Denial> authenticate(AccessState& access,
                                                   const protocol::pubsub::Command& command);
  // An open pub/sub connection, once a second: 4001 when no token came within the handshake
  // timeout of the accept, 4003 when the grant expired (with the verifier's leeway).
  [[nodiscard]] std::optional<AccessDeadline> overdue(const AccessState& access, uint64_t now_ms,
                                                      int64_t unix_now_s) const;

  // Client addresses. The worker asked the kernel for the peer (access.address->peer): a
  // trusted proxy's connection waits for a PROXY header or X-Forwarded-For, any other is
  // counted against its address's limits now.
  [[nodiscard]] Admission on_peer_address(AccessState& access,
                                          protocol::websocket::Session& session, uint64_t now_ms);
  // While !access.proxy_header_done: consumes a PROXY v2 header from a trusted proxy's first
  // bytes, across reads. `rest` is empty while it needs more and when refused.
  [[nodiscard]] ProxyInput take_proxy_header(AccessState& access,
                                             protocol::websocket::Session& session,
                                             std::span<uint8_t> bytes, uint64_t now_ms);
  // At the request: behind a trusted proxy that sent no PROXY header, X-Forwarded-For names
  // the client.
  [[nodiscard]] Admission admit_forwarded(AccessState& access,
                                          protocol::websocket::Session& session, uint64_t now_ms);
  // The connection is gone: gives its place back to the address's limit (once).
  void release_address(AccessState& access, uint64_t now_ms);

 private:
  // When `token` is the admin token (--admin-token-file): grants it the reserved "$sys"
  // topics (reading only) and returns true.
  [[nodiscard]] bool admit_admin(AccessState& access, std::string_view token);
  [[nodiscard]] Admission admit_address(ClientAddress& address,
                                        protocol::websocket::Session& session, uint64_t now_ms);

  const ServerConfig& config_;
  WorkerCounters& counters_;
};

}  // namespace herald::broker::net
