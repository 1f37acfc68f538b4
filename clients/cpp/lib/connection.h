// A blocking WebSocket client connection for the CLI and tests: connect with the opening
// handshake, send masked frames, receive messages with a timeout. TLS (wss://) optional; no
// threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clients/cpp/lib/tls_client.h"
#include "protocol/websocket/close_code.h"
#include "protocol/websocket/deflate.h"
#include "protocol/websocket/handshake.h"
#include "protocol/websocket/message_parser.h"

namespace herald::client {

enum class Error : uint8_t {
  kNone,
  kResolve,            // the host name did not resolve
  kConnect,            // every address refused or failed (see os_error())
  kTimeout,            // the deadline passed (connect, handshake or receive)
  kHandshakeRejected,  // the server answered with something other than a valid 101
  kIo,                 // a socket error while open (see os_error())
  kProtocol,           // the server broke RFC 6455; we sent Close with the code in Message
  kClosed,             // the TCP connection closed, or a Close was already exchanged
  kNotOpen,            // connect() has not succeeded
  kTls,                // the TLS handshake or a record failed (see tls_failure())
};

[[nodiscard]] const char* error_name(Error error);

struct Message {
  enum class Kind : uint8_t {
    kText,
    kBinary,
    kPing,  // already answered with a Pong
    kPong,
    kClose,  // the server's Close (already answered); `code` and the reason in `payload`
    kError,  // see `error`; on kProtocol we already sent Close with `code` (1002, 1007...)
  };
  Kind kind = Kind::kError;
  std::string payload;
  protocol::websocket::CloseCode code = protocol::websocket::CloseCode::kNoStatus;
  Error error = Error::kNone;
};

// permessage-deflate (RFC 7692) for a Connection: off unless asked for.
struct CompressionOptions {
  bool enabled = false;  // offer the extension (as Chrome does) on the next connect()
  // Messages of at least this many bytes go out compressed; smaller ones plain, with RSV1
  // clear, which the extension allows per message (§6). 0: every message.
  size_t min_bytes = 64;
  int level = 6;  // zlib's 1 (fastest) to 9 (smallest)
};

// One connection; movable, not copyable. Not thread-safe. Frames are masked with a fresh key
// from OpenSSL's generator, as RFC 6455 §5.3 asks of real clients.
class Connection {
 public:
  Connection();
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Makes the following connect()s wss://: TLS with `context`, the certificate checked against
  // `server_name` (a host name, sent as SNI, or an IP address literal).
  void use_tls(std::shared_ptr<TlsClientContext> context, std::string server_name);
  // Offers permessage-deflate on the following connect()s. If the server accepts, received
  // compressed messages are inflated (within the 64 MiB message limit) and outgoing ones
  // compressed from options.min_bytes on, each on its own (no context takeover), masked; if it
  // declines, the connection runs uncompressed. An answer that breaks RFC 7692 §7.1 fails the
  // connect() with kHandshakeRejected.
  void use_compression(CompressionOptions options) { compression_ = options; }

  // Opens TCP to host:port and completes the handshake for `path`, offering `subprotocols`,
  // all within `timeout`. On failure the connection stays closed.
  [[nodiscard]] Error connect(std::string_view host, uint16_t port, std::string_view path,
                              std::span<const std::string> subprotocols = {},
                              std::chrono::milliseconds timeout = std::chrono::seconds(5));

  [[nodiscard]] Error send_text(std::string_view text);
  [[nodiscard]] Error send_binary(std::span<const uint8_t> bytes);
  [[nodiscard]] Error send_ping(std::span<const uint8_t> bytes);
  // Starts the closing handshake; keep calling receive() for the server's Close.
  [[nodiscard]] Error send_close(protocol::websocket::CloseCode code, std::string_view reason);

  // Blocks for the next message or event, at most `timeout`; kError with kTimeout then.
  [[nodiscard]] Message receive(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Closes the socket without a closing handshake.
  void close();

  [[nodiscard]] bool is_open() const { return fd_ >= 0; }
  [[nodiscard]] std::string_view subprotocol() const { return subprotocol_; }
  [[nodiscard]] int http_status() const { return http_status_; }  // of the handshake answer
  [[nodiscard]] int os_error() const { return os_error_; }        // errno of the last kIo
  [[nodiscard]] const std::string& tls_failure() const { return tls_failure_; }  // of kTls
  // The server accepted permessage-deflate on this connection.
  [[nodiscard]] bool compression_active() const { return compression_active_; }
  // Since connect(): WebSocket bytes received after the handshake (frames as sent, so
  // compressed where they were; without TLS's own bytes) and data message bytes delivered.
  [[nodiscard]] uint64_t frame_bytes_received() const { return frame_bytes_received_; }
  [[nodiscard]] uint64_t message_bytes_received() const { return message_bytes_received_; }
  // Since connect(): data frame bytes sent, and messages sent compressed.
  [[nodiscard]] uint64_t frame_bytes_sent() const { return frame_bytes_sent_; }
  [[nodiscard]] uint64_t messages_sent_compressed() const { return messages_sent_compressed_; }

 private:
  using Clock = std::chrono::steady_clock;

  Error connect_tcp(std::string_view host, uint16_t port, Clock::time_point deadline);
  Error handshake(std::string_view host, std::string_view path, std::string_view subprotocols,
                  Clock::time_point deadline);
  Error accept_extensions(std::string_view extensions);
  Error send_frame(protocol::websocket::Opcode opcode, std::span<const uint8_t> payload);
  // The payload compressed into deflated_, or empty when it goes out plain.
  std::span<const uint8_t> compress(std::span<const uint8_t> payload);
  Error send_all(std::span<const uint8_t> bytes);
  Error send_raw(std::span<const uint8_t> bytes);
  Error read_some(Clock::time_point deadline);
  Error read_raw(std::span<uint8_t> into, size_t& bytes, Clock::time_point deadline);
  Error tls_handshake(Clock::time_point deadline);
  Error flush_tls();
  Message take_event(const protocol::websocket::ParserEvent& event);

  int fd_ = -1;
  int os_error_ = 0;
  int http_status_ = 0;
  bool close_sent_ = false;
  std::string subprotocol_;
  std::unique_ptr<protocol::websocket::MessageParser> parser_;
  std::vector<uint8_t> rx_;  // the parser reads (and may point) into this until kNeedMore
  size_t rx_bytes_ = 0;
  std::vector<uint8_t> tx_;  // one frame at a time
  // permessage-deflate: the options, and once the server accepted, the compressor (none when
  // it allowed only a 256-byte window, which zlib cannot write) and its output.
  CompressionOptions compression_;
  bool compression_active_ = false;
  std::unique_ptr<protocol::websocket::Deflater> deflater_;
  std::vector<uint8_t> deflated_;
  uint64_t frame_bytes_received_ = 0;
  uint64_t message_bytes_received_ = 0;
  uint64_t frame_bytes_sent_ = 0;
  uint64_t messages_sent_compressed_ = 0;
  // TLS: the context for the next connect(), the live session, and received ciphertext.
  std::shared_ptr<TlsClientContext> tls_context_;
  std::string tls_server_name_;
  std::unique_ptr<TlsClientSession> tls_;
  std::vector<uint8_t> tls_rx_;
  std::string tls_failure_;
};

}  // namespace herald::client
