// The server-side connection state machine: opening handshake (RFC 6455 §4.2), messages
// (§5, §6) and the closing handshake (§7). Bytes and calls in, events and bytes out; no I/O.
#include "protocol/websocket/session.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <optional>
#include <utility>

namespace herald::protocol::websocket {
namespace {

using ParserKind = ParserEvent::Kind;
using EventKind = Session::Event::Kind;

constexpr int kSwitchingProtocols = 101;
// A Close body is a 2-byte code and a reason, within the 125 bytes of a control frame.
constexpr size_t kCloseReasonBytesMax = kControlPayloadBytesMax - 2;
constexpr size_t kOutputKeepBytes = 4096;

Session::Event make_event(EventKind kind, std::span<const uint8_t> payload = {}) {
  Session::Event event;
  event.kind = kind;
  event.payload = payload;
  return event;
}

// The longest prefix of `reason` within kCloseReasonBytesMax that does not split a UTF-8
// sequence, since the peer fails the connection on an invalid reason (§5.5.1, §8.1).
std::string_view truncate_reason(std::string_view reason) {
  if (reason.size() <= kCloseReasonBytesMax) return reason;
  size_t cut = kCloseReasonBytesMax;
  while (cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
  return reason.substr(0, cut);
}

}  // namespace

struct Session::Handshake {
  Handshake(size_t header_bytes_max, size_t body_bytes_max)
      : request_parser(header_bytes_max, body_bytes_max) {}

