// HttpRoutes: upgrades to "/" (herald.v1) and "/echo", and /healthz, /readyz, /metrics, POST
// /admin/drain (behind the admin token), the admin page's files under /admin (only with an
// admin token) and POST /publish (topic from the query, the body checked when it claims to be
// JSON). Never touches a socket.
#include "broker/net/http_routes.h"

#include <openssl/crypto.h>
#include <simdjson.h>

#include <cctype>
#include <string>
#include <string_view>

#include "broker/net/admin_assets.h"
#include "broker/net/percent_decode.h"
#include "broker/net/readiness.h"
#include "protocol/pubsub/topic.h"
#include "protocol/websocket/handshake.h"

namespace herald::broker::net {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;

namespace {

constexpr std::string_view kSubprotocol = "herald.v1";

// The first `topic=` parameter of the query, decoded. False when absent or undecodable.
bool query_topic(std::string_view query, std::string& topic) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.starts_with("topic=")) return percent_decode(pair.substr(6), topic);
  }
  return false;
}

// "application/json", with any parameters (charset) and in any case.
bool is_json_media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  if (type.size() != kJson.size()) return false;
  for (size_t i = 0; i < type.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != kJson[i]) return false;
  }
  return true;
}

// One JSON value, fully validated (the DOM parser reads every byte; on-demand would not).
bool is_one_json_value(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  return parser.parse(body.data(), body.size()).get(element) == simdjson::SUCCESS;
}

// Compares in time that depends only on the lengths, so a wrong guess does not tell how much
// of it was right (the length is not secret enough to hide).
bool same_token(std::string_view given, std::string_view token) {
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

}  // namespace

Connection::Route HttpRoutes::on_request(ws::Session& session, AccessState& access, bool upgrade,
                                         core::ReplyAddress reply, uint64_t now_ms) {
  return upgrade ? on_upgrade(session, access, now_ms) : on_http_request(session, reply);
}

Connection::Route HttpRoutes::on_upgrade(ws::Session& session, AccessState& access,
                                         uint64_t now_ms) {
  std::string_view path = session.request().path();
  if ((path == "/" || (config_.echo && path == "/echo")) &&
      !gate_.admit_upgrade(session, access, now_ms)) {
    return Connection::Route::kNone;
  }
  if (config_.echo && path == "/echo") {
    session.accept();
    return Connection::Route::kEcho;
  }
  if (path == "/") {
    // PROTOCOL.md section 1: herald.v1 when offered, served anyway when nothing is offered
    // (generic tools), refused when only other subprotocols are.
    bool offered_any = !session.request().header("sec-websocket-protocol").empty();
    if (session.subprotocol() == kSubprotocol || !offered_any) {
      session.accept();
      return Connection::Route::kPubSub;
    }
    session.reject(400, "herald.v1 subprotocol required");
  } else {
    session.reject(404, "not found");
  }
  return Connection::Route::kNone;
}

Connection::Route HttpRoutes::on_http_request(ws::Session& session, core::ReplyAddress reply) {
  std::string_view path = session.request().path();
  std::string_view method = session.request().method;
  if (path == "/healthz") {
    if (method != "GET") {
      session.respond(405, "text/plain", "method not allowed\n");
    } else {
      session.respond(200, "text/plain", "ok\n");
    }
  } else if (path == "/readyz") {
    // Liveness (/healthz) says the process serves; readiness says it should get new traffic.
    if (method != "GET") {
      session.respond(405, "text/plain", "method not allowed\n");
    } else {
      ReadyzAnswer answer = readyz_answer(operations_.not_ready());
      session.respond(answer.status, "text/plain", answer.body);
    }
  } else if (path == "/metrics") {
    if (method != "GET") {
      session.respond(405, "text/plain", "method not allowed\n");
    } else {
      session.respond(200, "text/plain; version=0.0.4; charset=utf-8", operations_.metrics_text());
    }
  } else if (path == "/publish") {
    if (method == "POST") return on_http_publish(session, reply);
    session.respond(405, "text/plain", "method not allowed\n");
  } else if (path == "/admin/drain" && !config_.admin_token.empty()) {
    if (method == "POST") {
      on_admin_drain(session);
    } else {
      session.respond(405, "text/plain", "method not allowed\n");
    }
  } else if (const AdminAsset* asset = admin_asset(path)) {
    if (method != "GET") {
      session.respond(405, "text/plain", "method not allowed\n");
    } else {
      // The page holds no secret (the token is asked for); no-cache so an upgrade shows.
      static const std::string kNoCache[] = {"Cache-Control: no-cache"};
      session.respond(200, asset->content_type, asset->body, kNoCache);
    }
  } else {
    session.respond(404, "text/plain", "not found\n");
  }
  return Connection::Route::kNone;
}

