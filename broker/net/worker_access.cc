// Access checks of a worker (PROTOCOL.md section 10): the Origin allow-list and a token at the
// handshake, the auth command, per-topic permissions on every subscribe and publish, the
// publish rate, and the 4001/4003 deadlines swept once a second. The policy itself (tokens,
// patterns, origins) lives in broker/auth; this file only applies it to connections.
#include <memory>
#include <string>

#include "broker/auth/permissions.h"
#include "broker/net/worker.h"
#include "protocol/pubsub/encode.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;

bool Worker::auth_required() const { return config_.access && config_.access->auth_required(); }

bool Worker::admit_upgrade(Connection& connection) {
  ws::Session& session = connection.session_;
  const ws::HttpRequest& request = session.request();
  // RFC 6455 §10.2: a browser always sends Origin, so a page on another site cannot ride on
  // the user's network position (or cookies) to open a socket here.
  if (config_.access && !config_.access->origins().allows(request.header("origin"))) {
    counters_.count_refusal(core::Refusal::kOrigin);
    session.reject(403, "origin not allowed");
    return false;
  }
  if (config_.max_publish_rate != 0) {
    connection.publish_bucket_ = std::make_unique<auth::TokenBucket>(
        config_.max_publish_rate,
        config_.max_publish_burst != 0 ? config_.max_publish_burst : config_.max_publish_rate,
        now_ms_);
  }
  if (!auth_required()) return true;
  std::string_view token = auth::query_token(request.query());
  if (token.empty()) token = auth::bearer_token(request.header("authorization"));
  if (token.empty()) return true;  // an auth command may follow (4001 if none does in time)
  auth::VerifyResult result = config_.access->verify(token);
  if (result.error != auth::TokenError::kNone) {
    // Refused before the upgrade: a client with a bad token learns so without a socket.
    counters_.count_refusal(core::Refusal::kUnauthorized);
    session.reject(401, auth::token_error_text(result.error));
    return false;
  }
  connection.grant_ = std::make_unique<auth::Claims>(std::move(result.claims));
  return true;
}

bool Worker::admit_http_publish(Connection& connection, std::string_view topic) {
  if (!auth_required()) return true;
  ws::Session& session = connection.session_;
  const ws::HttpRequest& request = session.request();
  std::string_view token = auth::bearer_token(request.header("authorization"));
  if (token.empty()) token = auth::query_token(request.query());
  if (token.empty()) {
    counters_.count_refusal(core::Refusal::kUnauthorized);
    session.respond(401, "text/plain", "token required: Authorization: Bearer <JWT>\n");
    return false;
  }
  auth::VerifyResult result = config_.access->verify(token);
  if (result.error != auth::TokenError::kNone) {
    counters_.count_refusal(core::Refusal::kUnauthorized);
    session.respond(401, "text/plain", std::string(auth::token_error_text(result.error)) + "\n");
    return false;
  }
  if (!auth::may_publish(result.claims.pub_allow, topic)) {
    counters_.count_refusal(core::Refusal::kForbidden);
    session.respond(403, "text/plain", "forbidden: publish to " + std::string(topic) + "\n");
    return false;
  }
  return true;
}

bool Worker::permit_command(Connection& connection, const pubsub::Command& command) {
  const bool publish = command.op == pubsub::Op::kPublish;
  if (command.op != pubsub::Op::kSubscribe && !publish) return true;  // unsub needs no grant
  if (auth_required()) {
    if (!connection.grant_) {
      counters_.count_refusal(core::Refusal::kUnauthorized);
      command_failed(connection, command.id, pubsub::ErrorCode::kUnauthorized,
                     "authenticate first: {\"op\":\"auth\",\"token\":...}");
      return false;
    }
    const auth::Claims& grant = *connection.grant_;
    const bool allowed = publish ? auth::may_publish(grant.pub_allow, command.topic)
                                 : auth::may_subscribe(grant.sub_allow, command.topic);
    if (!allowed) {
      counters_.count_refusal(core::Refusal::kForbidden);
      std::string text = (publish ? "publish to " : "subscribe to ") + std::string(command.topic) +
                         " is not allowed by the token";
      command_failed(connection, command.id, pubsub::ErrorCode::kForbidden, text);
      return false;
    }
  }
  if (publish && connection.publish_bucket_ && !connection.publish_bucket_->take(now_ms_)) {
    counters_.count_refusal(core::Refusal::kPublishRate);
    command_failed(connection, command.id, pubsub::ErrorCode::kRateLimited,
                   "over --max-publish-rate; the message was not published");
    return false;
  }
  return true;
}

void Worker::authenticate(Connection& connection, const pubsub::Command& command) {
  if (!auth_required()) {
    // Auth off: everything is allowed already, so a client written for a secured broker works.
    connection.bad_commands_ = 0;
    if (!command.id.empty()) send_notice(connection, pubsub::Ack{command.id});
    return;
  }
  auth::VerifyResult result = config_.access->verify(command.token);
  if (result.error != auth::TokenError::kNone) {
    // A failed refresh keeps the previous grant: it is still valid until its own expiry.
    counters_.count_refusal(core::Refusal::kUnauthorized);
    command_failed(connection, command.id, pubsub::ErrorCode::kUnauthorized,
                   auth::token_error_text(result.error));
    return;
  }
  connection.grant_ = std::make_unique<auth::Claims>(std::move(result.claims));
  connection.bad_commands_ = 0;
  if (!command.id.empty()) send_notice(connection, pubsub::Ack{command.id});
}

void Worker::sweep_access(Connection& connection) {
  // The echo route (a test tool behind --echo) has no commands, so no auth command either.
  if (!auth_required() || connection.route_ != Connection::Route::kPubSub) return;
  if (!connection.session_.can_send()) return;
  if (!connection.grant_) {
    if (now_ms_ - connection.accepted_ms_ < config_.handshake_timeout_ms) return;
    counters_.count_refusal(core::Refusal::kAuthTimeout);
    close_websocket(connection, core::CloseReason::kUnauthorized);
    return;
  }
  // The same leeway as at verification: a token accepted a moment ago is not cut at once.
  if (connection.grant_->expires_s + auth::kLeewaySeconds >= auth::unix_now_s()) return;
  counters_.count_refusal(core::Refusal::kTokenExpired);
  close_websocket(connection, core::CloseReason::kTokenExpired);
}

}  // namespace herald::broker::net
