// The AccessGate's token side (PROTOCOL.md section 10): Origin and token at the handshake,
// tokens on POST /publish, per-topic permissions on every subscribe and publish, the publish
// rate, the auth command and the 4001/4003 deadlines. Client addresses are in
// access_gate_addresses.cc.
#include "broker/net/access_gate.h"

#include <openssl/crypto.h>

#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "broker/auth/permissions.h"
#include "broker/net/percent_decode.h"
#include "protocol/pubsub/topic.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;

namespace {}  // namespace

bool AccessGate::admit_upgrade(ws::Session& session, AccessState& access, uint64_t now_ms) {
  const ws::HttpRequest& request = session.request();
  // RFC 6455 §10.2: a browser always sends Origin, so a page on another site cannot ride on
  // the user's network position (or cookies) to open a socket here.
  if (config_.access && !config_.access->origins().allows(request.header("origin"))) {
    counters_.count_refusal(core::Refusal::kOrigin);
    session.reject(403, "origin not allowed");
    return false;
  }
  if (config_.max_publish_rate != 0) {
    access.publish_bucket = std::make_unique<auth::TokenBucket>(
        config_.max_publish_rate,
        config_.max_publish_burst != 0 ? config_.max_publish_burst : config_.max_publish_rate,
        now_ms);
  }
  std::string_view token = auth::query_token(request.query());
  if (token.empty()) token = auth::bearer_token(request.header("authorization"));
  if (admit_admin(access, token)) return true;
  if (!auth_required()) return true;
  if (token.empty()) return true;  // an auth command may follow (4001 if none does in time)
  auth::VerifyResult result = config_.access->verify(token);
  if (result.error != auth::TokenError::kNone) {
    // Refused before the upgrade: a client with a bad token learns so without a socket.
    counters_.count_refusal(core::Refusal::kUnauthorized);
    session.reject(401, auth::token_error_text(result.error));
    return false;
  }
  access.grant = std::make_unique<auth::Claims>(std::move(result.claims));
  return true;
}

bool AccessGate::admit_http_publish(ws::Session& session, std::string_view topic) {
  if (!auth_required()) return true;
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

std::optional<Denial> AccessGate::permit(AccessState& access, const pubsub::Command& command,
                                         uint64_t now_ms) {
  const bool publish = command.op == pubsub::Op::kPublish;
  if (command.op != pubsub::Op::kSubscribe && !publish) return std::nullopt;  // unsub: no grant
  if (pubsub::is_reserved(command.topic)) {
    // The broker's own topics: nobody publishes there, only the admin token reads them.
    if (publish || !access.grant || !access.grant->admin) {
      counters_.count_refusal(core::Refusal::kForbidden);
      return Denial{pubsub::ErrorCode::kForbidden,
                    publish ? "the $sys topics are published by the broker only"
                            : "subscribing to $sys topics needs the admin token"};
    }
    return std::nullopt;
  }
  if (auth_required()) {
    if (!access.grant) {
      counters_.count_refusal(core::Refusal::kUnauthorized);
      return Denial{pubsub::ErrorCode::kUnauthorized,
                    "authenticate first: {\"op\":\"auth\",\"token\":...}"};
    }
    const auth::Claims& grant = *access.grant;
    const bool allowed = publish ? auth::may_publish(grant.pub_allow, command.topic)
                                 : auth::may_subscribe(grant.sub_allow, command.topic);
    if (!allowed) {
      counters_.count_refusal(core::Refusal::kForbidden);
      std::string text = (publish ? "publish to " : "subscribe to ") + std::string(command.topic) +
                         " is not allowed by the token";
      return Denial{pubsub::ErrorCode::kForbidden, std::move(text)};
    }
  }
  if (publish && access.publish_bucket && !access.publish_bucket->take(now_ms)) {
    counters_.count_refusal(core::Refusal::kPublishRate);
    return Denial{pubsub::ErrorCode::kRateLimited,
                  "over --max-publish-rate; the message was not published"};
  }
  return std::nullopt;
}

std::optional<Denial> AccessGate::authenticate(AccessState& access,
                                               const pubsub::Command& command) {
  if (admit_admin(access, command.token)) return std::nullopt;
  // Auth off: everything is allowed already, so a client written for a secured broker works.
  if (!auth_required()) return std::nullopt;
  auth::VerifyResult result = config_.access->verify(command.token);
  if (result.error != auth::TokenError::kNone) {
    counters_.count_refusal(core::Refusal::kUnauthorized);
    return Denial{pubsub::ErrorCode::kUnauthorized,
                  std::string(auth::token_error_text(result.error))};
  }
  access.grant = std::make_unique<auth::Claims>(std::move(result.claims));
  return std::nullopt;
}

bool AccessGate::admit_admin(AccessState& access, std::string_view token) {
  const std::string& admin_token = config_.admin_token;
  if (admin_token.empty() || token.empty()) return false;
  // From a URL the token may come percent-encoded (a browser's URLSearchParams encodes the
  // '+', '/' and '=' of a base64 token); a JWT never has '%', so this costs JWTs nothing.
  std::string decoded;
  if (token.find('%') != std::string_view::npos && percent_decode(token, decoded)) {
    token = decoded;
  }
  // The length is no secret; the comparison of the bytes takes the same time wherever they
  // differ (as for POST /admin/drain).
  if (token.size() != admin_token.size() ||
      CRYPTO_memcmp(token.data(), admin_token.data(), token.size()) != 0) {
    return false;
  }
  auto claims = std::make_unique<auth::Claims>();
  claims->subject = "admin";
  // The token lives as long as its file is configured: no expiry to enforce (4003).
  claims->expires_s = std::numeric_limits<int64_t>::max() - auth::kLeewaySeconds;
  claims->sub_allow.emplace_back("$sys.>");
  claims->admin = true;
  access.grant = std::move(claims);
  return true;
}

std::optional<AccessDeadline> AccessGate::overdue(const AccessState& access, uint64_t now_ms,
                                                  int64_t unix_now_s) const {
  if (!auth_required()) return std::nullopt;
  if (!access.grant) {
    if (now_ms - access.accepted_ms < config_.handshake_timeout_ms) return std::nullopt;
    return AccessDeadline{core::CloseReason::kUnauthorized, core::Refusal::kAuthTimeout};
  }
  // The same leeway as at verification: a token accepted a moment ago is not cut at once.
  if (access.grant->expires_s + auth::kLeewaySeconds >= unix_now_s) return std::nullopt;
  return AccessDeadline{core::CloseReason::kTokenExpired, core::Refusal::kTokenExpired};
}

}  // namespace herald::broker::net
