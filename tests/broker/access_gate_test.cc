// The AccessGate without sockets: Origin and tokens at the handshake, the 4001/4003 deadlines,
// permissions and the publish rate on commands, the auth command, tokens on POST /publish, and
// client addresses (per-address limits, PROXY v2 headers across reads, X-Forwarded-For).
#include "broker/net/access_gate.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/broker/access_fixture.h"

namespace herald::broker::net {
namespace {

namespace ws = protocol::websocket;
namespace pubsub = protocol::pubsub;
using Kind = Admission::Kind;

class AccessGateTest : public testing::AccessFixture {
 protected:
  // A connection state whose peer (as SO_PEERNAME answers) is the IPv4 address `peer`.
  static AccessState from_peer(const char* peer) {
    AccessState access;
    access.address = std::make_unique<ClientAddress>();
    access.address->peer.sin6_family = AF_INET6;
    const std::string mapped = std::string("::ffff:") + peer;
    EXPECT_EQ(inet_pton(AF_INET6, mapped.c_str(), &access.address->peer.sin6_addr), 1);
    return access;
  }
  // Trusts proxies on 127.0.0.0/8, with at most `per_ip_max` connections per client address.
  void trust_proxies(uint64_t per_ip_max) {
    auth::AccessSettings settings;
    settings.trusted_proxies = "127.0.0.0/8";
    settings.connections_per_ip_max = per_ip_max;
    build_access(settings);
  }
  // A connection from the trusted proxy 127.0.0.1: it waits for the client's address.
  AccessState from_proxy() {
    AccessState access = from_peer("127.0.0.1");
    EXPECT_TRUE(gate_.on_peer_address(access, fresh_, 0).admitted());
    EXPECT_TRUE(access.address->via_proxy);
    EXPECT_FALSE(access.address->admitted);  // the proxy itself is not limited
    return access;
  }
  static auth::IpAddress ip(const char* text) {
    auth::IpAddress address;
    EXPECT_TRUE(auth::IpAddress::parse(text, address)) << text;
    return address;
  }
  static pubsub::Command command(pubsub::Op op, std::string_view topic) {
    pubsub::Command out;
    out.op = op;
    out.topic = topic;
    return out;
  }
  static std::span<uint8_t> bytes(std::string& text) {
    return {reinterpret_cast<uint8_t*>(text.data()), text.size()};
  }
  static std::string text(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

  AccessGate gate_{config_, counters_};
  ws::SessionConfig plain_config_;
  ws::Session fresh_{plain_config_};  // nothing read yet
};

// PROXY TCP4 192.0.2.7:51000 -> 198.51.100.1:443.
const std::string kProxyHeader =
    std::string("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12) +
    std::string("\x21\x11\x00\x0C", 4) +
    std::string("\xC0\x00\x02\x07\xC6\x33\x64\x01\xC7\x38\x01\xBB", 12);

TEST_F(AccessGateTest, OriginOutsideTheAllowListIsRefused403) {
  auth::AccessSettings settings;
  settings.allowed_origins = "https://good.example";
  build_access(settings);
  AccessState access;
  ws::Session& good = session_with(upgrade("/", "Origin: https://good.example\r\n"));
  EXPECT_TRUE(gate_.admit_upgrade(good, access, 0));
  EXPECT_EQ(good.state(), ws::Session::State::kDeciding);

  ws::Session& evil = session_with(upgrade("/", "Origin: https://evil.example\r\n"));
  EXPECT_FALSE(gate_.admit_upgrade(evil, access, 0));
  EXPECT_EQ(evil.state(), ws::Session::State::kClosed);
  EXPECT_EQ(evil.take_output().rfind("HTTP/1.1 403", 0), 0u);
  EXPECT_EQ(refusals(core::Refusal::kOrigin), 1u);
}

TEST_F(AccessGateTest, ValidTokenAtTheHandshakeGrants) {
  build_auth();
  AccessState query;
  ws::Session& by_query = session_with(upgrade("/?token=" + token(R"(,"sub_allow":["a"])")));
  ASSERT_TRUE(gate_.admit_upgrade(by_query, query, 0));
  ASSERT_NE(query.grant, nullptr);
  EXPECT_EQ(query.grant->sub_allow, std::vector<std::string>{"a"});

  AccessState bearer;
  ws::Session& by_header = session_with(upgrade("/", "Authorization: Bearer " + token() + "\r\n"));
  EXPECT_TRUE(gate_.admit_upgrade(by_header, bearer, 0));
  EXPECT_NE(bearer.grant, nullptr);
  // A granted connection meets no 4001, however late.
  EXPECT_EQ(gate_.overdue(bearer, 1'000'000, auth::unix_now_s()), std::nullopt);
  EXPECT_EQ(refusals(core::Refusal::kUnauthorized), 0u);
}

TEST_F(AccessGateTest, InvalidTokenAtTheHandshakeIsRefused401) {
  build_auth();
  for (const std::string& bad :
       {auth::testing::hs256_token("another secret, long enough for HS256!", R"({"exp":9e9})"),
        token("", -120), std::string("not.a.token")}) {
    AccessState access;
    ws::Session& session = session_with(upgrade("/?token=" + bad));
    EXPECT_FALSE(gate_.admit_upgrade(session, access, 0)) << bad;
    EXPECT_EQ(access.grant, nullptr);
    EXPECT_EQ(session.take_output().rfind("HTTP/1.1 401", 0), 0u) << bad;
  }
  EXPECT_EQ(refusals(core::Refusal::kUnauthorized), 3u);
}

TEST_F(AccessGateTest, AbsentTokenIsAdmittedThenClosed4001AtTheDeadline) {
  build_auth();
  config_.handshake_timeout_ms = 10'000;
  AccessState access;
  access.accepted_ms = 5'000;
  ws::Session& session = session_with(upgrade("/"));
  ASSERT_TRUE(gate_.admit_upgrade(session, access, 5'000));
  EXPECT_EQ(access.grant, nullptr);
  EXPECT_EQ(session.state(), ws::Session::State::kDeciding);
  const int64_t now_s = auth::unix_now_s();
  EXPECT_EQ(gate_.overdue(access, 14'999, now_s), std::nullopt);
  std::optional<AccessDeadline> deadline = gate_.overdue(access, 15'000, now_s);
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(deadline->reason, core::CloseReason::kUnauthorized);
  EXPECT_EQ(deadline->refusal, core::Refusal::kAuthTimeout);
  // An auth command in time removes the deadline.
  pubsub::Command auth_command = command(pubsub::Op::kAuth, "");
  const std::string fresh = token();
  auth_command.token = fresh;
  EXPECT_EQ(gate_.authenticate(access, auth_command), std::nullopt);
  EXPECT_EQ(gate_.overdue(access, 15'000, now_s), std::nullopt);
}

TEST_F(AccessGateTest, ExpiredGrantIsClosed4003AfterTheLeeway) {
  build_auth();
  AccessState access;
  ws::Session& session = session_with(upgrade("/?token=" + token()));
  ASSERT_TRUE(gate_.admit_upgrade(session, access, 0));
  const int64_t expires_s = access.grant->expires_s;
  EXPECT_EQ(gate_.overdue(access, 0, expires_s + auth::kLeewaySeconds), std::nullopt);
  std::optional<AccessDeadline> deadline =
      gate_.overdue(access, 0, expires_s + auth::kLeewaySeconds + 1);
  ASSERT_TRUE(deadline.has_value());
  EXPECT_EQ(deadline->reason, core::CloseReason::kTokenExpired);
  EXPECT_EQ(deadline->refusal, core::Refusal::kTokenExpired);
}

TEST_F(AccessGateTest, AuthOffAllowsEverything) {
  AccessState access;
  ws::Session& session = session_with(upgrade("/", "Origin: https://anywhere.example\r\n"));
  EXPECT_TRUE(gate_.admit_upgrade(session, access, 0));
  EXPECT_EQ(gate_.permit(access, command(pubsub::Op::kPublish, "t"), 0), std::nullopt);
  EXPECT_EQ(gate_.permit(access, command(pubsub::Op::kSubscribe, ">"), 0), std::nullopt);
  EXPECT_EQ(gate_.authenticate(access, command(pubsub::Op::kAuth, "")), std::nullopt);
  EXPECT_EQ(gate_.overdue(access, 1'000'000'000, auth::unix_now_s()), std::nullopt);
  EXPECT_TRUE(gate_.admit_http_publish(session_with(http("POST", "/publish?topic=t")), "t"));
}

TEST_F(AccessGateTest, PermissionsDenyWithAnErrorReply) {
  build_auth();
  AccessState access;
  // No grant yet: subscribe and publish are refused, unsubscribe needs none.
  std::optional<Denial> denial = gate_.permit(access, command(pubsub::Op::kSubscribe, "a"), 0);
  ASSERT_TRUE(denial.has_value());
  EXPECT_EQ(denial->code, pubsub::ErrorCode::kUnauthorized);
  EXPECT_NE(denial->text.find("authenticate first"), std::string::npos) << denial->text;
  EXPECT_EQ(gate_.permit(access, command(pubsub::Op::kUnsubscribe, "a"), 0), std::nullopt);

  pubsub::Command auth_command = command(pubsub::Op::kAuth, "");
  const std::string grant = token(R"(,"sub_allow":["a.*"],"pub_allow":["a.b"])");
  auth_command.token = grant;
  ASSERT_EQ(gate_.authenticate(access, auth_command), std::nullopt);
  EXPECT_EQ(gate_.permit(access, command(pubsub::Op::kSubscribe, "a.x"), 0), std::nullopt);
  EXPECT_EQ(gate_.permit(access, command(pubsub::Op::kPublish, "a.b"), 0), std::nullopt);
  denial = gate_.permit(access, command(pubsub::Op::kSubscribe, "b.x"), 0);
  ASSERT_TRUE(denial.has_value());
  EXPECT_EQ(denial->code, pubsub::ErrorCode::kForbidden);
  EXPECT_EQ(denial->text, "subscribe to b.x is not allowed by the token");
  denial = gate_.permit(access, command(pubsub::Op::kPublish, "a.c"), 0);
  ASSERT_TRUE(denial.has_value());
  EXPECT_EQ(denial->text, "publish to a.c is not allowed by the token");
  EXPECT_EQ(refusals(core::Refusal::kUnauthorized), 1u);
  EXPECT_EQ(refusals(core::Refusal::kForbidden), 2u);
}

TEST_F(AccessGateTest, FailedAuthCommandKeepsThePreviousGrant) {
  build_auth();
  AccessState access;
  pubsub::Command auth_command = command(pubsub::Op::kAuth, "");
  const std::string good = token(R"(,"sub_allow":["a"])");
  auth_command.token = good;
  ASSERT_EQ(gate_.authenticate(access, auth_command), std::nullopt);
  auth_command.token = "garbage";
  std::optional<Denial> denial = gate_.authenticate(access, auth_command);
  ASSERT_TRUE(denial.has_value());
  EXPECT_EQ(denial->code, pubsub::ErrorCode::kUnauthorized);
  EXPECT_EQ(denial->text, auth::token_error_text(auth::TokenError::kMalformed));
  EXPECT_EQ(gate_.permit(access, command(pubsub::Op::kSubscribe, "a"), 0), std::nullopt);
  EXPECT_EQ(refusals(core::Refusal::kUnauthorized), 1u);
}

TEST_F(AccessGateTest, PublishRateIsLimitedPerConnection) {
  config_.max_publish_rate = 2;  // the burst defaults to one second's worth
  AccessState access;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/")), access, 1'000));
  ASSERT_NE(access.publish_bucket, nullptr);
  const pubsub::Command publish = command(pubsub::Op::kPublish, "t");
  EXPECT_EQ(gate_.permit(access, publish, 1'000), std::nullopt);
  EXPECT_EQ(gate_.permit(access, publish, 1'000), std::nullopt);
  std::optional<Denial> denial = gate_.permit(access, publish, 1'000);
  ASSERT_TRUE(denial.has_value());
  EXPECT_EQ(denial->code, pubsub::ErrorCode::kRateLimited);
  // Subscribes are not rate-limited; half a second brings one publish back.
  EXPECT_EQ(gate_.permit(access, command(pubsub::Op::kSubscribe, "t"), 1'000), std::nullopt);
  EXPECT_EQ(gate_.permit(access, publish, 1'500), std::nullopt);
  EXPECT_TRUE(gate_.permit(access, publish, 1'500).has_value());
  EXPECT_EQ(refusals(core::Refusal::kPublishRate), 2u);
}

TEST_F(AccessGateTest, HttpPublishNeedsATokenThatAllowsTheTopic) {
  build_auth();
  ws::Session& none = session_with(http("POST", "/publish?topic=a"));
  EXPECT_FALSE(gate_.admit_http_publish(none, "a"));
  EXPECT_NE(none.take_output().find("401"), std::string::npos);
  ws::Session& bad = session_with(http("POST", "/publish?topic=a", "Authorization: Bearer x\r\n"));
  EXPECT_FALSE(gate_.admit_http_publish(bad, "a"));
  EXPECT_NE(bad.take_output().find("401"), std::string::npos);
  const std::string allows_a = "Authorization: Bearer " + token(R"(,"pub_allow":["a"])") + "\r\n";
  ws::Session& other = session_with(http("POST", "/publish?topic=b", allows_a));
  EXPECT_FALSE(gate_.admit_http_publish(other, "b"));
  EXPECT_NE(other.take_output().find("403"), std::string::npos);
  ws::Session& allowed = session_with(http("POST", "/publish?topic=a", allows_a));
  EXPECT_TRUE(gate_.admit_http_publish(allowed, "a"));
  EXPECT_EQ(allowed.state(), ws::Session::State::kDeciding);
  EXPECT_EQ(refusals(core::Refusal::kUnauthorized), 2u);
  EXPECT_EQ(refusals(core::Refusal::kForbidden), 1u);
}

TEST_F(AccessGateTest, AddressLimitAdmitsAndReleases) {
  auth::AccessSettings settings;
  settings.connections_per_ip_max = 1;
  build_access(settings);
  ws::Session& fresh = fresh_;
  AccessState first = from_peer("192.0.2.7");
  EXPECT_TRUE(gate_.on_peer_address(first, fresh, 0).admitted());
  EXPECT_TRUE(first.address->admitted);
  EXPECT_EQ(first.address->ip, ip("192.0.2.7"));

  // The second connection from the address is answered 429 by the worker (nothing was read),
  // through the Session once a request was, and dropped once the WebSocket is open.
  AccessState second = from_peer("192.0.2.7");
  Admission refused = gate_.on_peer_address(second, fresh, 0);
  EXPECT_EQ(refused.kind, Kind::kRespond);
  EXPECT_EQ(refused.response.rfind("HTTP/1.1 429", 0), 0u);
  EXPECT_FALSE(second.address->admitted);
  ws::Session& deciding = session_with(upgrade("/"));
  AccessState third = from_peer("192.0.2.7");
  EXPECT_EQ(gate_.on_peer_address(third, deciding, 0).kind, Kind::kAnswered);
  EXPECT_NE(deciding.take_output().find("429"), std::string::npos);
  ws::Session& open = session_with(upgrade("/"));
  open.accept();
  AccessState fourth = from_peer("192.0.2.7");
  EXPECT_EQ(gate_.on_peer_address(fourth, open, 0).kind, Kind::kClose);
  EXPECT_EQ(refusals(core::Refusal::kConnectionsPerIp), 3u);

  // Another address is not affected; releasing gives the place back, once.
  AccessState elsewhere = from_peer("192.0.2.8");
  EXPECT_TRUE(gate_.on_peer_address(elsewhere, fresh, 0).admitted());
  gate_.release_address(second, 0);  // never admitted: releases nothing
  AccessState fifth = from_peer("192.0.2.7");
  EXPECT_EQ(gate_.on_peer_address(fifth, fresh, 0).kind, Kind::kRespond);
  gate_.release_address(first, 0);
  gate_.release_address(first, 0);
  EXPECT_FALSE(first.address->admitted);
  AccessState sixth = from_peer("192.0.2.7");
  EXPECT_TRUE(gate_.on_peer_address(sixth, fresh, 0).admitted());
  AccessState seventh = from_peer("192.0.2.7");
  EXPECT_EQ(gate_.on_peer_address(seventh, fresh, 0).kind, Kind::kRespond);
}

TEST_F(AccessGateTest, ProxyHeaderSplitOverTwoReadsNamesTheClient) {
  trust_proxies(1);
  ws::Session& session = fresh_;
  AccessState access = from_proxy();
  ASSERT_FALSE(access.proxy_header_done);

  std::string first = kProxyHeader.substr(0, 10);
  ProxyInput taken = gate_.take_proxy_header(access, session, bytes(first), 0);
  EXPECT_TRUE(taken.admission.admitted());
  EXPECT_TRUE(taken.rest.empty());
  EXPECT_FALSE(access.proxy_header_done);

  const std::string request = upgrade("/");
  std::string second = kProxyHeader.substr(10) + request;
  taken = gate_.take_proxy_header(access, session, bytes(second), 0);
  EXPECT_TRUE(taken.admission.admitted());
  EXPECT_TRUE(access.proxy_header_done);
  EXPECT_EQ(text(taken.rest), request);
  EXPECT_EQ(access.address->ip, ip("192.0.2.7"));
  EXPECT_TRUE(access.address->admitted);

  // The limit counts the client the header named, not the proxy.
  AccessState again = from_proxy();
  std::string whole = kProxyHeader + request;
  taken = gate_.take_proxy_header(again, session, bytes(whole), 0);
  EXPECT_EQ(taken.admission.kind, Kind::kRespond);
  EXPECT_TRUE(taken.rest.empty());
  EXPECT_EQ(refusals(core::Refusal::kConnectionsPerIp), 1u);
}

TEST_F(AccessGateTest, MalformedProxyHeaderClosesAndPlainHttpPassesThrough) {
  trust_proxies(0);
  ws::Session& session = fresh_;
  AccessState broken = from_proxy();
  std::string version1 = kProxyHeader.substr(0, 12) + std::string("\x11\x11\x00\x0C", 4);
  ProxyInput taken = gate_.take_proxy_header(broken, session, bytes(version1), 0);
  EXPECT_EQ(taken.admission.kind, Kind::kClose);
  EXPECT_TRUE(taken.rest.empty());
  EXPECT_TRUE(broken.proxy_header_done);
  EXPECT_EQ(refusals(core::Refusal::kProxyHeader), 1u);

  // A proxy that speaks HTTP directly: the bytes go to the Session untouched.
  AccessState plain = from_proxy();
  std::string request = upgrade("/");
  taken = gate_.take_proxy_header(plain, session, bytes(request), 0);
  EXPECT_TRUE(taken.admission.admitted());
  EXPECT_EQ(text(taken.rest), upgrade("/"));
  EXPECT_TRUE(plain.proxy_header_done);
  EXPECT_EQ(refusals(core::Refusal::kProxyHeader), 1u);
}

TEST_F(AccessGateTest, ForwardedForNamesTheClientBehindAProxy) {
  trust_proxies(1);
  const std::string forwarded = "X-Forwarded-For: 198.51.100.9\r\n";
  AccessState first = from_proxy();
  EXPECT_TRUE(gate_.admit_forwarded(first, session_with(upgrade("/", forwarded)), 0).admitted());
  EXPECT_EQ(first.address->ip, ip("198.51.100.9"));
  EXPECT_TRUE(first.address->admitted);

  AccessState second = from_proxy();
  ws::Session& refused = session_with(upgrade("/", forwarded));
  EXPECT_EQ(gate_.admit_forwarded(second, refused, 0).kind, Kind::kAnswered);
  EXPECT_NE(refused.take_output().find("429"), std::string::npos);
  // Without the header it is the proxy's own request (a health check): not limited.
  AccessState health = from_proxy();
  EXPECT_TRUE(gate_.admit_forwarded(health, session_with(http("GET", "/healthz")), 0).admitted());
  EXPECT_FALSE(health.address->admitted);
}

TEST_F(AccessGateTest, OnlyTheAdminTokenReadsSysTopicsAndNobodyPublishesThere) {
  config_.admin_token = "admin-0123";
  AccessState anonymous;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/")), anonymous, 0));
  EXPECT_TRUE(gate_.permit(anonymous, command(pubsub::Op::kSubscribe, "$sys.stats"), 0));
  EXPECT_TRUE(gate_.permit(anonymous, command(pubsub::Op::kSubscribe, ">"), 0) == std::nullopt);
  std::optional<Denial> denial =
      gate_.permit(anonymous, command(pubsub::Op::kSubscribe, "$sys.>"), 0);
  ASSERT_TRUE(denial);
  EXPECT_EQ(denial->code, pubsub::ErrorCode::kForbidden);
  AccessState admin;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/?token=admin-0123")), admin, 0));
  EXPECT_FALSE(gate_.permit(admin, command(pubsub::Op::kSubscribe, "$sys.stats"), 0));
  EXPECT_FALSE(gate_.permit(admin, command(pubsub::Op::kSubscribe, "$sys.>"), 0));
  denial = gate_.permit(admin, command(pubsub::Op::kPublish, "$sys.stats"), 0);
  ASSERT_TRUE(denial);
  EXPECT_EQ(denial->code, pubsub::ErrorCode::kForbidden);
  // A browser's URLSearchParams percent-encodes a base64 token's '+', '/' and '='.
  config_.admin_token = "ad+min/0=";
  AccessState encoded;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/?token=ad%2Bmin%2f0%3D")), encoded, 0));
  EXPECT_FALSE(gate_.permit(encoded, command(pubsub::Op::kSubscribe, "$sys.stats"), 0));
  AccessState raw;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/?token=ad+min/0=")), raw, 0));
  EXPECT_FALSE(gate_.permit(raw, command(pubsub::Op::kSubscribe, "$sys.stats"), 0));
  AccessState truncated;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/?token=ad%2Bmin%2f0%3")), truncated, 0));
  EXPECT_TRUE(gate_.permit(truncated, command(pubsub::Op::kSubscribe, "$sys.stats"), 0));
  AccessState wrong;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/?token=admin-0124")), wrong, 0));
  EXPECT_TRUE(gate_.permit(wrong, command(pubsub::Op::kSubscribe, "$sys.stats"), 0));
}

TEST_F(AccessGateTest, WithAuthTheAdminTokenIsAcceptedWhereAJwtIs) {
  build_auth();
  config_.admin_token = "admin-0123";
  AccessState header;
  ASSERT_TRUE(gate_.admit_upgrade(
      session_with(upgrade("/", "Authorization: Bearer admin-0123\r\n")), header, 0));
  EXPECT_FALSE(gate_.permit(header, command(pubsub::Op::kSubscribe, "$sys.stats"), 0));
  // Only the $sys topics: the admin token is not a JWT that allows anything else.
  EXPECT_TRUE(gate_.permit(header, command(pubsub::Op::kSubscribe, "prices"), 0));
  EXPECT_FALSE(gate_.overdue(header, 0, auth::unix_now_s()));
  AccessState later;
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/")), later, 0));
  pubsub::Command auth_command;
  auth_command.op = pubsub::Op::kAuth;
  auth_command.token = "admin-0123";
  EXPECT_FALSE(gate_.authenticate(later, auth_command));
  EXPECT_FALSE(gate_.permit(later, command(pubsub::Op::kSubscribe, "$sys.topics"), 0));
  // A JWT allowing every topic does not reach $sys.
  AccessState ordinary;
  const std::string jwt = token(",\"sub_allow\":[\">\"],\"pub_allow\":[\">\"]");
  ASSERT_TRUE(gate_.admit_upgrade(session_with(upgrade("/?token=" + jwt)), ordinary, 0));
  ASSERT_TRUE(ordinary.grant);
  EXPECT_FALSE(ordinary.grant->admin);
  EXPECT_FALSE(gate_.permit(ordinary, command(pubsub::Op::kSubscribe, "prices.>"), 0));
  EXPECT_TRUE(gate_.permit(ordinary, command(pubsub::Op::kSubscribe, "$sys.>"), 0));
  EXPECT_TRUE(gate_.permit(ordinary, command(pubsub::Op::kPublish, "$sys.stats"), 0));
}

}  // namespace
}  // namespace herald::broker::net
