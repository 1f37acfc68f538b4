// HttpRoutes through a Session, without sockets or a worker: the upgrade routes and their
// subprotocol rule, /healthz, /readyz and /metrics, and POST /publish (topic from the query, JSON
// checked, published here or forwarded to the owner and answered later).
#include "broker/net/http_routes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "broker/net/readiness.h"
#include "tests/broker/access_fixture.h"

namespace herald::broker::net {
namespace {

namespace ws = protocol::websocket;
using Route = Connection::Route;
using Status = core::PublishRequest::Status;

// Records every publish; publishes here with `status` and `seq`, or forwards when `forward`.
class FakePublisher final : public HttpRoutes::Publisher {
 public:
  struct Published {
    std::string topic;
    std::string payload;
    bool binary;
    core::PublishRequest::Origin origin;
    core::ReplyAddress reply;
  };

  bool route_publish(const core::PublishRequest::Fields& fields, Status& status,
                     uint64_t& seq) override {
    published.push_back(Published{std::string(fields.topic),
                                  std::string(fields.payload.begin(), fields.payload.end()),
                                  fields.binary, fields.origin, fields.reply});
    if (forward) return false;
    status = answer;
    seq = next_seq;
    return true;
  }
  bool storage_busy(std::string_view topic) override { return topic == busy_topic; }

  std::vector<Published> published;
  bool forward = false;
  Status answer = Status::kSequenced;
  uint64_t next_seq = 7;
  std::string busy_topic;  // its owner holds publishes (the history writer is behind)
};

class FakeOperations final : public HttpRoutes::Operations {
 public:
  std::string metrics_text() const override { return "herald_up 1\n"; }
  uint32_t not_ready() const override { return readiness.conditions(); }
  void request_drain() override {
    ++drains;
    readiness.set(NotReady::kDraining);
  }

  Readiness readiness;
  int drains = 0;
};

class HttpRoutesTest : public testing::AccessFixture {
 protected:
  // Routes `request` and returns the route; the answer is then in last_output_.
  Route route(const std::string& request, bool upgrade) {
    session_ = &session_with(request);
    Route taken = routes_.on_request(*session_, access_, upgrade, kReply, 0);
    last_output_ = session_->take_output();
    return taken;
  }
  Route publish(std::string_view target, std::string_view headers, std::string_view body) {
    return route(http("POST", target, headers, body), false);
  }
  bool answered(int status) const {
    return last_output_.rfind("HTTP/1.1 " + std::to_string(status), 0) == 0;
  }
  bool body_is(std::string_view body) const {
    return last_output_.ends_with("\r\n\r\n" + std::string(body));
  }