  RequestParser request_parser;
  std::span<uint8_t> input;  // received bytes not yet given to request_parser
  UpgradeDecision upgrade;   // status 101 once an upgrade request passed validate_upgrade()
  std::optional<DeflateAgreement> deflate;  // the accepted permessage-deflate offer, if any
  // Bytes that followed an upgrade request while the caller decides: the caller's buffer is
  // only lent until next_event() returns kNeedMore, so they are copied, up to a bound.
  std::string early_bytes;
  bool early_bytes_overflow = false;
};

Session::Session(const SessionConfig& config)
    : config_(config),
      handshake_(std::make_unique<Handshake>(config.header_bytes_max, config.http_body_bytes_max)),
      parser_(Role::kServer, config.message_bytes_max) {}

Session::~Session() = default;

void Session::receive(std::span<uint8_t> bytes) {
  switch (state_) {
    case State::kHandshake:
      assert(handshake_->input.empty());
      handshake_->input = bytes;
      return;
    case State::kDeciding:
      keep_early_bytes(std::exchange(handshake_->input, {}));
      keep_early_bytes(bytes);
      return;
    case State::kOpen:
    case State::kClosing:
      parser_.receive(bytes);
      return;
    case State::kClosed:
      return;
  }
}

Session::Event Session::next_event() {
  switch (state_) {
    case State::kHandshake:
      return next_handshake_event();
    case State::kDeciding:
      keep_early_bytes(std::exchange(handshake_->input, {}));
      return Event{};
    case State::kOpen:
    case State::kClosing:
      return next_message_event();
    case State::kClosed:
      return Event{};
  }
  return Event{};
}

const HttpRequest& Session::request() const {
  assert(state_ == State::kDeciding);
  return handshake_->request_parser.request();
}

std::string_view Session::subprotocol() const {
  return handshake_ ? std::string_view(handshake_->upgrade.subprotocol) : std::string_view();
}

bool Session::deflate_negotiated() const {
  if (handshake_ && state_ == State::kDeciding) return handshake_->deflate.has_value();
  return parser_.deflate_enabled();
}

void Session::accept() {
  assert(state_ == State::kDeciding && handshake_->upgrade.status == kSwitchingProtocols);
  const std::optional<DeflateAgreement>& deflate = handshake_->deflate;
  output_ +=
      build_upgrade_response(request().header("sec-websocket-key"), handshake_->upgrade.subprotocol,
                             deflate ? std::string_view(deflate->response) : "");
  if (deflate) parser_.enable_deflate(deflate->client_context_takeover);
  state_ = State::kOpen;
  if (handshake_->early_bytes_overflow) {
    // §4.1: a client waits for the 101 before it sends frames. One that sent more than we
    // keep has lost bytes: fail the connection (§7.1.7) rather than parse a broken stream.
    queue_close(CloseCode::kProtocolError, "frames sent before the handshake completed");
    enter_closed();
    return;
  }
  std::span<uint8_t> rest = std::exchange(handshake_->input, {});
  if (handshake_->early_bytes.empty()) {
    // An idle open connection holds no handshake memory.
    handshake_.reset();
    if (!rest.empty()) parser_.receive(rest);
    return;
  }
  // The copied bytes stay with the handshake state until the parser has consumed them.
  assert(rest.empty());
  std::string& early = handshake_->early_bytes;
  parser_.receive({reinterpret_cast<uint8_t*>(early.data()), early.size()});
}

void Session::reject(int http_status, std::string_view reason) {
  assert(state_ == State::kDeciding);
  answer_and_close(build_http_response(http_status, "text/plain", reason));
}

void Session::respond(int http_status, std::string_view content_type, std::string_view body,
                      std::span<const std::string> extra_headers) {
  assert(state_ == State::kDeciding);
  answer_and_close(build_http_response(http_status, content_type, body, extra_headers));
}

void Session::send_text(std::span<const uint8_t> payload) {
  assert(state_ == State::kOpen);
  queue_frame(Opcode::kText, payload);
}

void Session::send_binary(std::span<const uint8_t> payload) {
  assert(state_ == State::kOpen);
  queue_frame(Opcode::kBinary, payload);
}

void Session::send_ping(std::span<const uint8_t> payload) {
  assert(state_ == State::kOpen && payload.size() <= kControlPayloadBytesMax);
  queue_frame(Opcode::kPing, payload);
}

void Session::close(CloseCode code, std::string_view reason) {
  switch (state_) {
    case State::kOpen:
      queue_close(code, reason);
      state_ = State::kClosing;
      return;
    case State::kHandshake:
    case State::kDeciding:
      enter_closed();
      return;
    case State::kClosing:
    case State::kClosed:
      return;
  }
}

std::string Session::take_output() { return std::exchange(output_, std::string()); }

size_t Session::buffered_bytes() const {
  size_t early = handshake_ ? handshake_->early_bytes.size() : 0;
  return parser_.buffered_bytes() + output_.size() + early;
}

void Session::shrink() {
  parser_.shrink();
  if (output_.empty() && output_.capacity() > kOutputKeepBytes) std::string().swap(output_);
}

Session::Event Session::next_handshake_event() {
  RequestParser& parser = handshake_->request_parser;
  std::span<uint8_t>& input = handshake_->input;
  input = input.subspan(parser.feed(input));
  switch (parser.status()) {
    case RequestParser::Status::kNeedMore:
      assert(input.empty());
      return Event{};
    case RequestParser::Status::kError: {
      int status = parser.error_status();
      answer_and_close(build_http_response(status, "text/plain", parser.error_reason()));
      return closed_event(CloseCode::kNoStatus, status);
    }
    case RequestParser::Status::kComplete:
      break;
  }
  const HttpRequest& request = parser.request();
  state_ = State::kDeciding;
  if (!request.wants_websocket()) return make_event(EventKind::kHttpRequest);
  handshake_->upgrade = validate_upgrade(request, config_.subprotocols);
  int status = handshake_->upgrade.status;
  if (status != kSwitchingProtocols) {
    // §4.2.2: a refused handshake gets an HTTP error (426 names the version we speak, §4.4).
    answer_and_close(build_upgrade_refusal(handshake_->upgrade));
    return closed_event(CloseCode::kNoStatus, status);
  }
  // RFC 7692 §5: an offer we cannot accept is declined by leaving it out of the answer; the
  // handshake goes on.
  handshake_->deflate = negotiate_deflate(request, config_.deflate);
  return make_event(EventKind::kUpgradeRequest);
}

Session::Event Session::next_message_event() {
  for (;;) {
    ParserEvent event = parser_.next();
    switch (event.kind) {
      case ParserKind::kNeedMore:
        handshake_.reset();  // bytes copied during kDeciding, if any, are consumed
        return Event{};
      case ParserKind::kText:
      case ParserKind::kBinary:
      case ParserKind::kPong:
        // Once we sent Close, only the peer's Close matters (§5.5.1): data is discarded.
        if (state_ == State::kClosing) continue;
        return make_event(event.kind == ParserKind::kText     ? EventKind::kText
                          : event.kind == ParserKind::kBinary ? EventKind::kBinary
                                                              : EventKind::kPong,
                          event.payload);
      case ParserKind::kPing:
        // §5.5.2: answer with the same payload, unless our Close already went out: nothing
        // may follow it (§5.5.1).
        if (state_ == State::kClosing) continue;
        queue_frame(Opcode::kPong, event.payload);
        return make_event(EventKind::kPing, event.payload);
      case ParserKind::kClose:
      case ParserKind::kError:
        // §5.5.1: echo the peer's code; §7.1.7: fail the connection with ours. Either way a
        // Close goes out unless we already sent one.
        if (state_ == State::kOpen) queue_close(event.code, {});
        enter_closed();
        return closed_event(event.code, 0);
    }
  }
}

Session::Event Session::closed_event(CloseCode code, int http_status) {
  Event event = make_event(EventKind::kClosed);
  event.code = code;
  event.http_status = http_status;
  return event;
}

void Session::answer_and_close(std::string response) {
  output_ += response;
  enter_closed();
}

void Session::enter_closed() {
  state_ = State::kClosed;
  handshake_.reset();
}

void Session::keep_early_bytes(std::span<const uint8_t> bytes) {
  // After a plain HTTP request nothing more is read: respond() and reject() close.
  if (bytes.empty() || handshake_->upgrade.status != kSwitchingProtocols) return;
  std::string& early = handshake_->early_bytes;
  // Bounded like the request itself, so a peer cannot grow a deciding session at will.
  if (handshake_->early_bytes_overflow || bytes.size() > config_.header_bytes_max - early.size()) {
    handshake_->early_bytes_overflow = true;
    return;
  }
  early.append(bytes.begin(), bytes.end());
}

void Session::queue_frame(Opcode opcode, std::span<const uint8_t> payload) {
  uint8_t header[kServerFrameHeaderBytesMax];
  size_t header_bytes = write_frame_header(header, opcode, payload.size());
  output_.append(reinterpret_cast<const char*>(header), header_bytes);
  output_.append(reinterpret_cast<const char*>(payload.data()), payload.size());
}

void Session::queue_close(CloseCode code, std::string_view reason) {
  uint8_t body[kControlPayloadBytesMax];
  size_t body_bytes = 0;
  // 1005, 1006 and 1015 only stand for "no code" locally (§7.4.1): say it with an empty body.
  auto value = static_cast<uint16_t>(code);
  if (is_valid_wire_close_code(value)) {
    body[0] = static_cast<uint8_t>(value >> 8);
    body[1] = static_cast<uint8_t>(value);
    std::string_view cut = truncate_reason(reason);
    std::copy(cut.begin(), cut.end(), body + 2);
    body_bytes = 2 + cut.size();
  }
  queue_frame(Opcode::kClose, {body, body_bytes});
}

}  // namespace herald::protocol::websocket