Connection::Route HttpRoutes::on_http_publish(ws::Session& session, core::ReplyAddress reply) {
  const ws::HttpRequest& request = session.request();
  std::string topic;
  if (!query_topic(request.query(), topic)) {
    session.respond(400, "text/plain", "missing topic: POST /publish?topic=T\n");
    return Connection::Route::kNone;
  }
  if (pubsub::TopicError error = pubsub::check_topic(topic); error != pubsub::TopicError::kNone) {
    std::string body = "bad topic: " + std::string(pubsub::topic_error_text(error)) + "\n";
    session.respond(400, "text/plain", body);
    return Connection::Route::kNone;
  }
  if (pubsub::is_reserved(topic)) {
    counters_.count_refusal(core::Refusal::kForbidden);
    session.respond(403, "text/plain", "forbidden: the $sys topics are published by the broker\n");
    return Connection::Route::kNone;
  }
  if (!gate_.admit_http_publish(session, topic)) return Connection::Route::kNone;
  bool json = is_json_media_type(request.header("content-type"));
  if (json && !is_one_json_value(request.body)) {
    session.respond(400, "text/plain", "invalid JSON: the body must be one JSON value\n");
    return Connection::Route::kNone;
  }
  if (publisher_.storage_busy(topic)) {
    // A WebSocket publisher is paused instead; an HTTP client is told to come back.
    counters_.count_refusal(core::Refusal::kStorageBusy);
    static const std::string kRetryAfter[] = {"Retry-After: 1"};
    session.respond(503, "text/plain", "history writer busy: retry\n", kRetryAfter);
    return Connection::Route::kNone;
  }
  core::PublishRequest::Fields fields;
  fields.topic = topic;
  fields.payload = {reinterpret_cast<const uint8_t*>(request.body.data()), request.body.size()};
  fields.binary = !json;
  fields.origin = core::PublishRequest::Origin::kHttp;
  fields.reply = reply;
  core::PublishRequest::Status status = core::PublishRequest::Status::kPending;
  uint64_t seq = 0;
  if (!publisher_.route_publish(fields, status, seq)) {
    // The owner answers through a channel; the Session waits in kDeciding until then.
    return Connection::Route::kHttpPublish;
  }
  respond_publish(session, topic, status, seq);
  return Connection::Route::kNone;
}

const AdminAsset* HttpRoutes::admin_asset(std::string_view path) const {
  // Without --admin-token-file the page does not exist (404), like POST /admin/drain.
  if (config_.admin_token.empty() || !path.starts_with("/admin")) return nullptr;
  return find_admin_asset(path);
}

void HttpRoutes::on_admin_drain(ws::Session& session) {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view authorization = session.request().header("authorization");
  if (!authorization.starts_with(kBearer)) {
    static const std::string kChallenge[] = {"WWW-Authenticate: Bearer"};
    counters_.count_refusal(core::Refusal::kUnauthorized);
    session.respond(401, "text/plain", "admin token required: Authorization: Bearer TOKEN\n",
                    kChallenge);
    return;
  }
  if (!same_token(authorization.substr(kBearer.size()), config_.admin_token)) {
    counters_.count_refusal(core::Refusal::kForbidden);
    session.respond(403, "text/plain", "wrong admin token\n");
    return;
  }
  operations_.request_drain();
  session.respond(202, "text/plain", "draining\n");
}

void HttpRoutes::respond_publish(ws::Session& session, std::string_view topic,
                                 core::PublishRequest::Status status, uint64_t seq) {
  if (status == core::PublishRequest::Status::kTooManyTopics) {
    counters_.count_refusal(core::Refusal::kTopics);
    return session.respond(503, "text/plain", "too many topics\n");
  }
  if (status == core::PublishRequest::Status::kStorageFailed) {
    return session.respond(503, "text/plain", "history write failed\n");
  }
  if (status == core::PublishRequest::Status::kUnavailable) {
    return session.respond(503, "text/plain", "unavailable: Redis is unreachable\n");
  }
  std::string body = "{\"topic\":\"";
  body.append(topic).append("\",\"seq\":").append(std::to_string(seq)).append("}\n");
  session.respond(200, "application/json", body);
}

}  // namespace herald::broker::net
