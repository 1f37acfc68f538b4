// The server session end to end in byte literals: the RFC 6455 §1.3 handshake, messages,
// ping/pong (§5.5.2), both directions of the closing handshake (§7), refused handshakes and
// permessage-deflate (RFC 7692).
#include "protocol/websocket/session.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/websocket/deflate.h"
#include "tests/protocol/websocket/rfc6455_examples.h"

namespace herald::protocol::websocket {
namespace {

using Bytes = std::vector<uint8_t>;
using Kind = Session::Event::Kind;

using examples::kRfcRequest;
using examples::kRfcResponse;

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

std::string text_of(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A client frame masked with the §5.7 example key, masked here independently of unmask().
Bytes masked(Opcode opcode, std::string_view payload, bool fin = true) {
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  uint32_t key_word = 0;
  std::memcpy(&key_word, key, 4);
  Bytes frame(kClientFrameHeaderBytesMax);
  frame.resize(write_masked_frame_header(frame.data(), opcode, payload.size(), key_word, fin));
  for (size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<uint8_t>(payload[i]) ^ key[i % 4]);
  }
  return frame;
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() { config_.subprotocols = {"chat"}; }

  // Keeps `bytes` alive for the session (it unmasks in place) and hands them over.
  void receive(Bytes bytes) {
    reads_.push_back(std::move(bytes));
    session_->receive(reads_.back());
  }
  Session::Event next() { return session_->next_event(); }

  // Completes the §1.3 handshake and checks the exact 101 response.
  void open() {
    receive(bytes_of(kRfcRequest));
    Session::Event event = next();
    ASSERT_EQ(event.kind, Kind::kUpgradeRequest);
    session_->accept();
    ASSERT_EQ(session_->take_output(), kRfcResponse);
    ASSERT_EQ(next().kind, Kind::kNeedMore);
    ASSERT_EQ(session_->state(), Session::State::kOpen);
  }

  SessionConfig config_;
  std::unique_ptr<Session> session_ = std::make_unique<Session>(config_);
  std::vector<Bytes> reads_;
};

TEST_F(SessionTest, RfcHandshakeThenText) {
  receive(bytes_of(kRfcRequest));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kUpgradeRequest);
  EXPECT_EQ(session_->state(), Session::State::kDeciding);
  EXPECT_EQ(session_->request().path(), "/chat");
  EXPECT_EQ(session_->request().header("origin"), "http://example.com");
  EXPECT_EQ(session_->subprotocol(), "chat");
  EXPECT_EQ(next().kind, Kind::kNeedMore);  // waits for the decision
  EXPECT_FALSE(session_->has_output());
  session_->accept();
  EXPECT_EQ(session_->take_output(), kRfcResponse);
  EXPECT_TRUE(session_->can_send());

  receive({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  event = next();
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), "Hello");
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  EXPECT_FALSE(session_->has_output());
}

TEST_F(SessionTest, HandshakeArrivingOneByteAtATime) {
  for (char c : kRfcRequest) {
    EXPECT_EQ(session_->state(), Session::State::kHandshake);
    receive({static_cast<uint8_t>(c)});
    Session::Event event = next();
    if (event.kind == Kind::kUpgradeRequest) break;
    ASSERT_EQ(event.kind, Kind::kNeedMore);
  }
  ASSERT_EQ(session_->state(), Session::State::kDeciding);
  session_->accept();
  EXPECT_EQ(session_->take_output(), kRfcResponse);
}

TEST_F(SessionTest, SendsUnmaskedFrames) {
  open();
  session_->send_text(bytes_of("Hello"));
  session_->send_binary(Bytes(256, 0xAB));
  session_->send_ping(bytes_of("hi"));
  std::string expected = "\x81\x05Hello";
  expected += std::string("\x82\x7E\x01\x00", 4) + std::string(256, '\xAB');
  expected += "\x89\x02hi";
  EXPECT_EQ(session_->take_output(), expected);
  EXPECT_FALSE(session_->has_output());
}

TEST_F(SessionTest, PingIsAnsweredWithTheSamePayload) {
  open();
  receive(masked(Opcode::kPing, "Hello"));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kPing);
  EXPECT_EQ(text_of(event.payload), "Hello");
  EXPECT_EQ(session_->take_output(), "\x8A\x05Hello");
  receive(masked(Opcode::kPong, "beat"));
  event = next();
  ASSERT_EQ(event.kind, Kind::kPong);
  EXPECT_EQ(text_of(event.payload), "beat");
  EXPECT_FALSE(session_->has_output());
}