  static constexpr core::ReplyAddress kReply{3, 42};
  AccessState access_;
  AccessGate gate_{config_, counters_};
  FakePublisher publisher_;
  FakeOperations operations_;
  HttpRoutes routes_{config_, gate_, counters_, publisher_, operations_};
  ws::Session* session_ = nullptr;
  std::string last_output_;
};

TEST_F(HttpRoutesTest, RootUpgradeServesHerald) {
  EXPECT_EQ(route(upgrade("/", "Sec-WebSocket-Protocol: chat, herald.v1\r\n"), true),
            Route::kPubSub);
  EXPECT_TRUE(answered(101));
  EXPECT_NE(last_output_.find("herald.v1"), std::string::npos);
  // Generic tools offer nothing and are served anyway.
  EXPECT_EQ(route(upgrade("/"), true), Route::kPubSub);
  EXPECT_TRUE(answered(101));
  EXPECT_EQ(route(upgrade("/", "Sec-WebSocket-Protocol: chat\r\n"), true), Route::kNone);
  EXPECT_TRUE(answered(400));
}

TEST_F(HttpRoutesTest, EchoOnlyWhenEnabled) {
  EXPECT_EQ(route(upgrade("/echo"), true), Route::kNone);
  EXPECT_TRUE(answered(404));
  config_.echo = true;
  EXPECT_EQ(route(upgrade("/echo"), true), Route::kEcho);
  EXPECT_TRUE(answered(101));
  EXPECT_EQ(route(upgrade("/elsewhere"), true), Route::kNone);
  EXPECT_TRUE(answered(404));
}

TEST_F(HttpRoutesTest, UpgradeRefusedByTheGate) {
  auth::AccessSettings settings;
  settings.allowed_origins = "https://good.example";
  build_access(settings);
  EXPECT_EQ(route(upgrade("/", "Origin: https://evil.example\r\n"), true), Route::kNone);
  EXPECT_TRUE(answered(403));
  EXPECT_EQ(refusals(core::Refusal::kOrigin), 1u);
}

TEST_F(HttpRoutesTest, ReadyOnlyWithNoConditionSet) {
  // A new Readiness is starting: not ready until the server clears it.
  EXPECT_EQ(route(http("GET", "/readyz"), false), Route::kNone);
  EXPECT_TRUE(answered(503));
  EXPECT_TRUE(body_is("not ready: starting\n"));
  operations_.readiness.clear(NotReady::kStarting);
  EXPECT_EQ(route(http("GET", "/readyz"), false), Route::kNone);
  EXPECT_TRUE(answered(200));
  EXPECT_TRUE(body_is("ready\n"));
  operations_.readiness.set(NotReady::kDraining);
  operations_.readiness.set(NotReady::kStorageFailed);
  EXPECT_EQ(route(http("GET", "/readyz"), false), Route::kNone);
  EXPECT_TRUE(answered(503));
  EXPECT_TRUE(body_is("not ready: draining, history storage failed\n"));
  // Liveness does not follow readiness.
  EXPECT_EQ(route(http("GET", "/healthz"), false), Route::kNone);
  EXPECT_TRUE(answered(200));
  EXPECT_EQ(route(http("POST", "/readyz"), false), Route::kNone);
  EXPECT_TRUE(answered(405));
}

TEST_F(HttpRoutesTest, AdminDrainNeedsTheToken) {
  // Off without --admin-token-file: the path does not exist.
  EXPECT_EQ(route(http("POST", "/admin/drain"), false), Route::kNone);
  EXPECT_TRUE(answered(404));
  config_.admin_token = "s3cret-token";
  EXPECT_EQ(route(http("POST", "/admin/drain"), false), Route::kNone);
  EXPECT_TRUE(answered(401));
  EXPECT_NE(last_output_.find("\r\nWWW-Authenticate: Bearer\r\n"), std::string::npos);
  for (const char* wrong : {"Bearer s3cret-toke", "Bearer s3cret-tokeN", "Bearer ", "Basic x"}) {
    EXPECT_EQ(
        route(http("POST", "/admin/drain", std::string("Authorization: ") + wrong + "\r\n"), false),
        Route::kNone);
    EXPECT_TRUE(answered(401) || answered(403)) << wrong;
  }
  EXPECT_EQ(operations_.drains, 0);
  EXPECT_EQ(route(http("GET", "/admin/drain", "Authorization: Bearer s3cret-token\r\n"), false),
            Route::kNone);
  EXPECT_TRUE(answered(405));
  EXPECT_EQ(route(http("POST", "/admin/drain", "Authorization: Bearer s3cret-token\r\n"), false),
            Route::kNone);
  EXPECT_TRUE(answered(202));
  EXPECT_EQ(operations_.drains, 1);
  EXPECT_EQ(route(http("GET", "/readyz"), false), Route::kNone);
  EXPECT_TRUE(answered(503));
}

TEST(ReadyzAnswerTest, EveryConditionHasAReason) {
  EXPECT_EQ(readyz_answer(0).status, 200);
  EXPECT_EQ(readyz_answer(static_cast<uint32_t>(NotReady::kStorageBusy)).body,
            "not ready: history storage behind\n");
  ReadyzAnswer all = readyz_answer(~0u);
  EXPECT_EQ(all.status, 503);
  EXPECT_EQ(all.body,
            "not ready: starting, draining, history storage failed, "
            "history storage behind, redis unreachable\n");
}

TEST(ReadinessTest, ClaimSetsOnce) {
  Readiness readiness;
  EXPECT_TRUE(readiness.has(NotReady::kStarting));
  EXPECT_TRUE(readiness.claim(NotReady::kDraining));
  EXPECT_FALSE(readiness.claim(NotReady::kDraining));
  EXPECT_TRUE(readiness.has(NotReady::kDraining));
  readiness.clear(NotReady::kStarting);
  EXPECT_EQ(readiness.conditions(), static_cast<uint32_t>(NotReady::kDraining));
}

TEST_F(HttpRoutesTest, HealthAndMetrics) {
  EXPECT_EQ(route(http("GET", "/healthz"), false), Route::kNone);
  EXPECT_TRUE(answered(200));
  EXPECT_TRUE(body_is("ok\n"));
  EXPECT_EQ(route(http("GET", "/metrics"), false), Route::kNone);
  EXPECT_TRUE(answered(200));
  EXPECT_NE(last_output_.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_TRUE(body_is("herald_up 1\n"));
  for (const char* path : {"/healthz", "/readyz", "/metrics", "/publish"}) {
    EXPECT_EQ(route(http("PUT", path), false), Route::kNone);
    EXPECT_TRUE(answered(405)) << path;
  }
  EXPECT_EQ(route(http("GET", "/nothing"), false), Route::kNone);
  EXPECT_TRUE(answered(404));
  EXPECT_TRUE(publisher_.published.empty());
}

TEST_F(HttpRoutesTest, PublishedHereIsAnsweredAtOnce) {
  EXPECT_EQ(publish("/publish?x=1&topic=a%2Eb", "Content-Type: Application/JSON; charset=utf-8\r\n",
                    R"({"n":1})"),
            Route::kNone);
  EXPECT_TRUE(answered(200));
  EXPECT_TRUE(body_is("{\"topic\":\"a.b\",\"seq\":7}\n"));
  ASSERT_EQ(publisher_.published.size(), 1u);
  const FakePublisher::Published& published = publisher_.published[0];
  EXPECT_EQ(published.topic, "a.b");
  EXPECT_EQ(published.payload, R"({"n":1})");
  EXPECT_FALSE(published.binary);
  EXPECT_EQ(published.origin, core::PublishRequest::Origin::kHttp);
  EXPECT_EQ(published.reply.worker, kReply.worker);
  EXPECT_EQ(published.reply.connection, kReply.connection);
  // Any other body is published as binary, unchecked.
  EXPECT_EQ(publish("/publish?topic=a", "", "{not json"), Route::kNone);
  EXPECT_TRUE(answered(200));
  ASSERT_EQ(publisher_.published.size(), 2u);
  EXPECT_TRUE(publisher_.published[1].binary);
}

TEST_F(HttpRoutesTest, BadPublishesAreAnswered400) {
  const std::string json = "Content-Type: application/json\r\n";
  EXPECT_EQ(publish("/publish", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(400));
  EXPECT_NE(last_output_.find("missing topic"), std::string::npos);
  EXPECT_EQ(publish("/publish?topic=a%zz", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(400));
  EXPECT_EQ(publish("/publish?topic=a.*", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(400));
  EXPECT_NE(last_output_.find("bad topic"), std::string::npos);
  EXPECT_EQ(publish("/publish?topic=a", json, "{\"a\":"), Route::kNone);
  EXPECT_TRUE(answered(400));
  EXPECT_NE(last_output_.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(publish("/publish?topic=a", json, "1 2"), Route::kNone);
  EXPECT_TRUE(answered(400));
  EXPECT_TRUE(publisher_.published.empty());
}

TEST_F(HttpRoutesTest, PublishNeedsATokenWhenAuthIsOn) {
  build_auth();
  EXPECT_EQ(publish("/publish?topic=a", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(401));
  const std::string bearer = "Authorization: Bearer " + token(R"(,"pub_allow":["a"])") + "\r\n";
  EXPECT_EQ(publish("/publish?topic=a", bearer, "x"), Route::kNone);
  EXPECT_TRUE(answered(200));
  EXPECT_EQ(publisher_.published.size(), 1u);
}

TEST_F(HttpRoutesTest, ForwardedPublishWaitsForTheOwner) {
  publisher_.forward = true;
  EXPECT_EQ(publish("/publish?topic=a", "", "x"), Route::kHttpPublish);
  EXPECT_TRUE(last_output_.empty());
  EXPECT_EQ(session_->state(), ws::Session::State::kDeciding);
  routes_.respond_publish(*session_, "a", Status::kSequenced, 9);
  last_output_ = session_->take_output();
  EXPECT_TRUE(answered(200));
  EXPECT_TRUE(body_is("{\"topic\":\"a\",\"seq\":9}\n"));
}

TEST_F(HttpRoutesTest, RefusedPublishesAreAnswered503) {
  publisher_.answer = Status::kTooManyTopics;
  EXPECT_EQ(publish("/publish?topic=a", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(503));
  EXPECT_TRUE(body_is("too many topics\n"));
  EXPECT_EQ(refusals(core::Refusal::kTopics), 1u);
  publisher_.answer = Status::kStorageFailed;
  EXPECT_EQ(publish("/publish?topic=a", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(503));
  EXPECT_TRUE(body_is("history write failed\n"));
  EXPECT_EQ(refusals(core::Refusal::kTopics), 1u);
}

TEST_F(HttpRoutesTest, ABusyHistoryWriterAnswers503WithRetryAfter) {
  publisher_.busy_topic = "h.busy";
  EXPECT_EQ(publish("/publish?topic=h.busy", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(503));
  EXPECT_NE(last_output_.find("\r\nRetry-After: 1\r\n"), std::string::npos) << last_output_;
  EXPECT_TRUE(publisher_.published.empty()) << "nothing is published";
  EXPECT_EQ(refusals(core::Refusal::kStorageBusy), 1u);
  EXPECT_EQ(publish("/publish?topic=h.free", "", "x"), Route::kNone);
  EXPECT_TRUE(answered(200)) << "other topics are published";
}

}  // namespace
}  // namespace herald::broker::net
