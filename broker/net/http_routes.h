// The routes of a request on the broker's port (PROTOCOL.md sections 1 and 7): WebSocket
// upgrades ("/" with herald.v1, "/echo" behind --echo) and the plain HTTP endpoints /healthz,
// /readyz, /metrics, POST /publish, POST /admin/drain and the admin page (GET /admin...).
// Answers through the Session; knows no socket and no worker: a publish, the metrics text and
// readiness come through the two interfaces below.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/core/publication.h"
#include "broker/net/access_gate.h"
#include "broker/net/admin_assets.h"
#include "broker/net/config.h"
#include "broker/net/connection.h"
#include "broker/net/counters.h"
#include "protocol/websocket/session.h"

namespace herald::broker::net {

// Thread: the owning worker's. Everything passed to the constructor must outlive it.
class HttpRoutes {
 public:
  // Where POST /publish sends its message.
  class Publisher {
   public:
    // Publishes here when this worker owns the topic (true, with status and seq), else
    // forwards it to the owner (false: the answer comes later, for respond_publish()).
    [[nodiscard]] virtual bool route_publish(const core::PublishRequest::Fields& fields,
                                             core::PublishRequest::Status& status,
                                             uint64_t& seq) = 0;
    // True while the owner of `topic` holds its publishes until the history writer catches
    // up: POST /publish answers 503 with Retry-After rather than wait.
    [[nodiscard]] virtual bool storage_busy(std::string_view topic) = 0;

   protected:
    ~Publisher() = default;
  };
  // What the operator's endpoints need of the broker: the body of GET /metrics (Prometheus
  // text format), the NotReady mask (readiness.h) that fails GET /readyz, and the drain that
  // POST /admin/drain starts (any thread may then carry it out; a second request is a no-op).
  class Operations {
   public:
    [[nodiscard]] virtual std::string metrics_text() const = 0;
    [[nodiscard]] virtual uint32_t not_ready() const = 0;
    virtual void request_drain() = 0;

   protected:
    ~Operations() = default;
  };

  HttpRoutes(const ServerConfig& config, AccessGate& gate, WorkerCounters& counters,
             Publisher& publisher, Operations& operations)
      : config_(config),
        gate_(gate),
        counters_(counters),
        publisher_(publisher),
        operations_(operations) {}

  // A request the Session delivered (it is in kDeciding). Returns the route taken: kPubSub or
  // kEcho for an accepted upgrade, kHttpPublish for a publish waiting for its topic's owner
  // (the Session stays in kDeciding), kNone once answered. `reply` is where the owner answers.
  [[nodiscard]] Connection::Route on_request(protocol::websocket::Session& session,
                                             AccessState& access, bool upgrade,
                                             core::ReplyAddress reply, uint64_t now_ms);
  // Answers POST /publish once its topic's owner has: 200 with the seq, or 503.
  void respond_publish(protocol::websocket::Session& session, std::string_view topic,
                       core::PublishRequest::Status status, uint64_t seq);

 private:
  [[nodiscard]] Connection::Route on_upgrade(protocol::websocket::Session& session,
                                             AccessState& access, uint64_t now_ms);
  [[nodiscard]] Connection::Route on_http_request(protocol::websocket::Session& session,
                                                  core::ReplyAddress reply);
  [[nodiscard]] Connection::Route on_http_publish(protocol::websocket::Session& session,
                                                  core::ReplyAddress reply);
  void on_admin_drain(protocol::websocket::Session& session);
  // The admin page's file at `path` when --admin-token-file is set, else null.
  [[nodiscard]] const AdminAsset* admin_asset(std::string_view path) const;

  const ServerConfig& config_;
  AccessGate& gate_;
  WorkerCounters& counters_;
  Publisher& publisher_;
  Operations& operations_;
};

}  // namespace herald::broker::net