TEST_F(SessionTest, FragmentedBinaryWithInterleavedPing) {
  open();
  receive(concat({masked(Opcode::kBinary, "ab", false), masked(Opcode::kPing, ""),
                  masked(Opcode::kContinuation, "cd")}));
  EXPECT_EQ(next().kind, Kind::kPing);
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kBinary);
  EXPECT_EQ(text_of(event.payload), "abcd");
  EXPECT_EQ(session_->take_output(), std::string("\x8A\x00", 2));
}

TEST_F(SessionTest, PeerStartsTheClosingHandshake) {
  open();
  receive(concat({masked(Opcode::kClose,
                         "\x03\xE8"
                         "bye"),
                  masked(Opcode::kText, "late")}));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kClosed);
  EXPECT_EQ(event.code, CloseCode::kNormal);
  EXPECT_EQ(event.http_status, 0);
  EXPECT_EQ(session_->state(), Session::State::kClosed);
  // §5.5.1: the echo carries the peer's code; nothing after the peer's Close is read.
  EXPECT_EQ(session_->take_output(), "\x88\x02\x03\xE8");
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  receive(masked(Opcode::kText, "ignored"));
  EXPECT_EQ(next().kind, Kind::kNeedMore);
}

TEST_F(SessionTest, PeerCloseWithoutCodeIsAnsweredWithoutCode) {
  open();
  receive(masked(Opcode::kClose, ""));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kClosed);
  EXPECT_EQ(event.code, CloseCode::kNoStatus);
  // 1005 only stands for "no code": it never goes on the wire (§7.4.1).
  EXPECT_EQ(session_->take_output(), std::string("\x88\x00", 2));
}

TEST_F(SessionTest, WeStartTheClosingHandshake) {
  open();
  session_->close(CloseCode::kGoingAway, "shutdown");
  EXPECT_EQ(session_->state(), Session::State::kClosing);
  EXPECT_FALSE(session_->can_send());
  EXPECT_EQ(session_->take_output(), "\x88\x0A\x03\xE9shutdown");
  session_->close(CloseCode::kNormal);  // no effect once closing
  EXPECT_FALSE(session_->has_output());
  // Data and pings after our Close are discarded: nothing may follow our Close.
  receive(concat({masked(Opcode::kText, "late"), masked(Opcode::kPing, "p"),
                  masked(Opcode::kClose, "\x03\xE8")}));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kClosed);
  EXPECT_EQ(event.code, CloseCode::kNormal);
  EXPECT_EQ(session_->state(), Session::State::kClosed);
  EXPECT_FALSE(session_->has_output());
}

TEST_F(SessionTest, ViolationWhileClosingEndsWithoutASecondClose) {
  open();
  session_->close(CloseCode::kNormal);
  EXPECT_EQ(session_->take_output(), "\x88\x02\x03\xE8");
  receive(bytes_of("\x81\x01x"));  // unmasked
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kClosed);
  EXPECT_EQ(event.code, CloseCode::kProtocolError);
  EXPECT_FALSE(session_->has_output());
}

TEST_F(SessionTest, CloseReasonIsCutAtACodePointBoundary) {
  open();
  std::string reason(122, 'a');
  reason += "\xC3\xA9";  // 124 bytes: the cut at 123 would split "é"
  session_->close(CloseCode::kPolicyViolation, reason);
  std::string expected = "\x88\x7C\x03\xF0" + std::string(122, 'a');
  EXPECT_EQ(session_->take_output(), expected);
}

