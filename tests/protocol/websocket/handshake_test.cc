// The opening handshake (RFC 6455 §4): the §1.3 example byte for byte, the §4.2.1 checks and
// their statuses, subprotocol choice, and the client's request and ResponseParser.
#include "protocol/websocket/handshake.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tests/protocol/websocket/rfc6455_examples.h"

namespace herald::protocol::websocket {
namespace {

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

using examples::kRfcKey;
using examples::kRfcRequest;
using examples::kRfcResponse;

HttpRequest parse(std::string_view text) {
  RequestParser parser;
  EXPECT_EQ(parser.feed(bytes_of(text)), text.size());
  EXPECT_EQ(parser.status(), RequestParser::Status::kComplete) << parser.error_reason();
  return parser.take_request();
}

UpgradeDecision decide(std::string_view text, std::span<const std::string> subprotocols = {}) {
  return validate_upgrade(parse(text), subprotocols);
}

TEST(HandshakeTest, AcceptKeyOfTheRfcExample) {
  EXPECT_EQ(accept_key(kRfcKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(HandshakeTest, RfcExampleRequestGetsTheRfcExampleResponse) {
  const std::string subprotocols[] = {"chat"};
  RequestParser parser;
  for (size_t i = 0; i < kRfcRequest.size(); ++i) {
    ASSERT_EQ(parser.status(), RequestParser::Status::kNeedMore) << "at byte " << i;
    ASSERT_EQ(parser.feed(bytes_of(kRfcRequest.substr(i, 1))), 1U) << "at byte " << i;
  }
  ASSERT_EQ(parser.status(), RequestParser::Status::kComplete);
  const HttpRequest& request = parser.request();
  EXPECT_TRUE(request.wants_websocket());
  EXPECT_EQ(request.header("origin"), "http://example.com");
  const UpgradeDecision decision = validate_upgrade(request, subprotocols);
  ASSERT_EQ(decision.status, 101) << decision.reason;
  EXPECT_EQ(decision.subprotocol, "chat");
  EXPECT_EQ(build_upgrade_response(request.header("sec-websocket-key"), decision.subprotocol),
            kRfcResponse);
}

TEST(HandshakeTest, SubprotocolFollowsServerPreference) {
  const std::string_view text =
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Protocol: a.v1, b.v1\r\nSec-WebSocket-Protocol: c.v1,,\r\n\r\n";
  const std::string prefer_c[] = {"x", "c.v1", "a.v1"};
  EXPECT_EQ(decide(text, prefer_c).subprotocol, "c.v1");
  const std::string prefer_b[] = {"b.v1", "a.v1"};
  EXPECT_EQ(decide(text, prefer_b).subprotocol, "b.v1");
  // Subprotocol names are compared exactly: the client checks our choice against its own.
  const std::string other_case[] = {"A.V1"};
  EXPECT_EQ(decide(text, other_case).subprotocol, "");
}

TEST(HandshakeTest, NoCommonSubprotocolStillAcceptsWithoutTheField) {
  const std::string server[] = {"superchat.v2"};
  const UpgradeDecision decision = decide(kRfcRequest, server);
  EXPECT_EQ(decision.status, 101);
  EXPECT_EQ(decision.subprotocol, "");
  const std::string response = build_upgrade_response(kRfcKey, decision.subprotocol);
  EXPECT_EQ(response.find("Sec-WebSocket-Protocol"), std::string::npos);
  EXPECT_EQ(decide(kRfcRequest).status, 101);
}

TEST(HandshakeTest, TokensInListsAnyCase) {
  const UpgradeDecision decision = decide(
      "GET /ws HTTP/1.1\r\nhost: h\r\nUPGRADE: foo/1, WebSocket\r\n"
      "connection: keep-alive\r\nConnection: keep-alive,  UpGrade \r\n"
      "sec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n");
  EXPECT_EQ(decision.status, 101) << decision.reason;
}

struct RefusalCase {
  std::string_view name;
  std::string_view request;
  int status;
};

constexpr RefusalCase kRefusals[] = {
    {"POST",
     "POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     405},
    {"no Upgrade",
     "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"Connection without upgrade",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, upgraded\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"no Connection",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"no key",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"two keys",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"key of 15 bytes",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"key of 21 bytes",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXNhbXBs\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"key without padding",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"key with pad bits set",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"key with the low pad bit set",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZE==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"key outside the alphabet",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"version 8",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
     426},
    {"no version",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
     426},
    {"two versions",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Version: 8\r\n\r\n",
     426},
};

TEST(HandshakeTest, EveryRefusalHasItsStatus) {
  for (const RefusalCase& refusal : kRefusals) {
    const UpgradeDecision decision = decide(refusal.request);
    EXPECT_EQ(decision.status, refusal.status) << refusal.name;
    EXPECT_FALSE(decision.reason.empty()) << refusal.name;
    EXPECT_EQ(decision.subprotocol, "") << refusal.name;
  }
}

TEST(HandshakeTest, HostIsCheckedOnRequestsBuiltByHand) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/";
  request.headers = {{"upgrade", "websocket"},
                     {"connection", "Upgrade"},
                     {"sec-websocket-key", std::string(kRfcKey)},
                     {"sec-websocket-version", "13"}};
  EXPECT_EQ(validate_upgrade(request, {}).status, 400);
  request.headers.emplace_back("host", "h");
  EXPECT_EQ(validate_upgrade(request, {}).status, 101);
  request.headers.emplace_back("host", "h");
  EXPECT_EQ(validate_upgrade(request, {}).status, 400);
}

TEST(HandshakeTest, RefusalsCarryTheHeadersTheirStatusNeeds) {
  const std::string version = build_upgrade_refusal({426, "Sec-WebSocket-Version must be 13", {}});
  EXPECT_TRUE(version.starts_with("HTTP/1.1 426 Upgrade Required\r\n")) << version;
  EXPECT_NE(version.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos) << version;
  EXPECT_TRUE(version.ends_with("\r\n\r\nSec-WebSocket-Version must be 13\n")) << version;

  const std::string method = build_upgrade_refusal({405, "use GET", {}});
  EXPECT_EQ(method,
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 8\r\n"
            "Connection: close\r\n"
            "Allow: GET\r\n"
            "\r\n"
            "use GET\n");

  const std::string bad = build_upgrade_refusal({400, "bad key", {}});
  EXPECT_TRUE(bad.starts_with("HTTP/1.1 400 Bad Request\r\n")) << bad;
  EXPECT_EQ(bad.find("Sec-WebSocket-Version"), std::string::npos) << bad;
  EXPECT_EQ(bad.find("Allow"), std::string::npos) << bad;
}

TEST(HandshakeTest, BuildsTheClientRequest) {
  EXPECT_EQ(build_upgrade_request("h:8080", "/ws?t=1", kRfcKey, "chat, superchat"),
            "GET /ws?t=1 HTTP/1.1\r\n"
            "Host: h:8080\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: chat, superchat\r\n"
            "\r\n");
  EXPECT_EQ(build_upgrade_request("h", "/", kRfcKey).find("Sec-WebSocket-Protocol"),
            std::string::npos);
}

TEST(HandshakeTest, FreshKeysAreValidAndDiffer) {
  const std::string first = make_sec_websocket_key();
  const std::string second = make_sec_websocket_key();
  EXPECT_EQ(first.size(), 24U);
  EXPECT_NE(first, second);
  EXPECT_EQ(decide(build_upgrade_request("h", "/", first)).status, 101);
}

TEST(ResponseParserTest, RoundTripAgainstTheServerAnswerOneByteAtATime) {
  const std::string key = make_sec_websocket_key();
  const std::string server[] = {"v1.herald", "v2.herald"};
  const UpgradeDecision decision =
      decide(build_upgrade_request("h:1", "/ws", key, "v2.herald, v1.herald"), server);
  ASSERT_EQ(decision.status, 101) << decision.reason;
  ASSERT_EQ(decision.subprotocol, "v1.herald");

  const std::string response = build_upgrade_response(key, decision.subprotocol);
  const std::string stream = response + "\x81\x02hi";  // the server's first frame follows
  ResponseParser parser(key);
  size_t consumed = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    consumed += parser.feed(bytes_of(std::string_view(stream).substr(i, 1)));
  }
  EXPECT_EQ(consumed, response.size());
  EXPECT_EQ(parser.status(), ResponseParser::Status::kAccepted);
  EXPECT_EQ(parser.http_status(), 101);
  EXPECT_EQ(parser.subprotocol(), "v1.herald");
}

TEST(ResponseParserTest, AcceptsTheRfcExample) {
  ResponseParser parser{std::string(kRfcKey)};
  EXPECT_EQ(parser.feed(bytes_of(kRfcResponse)), kRfcResponse.size());
  EXPECT_EQ(parser.status(), ResponseParser::Status::kAccepted);
  EXPECT_EQ(parser.subprotocol(), "chat");
}

TEST(ResponseParserTest, AWrongAcceptIsRejected) {
  ResponseParser parser(make_sec_websocket_key());
  EXPECT_EQ(parser.feed(bytes_of(kRfcResponse)), kRfcResponse.size());
  EXPECT_EQ(parser.status(), ResponseParser::Status::kRejected);
  EXPECT_EQ(parser.http_status(), 101);
  EXPECT_EQ(parser.feed(bytes_of(kRfcResponse)), 0U);
}

TEST(ResponseParserTest, ARefusalIsRejectedWithItsStatusAndItsBodyLeftAlone) {
  const std::string refusal = build_upgrade_refusal({426, "version", {}});
  const size_t head_bytes = refusal.find("\r\n\r\n") + 4;
  ResponseParser parser{std::string(kRfcKey)};
  EXPECT_EQ(parser.feed(bytes_of(refusal)), head_bytes);
  EXPECT_EQ(parser.status(), ResponseParser::Status::kRejected);
  EXPECT_EQ(parser.http_status(), 426);
}

struct BadAnswer {
  std::string_view name;
  std::string_view head;
  int http_status;
};

constexpr BadAnswer kBadAnswers[] = {
    {"no Upgrade",
     "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
     101},
    {"no Connection",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
     101},
    {"no Accept",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 101},
    {"two Accepts",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
     101},
    {"an extension we did not offer",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
     "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
     101},
    {"a list of subprotocols",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
     "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
     101},
    {"obs-fold",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n  , x\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
     101},
    {"200", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200},
    {"HTTP/1.0", "HTTP/1.0 101 Switching Protocols\r\n\r\n", 0},
    {"no status code", "HTTP/1.1 abc\r\n\r\n", 0},
    {"long status code", "HTTP/1.1 1010 Switching\r\n\r\n", 0},
    {"bare LF", "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n", 0},
};

TEST(ResponseParserTest, EveryBadAnswerIsRejected) {
  for (const BadAnswer& answer : kBadAnswers) {
    ResponseParser parser{std::string(kRfcKey)};
    parser.feed(bytes_of(answer.head));
    EXPECT_EQ(parser.status(), ResponseParser::Status::kRejected) << answer.name;
    EXPECT_EQ(parser.http_status(), answer.http_status) << answer.name;
  }
}

TEST(HandshakeTest, BuildsTheClientRequestWithAnExtensionOffer) {
  EXPECT_EQ(build_upgrade_request("h", "/", kRfcKey, "herald.v1",
                                  "permessage-deflate; client_max_window_bits"),
            "GET / HTTP/1.1\r\n"
            "Host: h\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: herald.v1\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            "\r\n");
}

TEST(ResponseParserTest, AfterAnOfferTheExtensionsAreKeptForTheCaller) {
  constexpr std::string_view kHead =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
      "Sec-WebSocket-Extensions: x-other\r\n\r\n";
  ResponseParser parser{std::string(kRfcKey), true};
  EXPECT_EQ(parser.feed(bytes_of(kHead)), kHead.size());
  EXPECT_EQ(parser.status(), ResponseParser::Status::kAccepted);
  EXPECT_EQ(parser.extensions(), "permessage-deflate; server_no_context_takeover, x-other");
  // Without the offer the same answer fails (§4.1), and an answer without the field is empty.
  ResponseParser no_offer{std::string(kRfcKey)};
  no_offer.feed(bytes_of(kHead));
  EXPECT_EQ(no_offer.status(), ResponseParser::Status::kRejected);
  ResponseParser plain{std::string(kRfcKey), true};
  plain.feed(bytes_of(kRfcResponse));
  EXPECT_EQ(plain.status(), ResponseParser::Status::kAccepted);
  EXPECT_EQ(plain.extensions(), "");
}

TEST(ResponseParserTest, AHeadPastTheLimitIsRejected) {
  ResponseParser parser{std::string(kRfcKey)};
  const std::string endless = "HTTP/1.1 101 Switching Protocols\r\nX: " + std::string(10000, 'a');
  EXPECT_EQ(parser.feed(bytes_of(endless)), kHeaderBytesMax);
  EXPECT_EQ(parser.status(), ResponseParser::Status::kRejected);
}

}  // namespace
}  // namespace herald::protocol::websocket
