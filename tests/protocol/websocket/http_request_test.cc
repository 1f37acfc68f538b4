// The HTTP/1.1 request parser (RFC 9112) and the plain response builder: byte literals in,
// requests or error statuses out, whole and one byte at a time.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/websocket/handshake.h"

namespace herald::protocol::websocket {
namespace {

using Status = RequestParser::Status;
using std::string_view_literals::operator""sv;

std::span<const uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

constexpr std::string_view kPlainGet =
    "GET /metrics?format=text&x=1 HTTP/1.1\r\n"
    "Host: broker.example\r\n"
    "User-Agent:  curl/8.0\t \r\n"
    "Accept: */*\r\n"
    "X-Twice: one\r\n"
    "x-twice: two\r\n"
    "\r\n";

TEST(RequestParserTest, ParsesAPlainGet) {
  RequestParser parser;
  EXPECT_EQ(parser.feed(bytes_of(kPlainGet)), kPlainGet.size());
  ASSERT_EQ(parser.status(), Status::kComplete);
  const HttpRequest& request = parser.request();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/metrics?format=text&x=1");
  EXPECT_EQ(request.path(), "/metrics");
  EXPECT_EQ(request.query(), "format=text&x=1");
  ASSERT_EQ(request.headers.size(), 5U);
  EXPECT_EQ(request.headers[0].first, "host");
  EXPECT_EQ(request.header("user-agent"), "curl/8.0");
  EXPECT_EQ(request.header("X-Twice"), "one");
  EXPECT_EQ(request.headers[4], (std::pair<std::string, std::string>{"x-twice", "two"}));
  EXPECT_EQ(request.header("absent"), "");
  EXPECT_TRUE(request.body.empty());
  EXPECT_FALSE(request.wants_websocket());
}

TEST(RequestParserTest, PathWithoutQuery) {
  RequestParser parser;
  const std::string_view text = "GET /a/b HTTP/1.1\r\nHost: h\r\n\r\n";
  parser.feed(bytes_of(text));
  ASSERT_EQ(parser.status(), Status::kComplete);
  EXPECT_EQ(parser.request().path(), "/a/b");
  EXPECT_EQ(parser.request().query(), "");
}

TEST(RequestParserTest, OneByteAtATimeTakesEveryByteAndCollectsTheBody) {
  const std::string_view text =
      "POST /publish HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
  RequestParser parser(kHeaderBytesMax, 64);
  for (size_t i = 0; i < text.size(); ++i) {
    ASSERT_EQ(parser.status(), Status::kNeedMore) << "at byte " << i;
    ASSERT_EQ(parser.feed(bytes_of(text.substr(i, 1))), 1U) << "at byte " << i;
  }
  ASSERT_EQ(parser.status(), Status::kComplete);
  EXPECT_EQ(parser.request().method, "POST");
  EXPECT_EQ(parser.request().body, "hello world");
  EXPECT_EQ(parser.feed(bytes_of("x")), 0U);
}

TEST(RequestParserTest, PipelinedBytesAfterTheRequestAreNotConsumed) {
  const std::string first = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string with_body = "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  const std::string next = "GET /three HTTP/1.1\r\nHost: h\r\n\r\n";
  for (const std::string& request : {first, with_body}) {
    RequestParser parser(kHeaderBytesMax, 16);
    const std::string stream = request + next;
    EXPECT_EQ(parser.feed(bytes_of(stream)), request.size());
    EXPECT_EQ(parser.status(), Status::kComplete);
    EXPECT_EQ(parser.feed(bytes_of(next)), 0U);
  }
}

TEST(RequestParserTest, BodySplitAcrossFeeds) {
  RequestParser parser(kHeaderBytesMax, 16);
  const std::string_view head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\n";
  EXPECT_EQ(parser.feed(bytes_of(std::string(head) + "ab")), head.size() + 2);
  EXPECT_EQ(parser.status(), Status::kNeedMore);
  EXPECT_EQ(parser.feed(bytes_of("cd")), 2U);
  EXPECT_EQ(parser.feed(bytes_of("efGET")), 2U);
  ASSERT_EQ(parser.status(), Status::kComplete);
  EXPECT_EQ(parser.take_request().body, "abcdef");
}

TEST(RequestParserTest, RepeatedEqualContentLengthsAreOne) {
  RequestParser parser(kHeaderBytesMax, 16);
  parser.feed(
      bytes_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 002\r\n\r\nok"));
  ASSERT_EQ(parser.status(), Status::kComplete);
  EXPECT_EQ(parser.request().body, "ok");
}

TEST(RequestParserTest, ZeroContentLengthCompletesAtTheHead) {
  RequestParser parser;
  const std::string_view text = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\nnext";
  EXPECT_EQ(parser.feed(bytes_of(text)), text.size() - 4);
  EXPECT_EQ(parser.status(), Status::kComplete);
}

struct ErrorCase {
  std::string_view name;
  std::string_view request;
  int status;
};

// One byte literal per error class; each is also fed a byte at a time.
constexpr ErrorCase kErrorCases[] = {
    {"bare LF in a field", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
    {"bare LF ending the head", "GET / HTTP/1.1\r\nHost: h\r\n\n", 400},
    {"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n  b\r\n\r\n", 400},
    {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
    {"empty field name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400},
    {"no colon", "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400},
    {"NUL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n"sv, 400},
    {"bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400},
    {"DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 400},
    {"garbage request line", "HELLO\r\nHost: h\r\n\r\n", 400},
    {"empty request line", "\r\n\r\n", 400},
    {"double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
    {"method not a token", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
    {"absolute-form target", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
    {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
    {"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
    {"garbage version", "GET / HTTP/one\r\nHost: h\r\n\r\n", 400},
    {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
    {"missing Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
    {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"signed Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx", 400},
    {"Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx", 400},
    {"empty Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400},
    {"conflicting Content-Length",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 400},
    {"body too large", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", 413},
    {"length past 64 bits",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413},
    {"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
    {"Transfer-Encoding with Content-Length",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
    {"HTTP/1.0", "GET / HTTP/1.0\r\nHost: h\r\n\r\n", 505},
    {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
};

TEST(RequestParserTest, EveryErrorClassHasItsStatus) {
  for (const ErrorCase& error : kErrorCases) {
    RequestParser whole(kHeaderBytesMax, 16);
    whole.feed(bytes_of(error.request));
    ASSERT_EQ(whole.status(), Status::kError) << error.name;
    EXPECT_EQ(whole.error_status(), error.status) << error.name;
    EXPECT_FALSE(whole.error_reason().empty()) << error.name;
    EXPECT_EQ(whole.feed(bytes_of("GET / HTTP/1.1\r\n")), 0U) << error.name;

    RequestParser bytewise(kHeaderBytesMax, 16);
    for (size_t i = 0; i < error.request.size() && bytewise.status() == Status::kNeedMore; ++i) {
      bytewise.feed(bytes_of(error.request.substr(i, 1)));
    }
    EXPECT_EQ(bytewise.status(), Status::kError) << error.name;
    EXPECT_EQ(bytewise.error_status(), error.status) << error.name;
  }
}

TEST(RequestParserTest, BareLfIsRefusedBeforeTheHeadEnds) {
  RequestParser parser;
  EXPECT_EQ(parser.feed(bytes_of("GET / HTTP/1.1\nHost")), 15U);
  EXPECT_EQ(parser.status(), Status::kError);
  EXPECT_EQ(parser.error_status(), 400);
}

std::string request_of_head_bytes(size_t head_bytes) {
  const std::string start = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  return start + std::string(head_bytes - start.size() - end.size(), 'p') + end;
}

TEST(RequestParserTest, HeadAtTheLimitIsAcceptedOneMoreByteIs431) {
  const std::string at_limit = request_of_head_bytes(kHeaderBytesMax);
  RequestParser accepted;
  EXPECT_EQ(accepted.feed(bytes_of(at_limit)), at_limit.size());
  EXPECT_EQ(accepted.status(), Status::kComplete);

  const std::string over = request_of_head_bytes(kHeaderBytesMax + 1);
  RequestParser refused;
  EXPECT_EQ(refused.feed(bytes_of(over)), kHeaderBytesMax);
  ASSERT_EQ(refused.status(), Status::kError);
  EXPECT_EQ(refused.error_status(), 431);

  RequestParser small_limit(64);
  for (size_t i = 0; i < 64; ++i) {
    ASSERT_EQ(small_limit.status(), Status::kNeedMore);
    small_limit.feed(bytes_of("a"));
  }
  EXPECT_EQ(small_limit.error_status(), 431);
}

TEST(RequestParserTest, TooManyHeaderFieldsIs431) {
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 200; ++i) text += "a: b\r\n";
  text += "\r\n";
  RequestParser parser;
  parser.feed(bytes_of(text));
  ASSERT_EQ(parser.status(), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

TEST(RequestParserTest, AValueMayCarryObsText) {
  RequestParser parser;
  parser.feed(bytes_of("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n"));
  ASSERT_EQ(parser.status(), Status::kComplete);
  EXPECT_EQ(parser.request().header("x-name"), "caf\xc3\xa9");
}

TEST(HttpRequestTest, WantsWebsocketFindsTheTokenInAnyCaseAndList) {
  HttpRequest request;
  EXPECT_FALSE(request.wants_websocket());
  request.headers = {{"upgrade", "foo, WebSocket"}};
  EXPECT_TRUE(request.wants_websocket());
  request.headers = {{"upgrade", "h2c"}, {"upgrade", " ,websocket ,"}};
  EXPECT_TRUE(request.wants_websocket());
  request.headers = {{"upgrade", "websockets, web socket"}};
  EXPECT_FALSE(request.wants_websocket());
  request.headers = {{"connection", "websocket"}};
  EXPECT_FALSE(request.wants_websocket());
}

TEST(HttpRequestTest, AKeyMakesAHandshakeAttemptEvenWithABrokenUpgrade) {
  // So that validate_upgrade() answers 400 instead of the plain-HTTP route answering 404.
  HttpRequest request;
  request.method = "GET";
  request.target = "/";
  request.headers = {{"host", "h"},
                     {"upgrade", "h2c"},
                     {"connection", "Upgrade"},
                     {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                     {"sec-websocket-version", "13"}};
  EXPECT_TRUE(request.wants_websocket());
  EXPECT_EQ(validate_upgrade(request, {}).status, 400);
}

TEST(HttpRequestTest, ListHasToken) {
  EXPECT_TRUE(list_has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(list_has_token("UPGRADE", "upgrade"));
  EXPECT_TRUE(list_has_token(",,\tupgrade\t,", "upgrade"));
  EXPECT_FALSE(list_has_token("keep-alive", "upgrade"));
  EXPECT_FALSE(list_has_token("upgraded, xupgrade", "upgrade"));
  EXPECT_FALSE(list_has_token("", "upgrade"));
}

TEST(HttpResponseTest, StatusTexts) {
  EXPECT_EQ(http_status_text(101), "Switching Protocols");
  EXPECT_EQ(http_status_text(200), "OK");
  EXPECT_EQ(http_status_text(204), "No Content");
  EXPECT_EQ(http_status_text(400), "Bad Request");
  EXPECT_EQ(http_status_text(401), "Unauthorized");
  EXPECT_EQ(http_status_text(403), "Forbidden");
  EXPECT_EQ(http_status_text(404), "Not Found");
  EXPECT_EQ(http_status_text(405), "Method Not Allowed");
  EXPECT_EQ(http_status_text(408), "Request Timeout");
  EXPECT_EQ(http_status_text(411), "Length Required");
  EXPECT_EQ(http_status_text(413), "Content Too Large");
  EXPECT_EQ(http_status_text(426), "Upgrade Required");
  EXPECT_EQ(http_status_text(429), "Too Many Requests");
  EXPECT_EQ(http_status_text(431), "Request Header Fields Too Large");
  EXPECT_EQ(http_status_text(500), "Internal Server Error");
  EXPECT_EQ(http_status_text(501), "Not Implemented");
  EXPECT_EQ(http_status_text(503), "Service Unavailable");
  EXPECT_EQ(http_status_text(505), "HTTP Version Not Supported");
  EXPECT_EQ(http_status_text(299), "");
}

TEST(HttpResponseTest, BuildsAWholeResponse) {
  const std::string extra[] = {"Retry-After: 5", "X-A: b"};
  EXPECT_EQ(build_http_response(503, "text/plain", "busy\n", extra),
            "HTTP/1.1 503 Service Unavailable\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 5\r\n"
            "Connection: close\r\n"
            "Retry-After: 5\r\n"
            "X-A: b\r\n"
            "\r\n"
            "busy\n");
  EXPECT_EQ(build_http_response(404, "", ""),
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(HttpResponseTest, NoContentResponsesCarryNoLengthOrBody) {
  EXPECT_EQ(build_http_response(204, "text/plain", "ignored"),
            "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
}

}  // namespace
}  // namespace herald::protocol::websocket