TEST_F(SessionTest, ViolationsFailTheConnectionWithTheirCode) {
  struct Case {
    Bytes input;
    CloseCode code;
    std::string_view close_frame;
  };
  std::vector<Case> cases = {
      {bytes_of("\x81\x05Hello"), CloseCode::kProtocolError, "\x88\x02\x03\xEA"},
      {masked(Opcode::kText, "\xC0\xAF"), CloseCode::kInvalidPayload, "\x88\x02\x03\xEF"},
      {masked(Opcode::kBinary, std::string(11, 'x')), CloseCode::kMessageTooBig,
       "\x88\x02\x03\xF1"},
  };
  config_.message_bytes_max = 10;
  for (const Case& test : cases) {
    session_ = std::make_unique<Session>(config_);
    open();
    receive(test.input);
    Session::Event event = next();
    ASSERT_EQ(event.kind, Kind::kClosed);
    EXPECT_EQ(event.code, test.code);
    EXPECT_EQ(session_->state(), Session::State::kClosed);
    EXPECT_EQ(session_->take_output(), test.close_frame);
    EXPECT_EQ(next().kind, Kind::kNeedMore);
  }
}

TEST_F(SessionTest, VersionTwelveGets426) {
  std::string request(kRfcRequest);
  request.replace(request.find("Version: 13"), 11, "Version: 12");
  receive(bytes_of(request));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kClosed);
  EXPECT_EQ(event.http_status, 426);
  EXPECT_EQ(session_->state(), Session::State::kClosed);
  std::string output = session_->take_output();
  EXPECT_EQ(output.rfind("HTTP/1.1 426 ", 0), 0u) << output;
  EXPECT_NE(output.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos) << output;
  EXPECT_EQ(next().kind, Kind::kNeedMore);
}

TEST_F(SessionTest, MalformedRequestGetsAnHttpError) {
  receive(bytes_of("GARBAGE\r\n\r\n"));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kClosed);
  EXPECT_GE(event.http_status, 400);
  EXPECT_EQ(session_->take_output().rfind("HTTP/1.1 " + std::to_string(event.http_status), 0), 0u);
}

TEST_F(SessionTest, BytesPipelinedAfterTheRequest) {
  // Decided at once: the frames are parsed from the caller's buffer.
  receive(concat({bytes_of(kRfcRequest), masked(Opcode::kText, "early")}));
  ASSERT_EQ(next().kind, Kind::kUpgradeRequest);
  session_->accept();
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), "early");
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  EXPECT_EQ(session_->take_output(), kRfcResponse);
}

TEST_F(SessionTest, BytesPipelinedWhileTheCallerDecides) {
  // Decided later: the session keeps the early bytes, and later reads, in order.
  Bytes frame = masked(Opcode::kText, "early");
  receive(concat({bytes_of(kRfcRequest), Bytes(frame.begin(), frame.begin() + 4)}));
  ASSERT_EQ(next().kind, Kind::kUpgradeRequest);
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  reads_.clear();  // the caller reuses its buffers after kNeedMore
  Bytes rest(frame.begin() + 4, frame.end());
  session_->receive(rest);
  rest.assign(rest.size(), 0);
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  EXPECT_EQ(session_->buffered_bytes(), frame.size());
  session_->accept();
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), "early");
  EXPECT_EQ(next().kind, Kind::kNeedMore);
}

TEST_F(SessionTest, TooManyBytesWhileTheCallerDecidesFailTheConnection) {
  // §4.1: the client must wait for the 101. Beyond what the session keeps, bytes are lost.
  receive(bytes_of(kRfcRequest));
  ASSERT_EQ(next().kind, Kind::kUpgradeRequest);
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  receive(masked(Opcode::kBinary, std::string(config_.header_bytes_max, 'x')));
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  session_->accept();
  EXPECT_EQ(session_->state(), Session::State::kClosed);
  std::string output = session_->take_output();
  ASSERT_EQ(output.rfind(kRfcResponse, 0), 0u);
  EXPECT_EQ(output.substr(kRfcResponse.size(), 4), "\x88\x2C\x03\xEA");
}

