// A blocking pub/sub client (protocol/PROTOCOL.md) over one Connection: subscribe and
// unsubscribe with acks, publish text or binary with optional acks, receive messages and gaps.
// No threads; TLS and permessage-deflate through the Connection; not for load generation (see
// herald-bench for that).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "clients/cpp/lib/connection.h"
#include "protocol/pubsub/client_codec.h"
#include "protocol/pubsub/command.h"

namespace herald::client {

// The subprotocol the client offers (PROTOCOL.md section 1).
inline constexpr std::string_view kSubprotocol = "herald.v1";

enum class PubSubError : uint8_t {
  kNone,
  kTransport,  // the Connection failed: see transport_error() (and Connection::os_error)
  kTimeout,    // no answer within the timeout; the connection is still usable
  kRejected,   // the server answered with an error: see server_error_code()/_text()
  kBadReply,   // the server sent something the protocol does not allow; connection closed
  kClosed,     // the server closed the connection: see close_code()
  kNotOpen,    // connect() has not succeeded
};

[[nodiscard]] const char* pubsub_error_name(PubSubError error);

// A publish's outcome. `seq` is the topic sequence number from the ack (0 without an ack).
struct PublishResult {
  PubSubError error = PubSubError::kNone;
  uint64_t seq = 0;
};

// A publish sent with an ack requested: redeem its `id` with wait_ack().
struct PublishTicket {
  PubSubError error = PubSubError::kNone;
  uint32_t id = 0;
};

// What receive() returns. With kNone, `message` is a message, gap or id-less error, and its
// views stay valid until the next call on the client.
struct Incoming {
  PubSubError error = PubSubError::kNone;
  protocol::pubsub::ServerMessage message;
};

// One pub/sub connection. Neither copyable nor movable (hold it by value or unique_ptr); not
// thread-safe. Messages that arrive while a call waits for an ack are kept, in order, for
// receive(); acks that arrive while receive() waits are kept for wait_ack(). An error without
// an id (the server could not read the command, e.g. bad_json) answers the oldest request
// still waiting, since the server answers in order; one that comes while no request waits
// (an unacknowledged publish failed) goes to receive().
class PubSubClient {
 public:
  using Timeout = std::chrono::milliseconds;
  static constexpr Timeout kDefaultTimeout = std::chrono::seconds(5);

  // Opens the WebSocket connection offering "herald.v1". Fails with kTransport (see
  // transport_error()), or kBadReply when the server confirms another subprotocol.
  [[nodiscard]] PubSubError connect(std::string_view host, uint16_t port,
                                    std::string_view path = "/", Timeout timeout = kDefaultTimeout);

  // Subscribes to a topic or pattern and waits for the ack (or the server's error).
  [[nodiscard]] PubSubError subscribe(
      std::string_view filter, protocol::pubsub::Policy policy = protocol::pubsub::Policy::kDefault,
      Timeout timeout = kDefaultTimeout);
  // `filter` exactly as subscribed; waits for the ack. kRejected with "not_subscribed".
  [[nodiscard]] PubSubError unsubscribe(std::string_view filter, Timeout timeout = kDefaultTimeout);

  // Publishes one JSON value (`data_json` must be valid JSON; the server checks) and, with
  // `ack`, waits for the seq it was given. Without `ack` it returns once sent (seq 0).
  [[nodiscard]] PublishResult publish(std::string_view topic, std::string_view data_json,
                                      bool ack = true, Timeout timeout = kDefaultTimeout);
  // The same for an opaque payload in a binary frame (PROTOCOL.md section 5).
  [[nodiscard]] PublishResult publish_binary(std::string_view topic,
                                             std::span<const uint8_t> payload, bool ack = true,
                                             Timeout timeout = kDefaultTimeout);

  // Pipelining: send now, wait for the acks later (in any order) with wait_ack().
  [[nodiscard]] PublishTicket send_publish(std::string_view topic, std::string_view data_json);
  [[nodiscard]] PublishTicket send_publish_binary(std::string_view topic,
                                                  std::span<const uint8_t> payload);
  [[nodiscard]] PublishResult wait_ack(uint32_t id, Timeout timeout = kDefaultTimeout);

  // The next message, gap or id-less error, at most `timeout`.
  [[nodiscard]] Incoming receive(Timeout timeout = kDefaultTimeout);

  // Sends Close 1000 and waits briefly for the server's; then drops the socket.
  void close(Timeout timeout = std::chrono::seconds(1));

  [[nodiscard]] bool is_open() const { return connection_.is_open(); }
  [[nodiscard]] Error transport_error() const { return transport_error_; }
  [[nodiscard]] const Connection& connection() const { return connection_; }
  // wss://: see Connection::use_tls. Call before connect().
  void use_tls(std::shared_ptr<TlsClientContext> context, std::string server_name) {
    connection_.use_tls(std::move(context), std::move(server_name));
  }
  // permessage-deflate: see Connection::use_compression. Call before connect().
  void use_compression(CompressionOptions options) { connection_.use_compression(options); }
  // The last kRejected answer: its "code" ("bad_topic"...) and "text".
  [[nodiscard]] const std::string& server_error_code() const { return server_error_code_; }
  [[nodiscard]] const std::string& server_error_text() const { return server_error_text_; }
  // The server's Close code once kClosed was returned.
  [[nodiscard]] protocol::websocket::CloseCode close_code() const { return close_code_; }
  // Acks requested and not yet redeemed with wait_ack().
  [[nodiscard]] size_t acks_outstanding() const { return outstanding_.size(); }

 private:
  using Clock = std::chrono::steady_clock;

  // A data frame kept for receive(): its payload and whether it was binary.
  struct Frame {
    std::string bytes;
    bool binary = false;
  };
  // An answer to a request with an id, kept until wait_ack() asks for it.
  struct Answer {
    bool answered = false;
    bool rejected = false;
    uint64_t seq = 0;
    std::string code;
    std::string text;
  };

  PubSubError request(std::string_view command_json, uint32_t id, Timeout timeout);
  PubSubError read_frame(Clock::time_point deadline, Frame& frame);
  // Files an ack or an error carrying a known id, or an id-less error (see the class
  // comment); false when the frame is for receive().
  bool file_answer(const Frame& frame, PubSubError& error);
  PubSubError fail_transport(Error error);
  uint32_t next_id() { return next_id_++; }

  Connection connection_;
  protocol::pubsub::ServerMessageParser parser_;
  Error transport_error_ = Error::kNone;
  protocol::websocket::CloseCode close_code_ = protocol::websocket::CloseCode::kNoStatus;
  std::string server_error_code_;
  std::string server_error_text_;
  uint32_t next_id_ = 1;
  std::map<uint32_t, Answer> outstanding_;  // by id: in the order sent
  std::deque<Frame> backlog_;  // frames for receive() that came while waiting for an ack
  Frame current_;              // the frame the last receive() views point into
};

}  // namespace herald::client
