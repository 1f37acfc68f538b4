// A server-side WebSocket connection as a deterministic state machine (sans-I/O, in the shape
// of python-websockets' protocol): receive(bytes), next_event(), send_*(), take_output().
// It owns the handshake, the frame rules and the close handshake; it never touches a socket,
// a clock or a thread. Timeouts are the caller's: it calls close() or drops TCP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/websocket/close_code.h"
#include "protocol/websocket/extensions.h"
#include "protocol/websocket/handshake.h"
#include "protocol/websocket/message_parser.h"

namespace herald::protocol::websocket {

struct SessionConfig {
  uint64_t message_bytes_max = uint64_t{16} << 20;
  size_t header_bytes_max = kHeaderBytesMax;
  size_t http_body_bytes_max = size_t{1} << 20;
  std::vector<std::string> subprotocols;  // the server's, in preference order
  // permessage-deflate (RFC 7692), off by default. On, an upgrade that offers it is answered
  // with Sec-WebSocket-Extensions and the client's compressed messages are inflated before
  // they are delivered; sending compressed frames is the caller's (Deflater, deflate.h).
  DeflatePolicy deflate;
};

class Session {
 public:
  enum class State : uint8_t {
    kHandshake,  // reading the HTTP request
    kDeciding,   // a request was delivered; the caller must accept(), reject() or respond()
    kOpen,       // WebSocket messages flow both ways
    kClosing,    // we sent Close and wait for the peer's (the caller times this out)
    kClosed,     // nothing more will be read: flush take_output(), then close TCP
  };

  struct Event {
    enum class Kind : uint8_t {
      kNeedMore,        // all received bytes are consumed
      kUpgradeRequest,  // a valid §4.2.1 handshake: see request() and subprotocol()
      kHttpRequest,     // a plain HTTP request: see request(), answer with respond()
      kText,            // a complete text message (valid UTF-8)
      kBinary,          // a complete binary message
      kPing,            // already answered: a Pong with the same payload is queued
      kPong,
      kClosed,  // the session reached kClosed; see code and http_status
    };
    Kind kind = Kind::kNeedMore;
    // kText, kBinary, kPing, kPong: valid until the next call to next_event() or receive().
    std::span<const uint8_t> payload;
    // kClosed after the WebSocket opened: the peer's code on a clean close handshake, or the
    // code we failed the connection with (1002, 1007, 1009; 1011 when an inflater cannot
    // allocate).
    CloseCode code = CloseCode::kNoStatus;
    // kClosed during the handshake: the HTTP status we answered (400, 426, 431, ...).
    int http_status = 0;
  };

  // `config` must outlive the session; many sessions share one.
  explicit Session(const SessionConfig& config);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Hands over received bytes. They may be modified in place (unmasking) and must stay valid
  // until next_event() returns kNeedMore. Bytes received in kClosed are ignored.
  void receive(std::span<uint8_t> bytes);

  // The next event. In kDeciding it returns kNeedMore until the caller has decided.
  [[nodiscard]] Event next_event();

  // The request delivered by kUpgradeRequest or kHttpRequest; valid until the decision.
  [[nodiscard]] const HttpRequest& request() const;
  // The subprotocol accept() will confirm, chosen from the client's offer.
  [[nodiscard]] std::string_view subprotocol() const;
  // Whether permessage-deflate is in use: in kDeciding, whether accept() will confirm it;
  // once open, whether it was negotiated, so the caller may send compressed frames.
  [[nodiscard]] bool deflate_negotiated() const;
  // When the session failed because a client message would not inflate: why (1009 too big,
  // 1007 corrupt, 1011 no memory); kOk otherwise.
  [[nodiscard]] Inflater::Status inflate_failure() const { return parser_.inflate_failure(); }

  // Decisions, valid only in kDeciding.
  void accept();                                          // queue 101, enter kOpen
  void reject(int http_status, std::string_view reason);  // queue an error page, enter kClosed
  // `extra_headers`: whole lines without CRLF, e.g. "Retry-After: 1".
  void respond(int http_status, std::string_view content_type, std::string_view body,
               std::span<const std::string> extra_headers = {});

  // Valid only in kOpen; each queues one complete, unfragmented frame.
  void send_text(std::span<const uint8_t> payload);
  void send_binary(std::span<const uint8_t> payload);
  void send_ping(std::span<const uint8_t> payload);  // at most 125 bytes

  // Starts the closing handshake from our side (shutdown 1001, idle timeout 1001, policy
  // 1008, ...). In kOpen: queues Close and enters kClosing. In kHandshake or kDeciding: enters
  // kClosed with nothing to send. Otherwise: no effect. `reason` is cut to fit 123 bytes.
  void close(CloseCode code, std::string_view reason = {});

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] bool can_send() const { return state_ == State::kOpen; }

  // Bytes the session wants sent, in order. take_output() moves them out.
  [[nodiscard]] bool has_output() const { return !output_.empty(); }
  [[nodiscard]] std::string take_output();

  // Bytes held between calls, for memory accounting.
  [[nodiscard]] size_t buffered_bytes() const;
  // Gives back buffers above a small threshold; call when the connection goes idle.
  void shrink();

 private:
  // Everything that lives only until the handshake is decided, in one allocation, so an open
  // connection pays one pointer for it.
  struct Handshake;

  Event next_handshake_event();
  Event next_message_event();
  Event closed_event(CloseCode code, int http_status);
  void answer_and_close(std::string response);
  void enter_closed();
  void keep_early_bytes(std::span<const uint8_t> bytes);
  void queue_frame(Opcode opcode, std::span<const uint8_t> payload);
  void queue_close(CloseCode code, std::string_view reason);

  const SessionConfig& config_;
  // First after the config: a broker's fan-out reads it for every delivery (can_send()), and
  // the Session's first cache line is the one it can keep warm.
  State state_ = State::kHandshake;
  std::unique_ptr<Handshake> handshake_;  // freed once the handshake is decided
  MessageParser parser_;
  std::string output_;
};

}  // namespace herald::protocol::websocket