TEST_F(SessionTest, RejectAnUpgrade) {
  receive(bytes_of(kRfcRequest));
  ASSERT_EQ(next().kind, Kind::kUpgradeRequest);
  session_->reject(403, "origin not allowed");
  EXPECT_EQ(session_->state(), Session::State::kClosed);
  std::string output = session_->take_output();
  EXPECT_EQ(output.rfind("HTTP/1.1 403 ", 0), 0u) << output;
  EXPECT_NE(output.find("origin not allowed"), std::string::npos) << output;
  EXPECT_EQ(next().kind, Kind::kNeedMore);
}

TEST_F(SessionTest, RespondToPlainHttp) {
  receive(bytes_of("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(next().kind, Kind::kHttpRequest);
  EXPECT_EQ(session_->request().path(), "/health");
  session_->respond(200, "application/json", "{\"ok\":true}");
  EXPECT_EQ(session_->state(), Session::State::kClosed);
  std::string output = session_->take_output();
  EXPECT_EQ(output.rfind("HTTP/1.1 200 ", 0), 0u) << output;
  EXPECT_NE(output.find("application/json"), std::string::npos) << output;
  EXPECT_EQ(output.substr(output.size() - 11), "{\"ok\":true}");
}

TEST_F(SessionTest, CloseBeforeTheHandshakeSendsNothing) {
  receive(bytes_of(kRfcRequest.substr(0, 20)));
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  session_->close(CloseCode::kGoingAway);
  EXPECT_EQ(session_->state(), Session::State::kClosed);
  EXPECT_FALSE(session_->has_output());
  receive(bytes_of(kRfcRequest.substr(20)));
  EXPECT_EQ(next().kind, Kind::kNeedMore);
}

TEST_F(SessionTest, OpenSessionIsSmall) {
  // 100k idle connections: no handshake memory and no buffers once open and idle.
  open();
  session_->shrink();
  EXPECT_EQ(session_->buffered_bytes(), 0u);
  EXPECT_LE(sizeof(Session), 256u);
}

// permessage-deflate (RFC 7692) through the session: negotiation in the 101, compressed
// messages inflated before delivery, and the close codes of §7.2.2's failures.
constexpr std::string_view kDeflateAnswer =
    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
    "client_no_context_takeover\r\n";

// The §1.3 request offering `extensions` (Chrome's offer by default).
std::string request_offering(
    std::string_view extensions = "permessage-deflate; client_max_window_bits") {
  std::string request(kRfcRequest);
  request.insert(request.size() - 2,
                 "Sec-WebSocket-Extensions: " + std::string(extensions) + "\r\n");
  return request;
}

// The §1.3 response with `extensions_line` before its blank line.
std::string response_with(std::string_view extensions_line) {
  std::string response(kRfcResponse);
  response.insert(response.size() - 2, extensions_line);
  return response;
}

// A masked client frame with RSV1 set, carrying `compressed` as is.
Bytes compressed(Opcode opcode, const Bytes& deflated, bool fin = true) {
  Bytes frame = masked(
      opcode, std::string_view(reinterpret_cast<const char*>(deflated.data()), deflated.size()),
      fin);
  frame[0] |= 0x40;
  return frame;
}

// `payload` deflated as a client would send it (the frame's payload, §7.2.1).
Bytes deflated(std::string_view payload) {
  Deflater deflater(6);
  Bytes frame(Deflater::frame_bytes_max(payload.size()));
  frame.resize(deflater.write_frame(
      frame, Opcode::kBinary, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}));
  const uint8_t length = frame[1] & 0x7F;
  const size_t header = length == 126 ? 4 : length == 127 ? 10 : 2;
  return Bytes(frame.begin() + static_cast<std::ptrdiff_t>(header), frame.end());
}

const Bytes kHelloDeflated = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};  // RFC 7692 §7.2.3.1

class DeflateSessionTest : public SessionTest {
 protected:
  DeflateSessionTest() {
    config_.deflate.enabled = true;
    session_ = std::make_unique<Session>(config_);
  }

  void open_with_deflate(std::string_view offer = "permessage-deflate; client_max_window_bits",
                         std::string_view answer = kDeflateAnswer) {
    receive(bytes_of(request_offering(offer)));
    ASSERT_EQ(next().kind, Kind::kUpgradeRequest);
    EXPECT_TRUE(session_->deflate_negotiated());
    session_->accept();
    ASSERT_EQ(session_->take_output(), response_with(answer));
    ASSERT_TRUE(session_->deflate_negotiated());
  }

  void expect_closed_with(CloseCode code, std::string_view close_frame) {
    Session::Event event = next();
    ASSERT_EQ(event.kind, Kind::kClosed);
    EXPECT_EQ(event.code, code);
    EXPECT_EQ(session_->take_output(), close_frame);
  }
};

TEST_F(SessionTest, DeflateIsOffByDefault) {
  receive(bytes_of(request_offering()));
  ASSERT_EQ(next().kind, Kind::kUpgradeRequest);
  EXPECT_FALSE(session_->deflate_negotiated());
  session_->accept();
  EXPECT_EQ(session_->take_output(), kRfcResponse);
  // Without the extension, RSV1 is a protocol error (RFC 6455 §5.2).
  receive(compressed(Opcode::kText, kHelloDeflated));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kClosed);
  EXPECT_EQ(event.code, CloseCode::kProtocolError);
  EXPECT_EQ(session_->take_output(), "\x88\x02\x03\xEA");
}

TEST_F(DeflateSessionTest, NoOfferNoExtension) {
  open();  // the exact §1.3 response, without Sec-WebSocket-Extensions
  EXPECT_FALSE(session_->deflate_negotiated());
  receive(compressed(Opcode::kText, kHelloDeflated));
  expect_closed_with(CloseCode::kProtocolError, "\x88\x02\x03\xEA");
}

TEST_F(DeflateSessionTest, DeclinedOfferStillOpens) {
  receive(bytes_of(request_offering("permessage-deflate; server_max_window_bits=10")));
  ASSERT_EQ(next().kind, Kind::kUpgradeRequest);
  EXPECT_FALSE(session_->deflate_negotiated());
  session_->accept();
  EXPECT_EQ(session_->take_output(), kRfcResponse);
}

TEST_F(DeflateSessionTest, CompressedAndPlainMessages) {
  open_with_deflate();
  receive(concat({compressed(Opcode::kText, kHelloDeflated), masked(Opcode::kText, "plain"),
                  compressed(Opcode::kBinary, {0x00})}));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), "Hello");
  event = next();
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), "plain");
  event = next();
  ASSERT_EQ(event.kind, Kind::kBinary);
  EXPECT_TRUE(event.payload.empty());
  EXPECT_EQ(next().kind, Kind::kNeedMore);
  EXPECT_FALSE(session_->has_output());
}

TEST_F(DeflateSessionTest, FragmentedCompressedMessageWithInterleavedPing) {
  open_with_deflate();
  // RFC 7692 §7.2.3.1's fragments: RSV1 on the first frame only.
  receive(concat({compressed(Opcode::kText, {0xf2, 0x48, 0xcd}, false), masked(Opcode::kPing, "p"),
                  masked(Opcode::kContinuation, "\xc9\xc9\x07\x00")}));
  EXPECT_EQ(next().kind, Kind::kPing);
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), "Hello");
}

TEST_F(DeflateSessionTest, CompressedMessageOneByteAtATime) {
  open_with_deflate();
  std::string text;
  for (int i = 0; i < 500; ++i) text += "{\"topic\":\"prices\",\"seq\":" + std::to_string(i) + "}";
  const Bytes deflated_text = deflated(text);
  const size_t half = deflated_text.size() / 2;
  Bytes input = concat(
      {compressed(Opcode::kText, Bytes(deflated_text.begin(), deflated_text.begin() + half), false),
       masked(Opcode::kContinuation,
              std::string(deflated_text.begin() + half, deflated_text.end()))});
  Session::Event event;
  for (uint8_t byte : input) {
    receive({byte});
    event = next();
    if (event.kind != Kind::kNeedMore) break;
  }
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), text);
}

TEST_F(DeflateSessionTest, RoundTripFromZeroBytesToOneMebibyte) {
  open_with_deflate();
  for (size_t size : {size_t{0}, size_t{1}, size_t{300}, size_t{70000}, size_t{1} << 20}) {
    std::string payload(size, '\0');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>((i * 7919) >> 3);
    receive(compressed(Opcode::kBinary, deflated(payload)));
    Session::Event event = next();
    ASSERT_EQ(event.kind, Kind::kBinary) << size;
    EXPECT_EQ(text_of(event.payload), payload) << size;
    EXPECT_EQ(next().kind, Kind::kNeedMore);
  }
}

TEST_F(DeflateSessionTest, ViolationsFailTheConnectionWithTheirCode) {
  struct Case {
    Bytes input;
    CloseCode code;
    std::string_view close_frame;
  };
  Bytes rsv1_continuation = masked(Opcode::kContinuation, "x");
  rsv1_continuation[0] |= 0x40;
  Bytes rsv1_ping = masked(Opcode::kPing, "");
  rsv1_ping[0] |= 0x40;
  Bytes rsv2 = masked(Opcode::kText, "x");
  rsv2[0] |= 0x20;
  Bytes rsv1_and_rsv3 = compressed(Opcode::kText, kHelloDeflated);
  rsv1_and_rsv3[0] |= 0x10;
  const std::vector<Case> cases = {
      {concat({masked(Opcode::kText, "a", false), rsv1_continuation}), CloseCode::kProtocolError,
       "\x88\x02\x03\xEA"},
      {rsv1_ping, CloseCode::kProtocolError, "\x88\x02\x03\xEA"},
      {rsv2, CloseCode::kProtocolError, "\x88\x02\x03\xEA"},
      {rsv1_and_rsv3, CloseCode::kProtocolError, "\x88\x02\x03\xEA"},
      // A corrupt DEFLATE stream (a reserved block type), and text invalid once inflated.
      {compressed(Opcode::kBinary, {0x06, 0x00}), CloseCode::kInvalidPayload, "\x88\x02\x03\xEF"},
      {compressed(Opcode::kText, deflated("ok \xC0\xAF")), CloseCode::kInvalidPayload,
       "\x88\x02\x03\xEF"},
      // A bomb: 4 MiB of zeros in about 4 KiB, against a 64 KiB limit.
      {compressed(Opcode::kBinary, deflated(std::string(size_t{4} << 20, '\0'))),
       CloseCode::kMessageTooBig, "\x88\x02\x03\xF1"},
  };
  config_.message_bytes_max = 64 << 10;
  for (const Case& test : cases) {
    session_ = std::make_unique<Session>(config_);
    open_with_deflate();
    receive(test.input);
    expect_closed_with(test.code, test.close_frame);
  }
}

TEST_F(DeflateSessionTest, WindowIsForgottenBetweenMessagesByDefault) {
  open_with_deflate();
  // RFC 7692 §7.2.3.2's second message refers to the first: we asked the client not to do that.
  receive(concat({compressed(Opcode::kText, kHelloDeflated),
                  compressed(Opcode::kText, {0xf2, 0x00, 0x11, 0x00, 0x00})}));
  EXPECT_EQ(next().kind, Kind::kText);
  expect_closed_with(CloseCode::kInvalidPayload, "\x88\x02\x03\xEF");
}

TEST_F(DeflateSessionTest, ContextTakeoverWhenThePolicyAllowsIt) {
  config_.deflate.allow_client_context_takeover = true;
  session_ = std::make_unique<Session>(config_);
  open_with_deflate("permessage-deflate",
                    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
  // RFC 7692 §7.2.3.2: the second "Hello" is a reference into the first.
  receive(concat({compressed(Opcode::kText, kHelloDeflated),
                  compressed(Opcode::kText, {0xf2, 0x00, 0x11, 0x00, 0x00})}));
  for (int i = 0; i < 2; ++i) {
    Session::Event event = next();
    ASSERT_EQ(event.kind, Kind::kText);
    EXPECT_EQ(text_of(event.payload), "Hello");
  }
  session_->shrink();  // the window must survive an idle moment
  receive(compressed(Opcode::kText, {0xf2, 0x00, 0x11, 0x00, 0x00}));
  Session::Event event = next();
  ASSERT_EQ(event.kind, Kind::kText);
  EXPECT_EQ(text_of(event.payload), "Hello");
}

}  // namespace
}  // namespace herald::protocol::websocket
