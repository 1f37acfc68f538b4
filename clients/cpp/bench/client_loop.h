// The load generator's engine: one thread, one epoll set (edge-triggered), many non-blocking
// WebSocket client connections. It dials at a bounded rate, runs the handshake and the frame
// rules, and hands complete messages to a scenario. It never allocates per message.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "clients/cpp/bench/inflate_cache.h"
#include "clients/cpp/lib/client_frame.h"
#include "clients/cpp/lib/connection.h"
#include "clients/cpp/lib/tls_client.h"
#include "protocol/websocket/close_code.h"
#include "protocol/websocket/deflate.h"
#include "protocol/websocket/frame.h"
#include "protocol/websocket/handshake.h"
#include "protocol/websocket/message_parser.h"

namespace herald::bench {

// steady_clock in nanoseconds: the clock of every timestamp and deadline in the bench.
[[nodiscard]] int64_t now_ns();

struct LoopConfig {
  sockaddr_in server{};
  std::string host_header;  // "host:port", for the Host header
  std::string path;
  std::string subprotocols;  // offered in Sec-WebSocket-Protocol; empty: none
  // Each connection i binds to sources[(source_offset + i) % size] before connect(), so that
  // the 4-tuples of many connections spread over several loopback addresses. Empty: no bind.
  std::vector<in_addr> sources;
  uint32_t source_offset = 0;
  uint32_t connections = 0;
  uint32_t connect_rate = 20000;         // connect() calls per second
  uint32_t handshakes_in_flight = 1000;  // dialing connections not yet open, at most
  int64_t handshake_timeout_ns = 5'000'000'000;
  size_t output_bytes = 0;  // per-connection send buffer for the scenario
  // Connection 0's send buffer when larger than output_bytes: a publisher among many
  // subscribers needs a deep buffer that the subscribers do not.
  size_t output_bytes_first = 0;
  uint64_t message_bytes_max = 1 << 20;
  // wss://: every connection runs TLS (verified or not, as the context says) first.
  std::shared_ptr<client::TlsClientContext> tls;
  std::string tls_server_name;
  // permessage-deflate offered on every connection (RFC 7692; see client::Connection).
  client::CompressionOptions compression;
};

// Bytes received by all connections, for the wire-against-payload figures of --compression.
struct TrafficStats {
  uint64_t deflate_connections = 0;     // opened with permessage-deflate accepted
  uint64_t deflate_refused = 0;         // the server's answer broke RFC 7692 §7.1: failed
  uint64_t socket_bytes_received = 0;   // read from the sockets, TLS records included
  uint64_t frame_bytes_received = 0;    // WebSocket bytes after the handshake (after TLS)
  uint64_t messages_received = 0;       // data messages delivered to the scenario
  uint64_t message_bytes_received = 0;  // their payload bytes (inflated)
  uint64_t messages_sent_compressed = 0;

  void add(const TrafficStats& other);
};

// Outcome of dial(); trivially copyable, so idle-scenario children can write it to a pipe.
struct DialStats {
  static constexpr int kErrnoMax = 160;
  uint64_t attempted = 0;
  uint64_t opened = 0;
  uint64_t connect_errors = 0;  // socket(), bind() or connect() failed: see errno_counts
  uint64_t rejected = 0;        // the server answered the upgrade with something else than 101
  uint64_t timeouts = 0;        // no 101 within handshake_timeout_ns
  uint64_t closed = 0;          // TCP closed before the 101
  uint64_t tls_failures = 0;    // the TLS handshake failed (verification, protocol)
  int last_http_status = 0;     // of the last rejection
  int64_t elapsed_ns = 0;
  std::array<uint32_t, kErrnoMax> errno_counts{};

  [[nodiscard]] uint64_t failed() const {
    return connect_errors + rejected + timeouts + closed + tls_failures;
  }
  void add(const DialStats& other);
};

// How connections ended after they opened; trivially copyable for the same reason.
struct CloseStats {
  uint64_t peer_closed = 0;      // the server sent Close before we did
  uint64_t eof = 0;              // TCP closed without a Close frame
  uint64_t io_errors = 0;        // reset or another socket error
  uint64_t protocol_errors = 0;  // the server broke RFC 6455; we sent Close 1002/1007/1009
  uint64_t clean = 0;            // our Close, the server's Close, then TCP close
  uint64_t close_timeouts = 0;   // no answer to our Close in time: dropped

  [[nodiscard]] uint64_t unexpected() const {
    return peer_closed + eof + io_errors + protocol_errors;
  }
  void add(const CloseStats& other);
};

struct BenchConnection {
  enum class State : uint8_t { kIdle, kConnecting, kHandshake, kOpen, kClosing, kClosed };

  int fd = -1;
  uint32_t index = 0;
  State state = State::kIdle;
  bool close_sent = false;
  bool close_received = false;
  bool peer_started_close = false;  // counted as CloseStats::peer_closed
  bool closing_requested = false;   // by close_all()
  int64_t dial_started_ns = 0;
  std::unique_ptr<protocol::websocket::ResponseParser> response;  // during the handshake
  std::unique_ptr<protocol::websocket::MessageParser> parser;     // once open
  // The server accepted permessage-deflate and let us compress with a window of 2^this bytes
  // (9 to 15; 0: we send plain): messages from compression.min_bytes on go out compressed.
  uint8_t deflate_window_bits = 0;
  // The server compresses every message on its own (server_no_context_takeover): whole
  // frames are read here and compressed ones taken from the loop's InflateCache.
  bool inflate_shared = false;
  std::string pending;  // a frame the last read cut short, while reading whole frames
  // Bytes queued for the socket: [output_begin, output_end) of a fixed buffer.
  std::unique_ptr<uint8_t[]> output;  // plaintext; with TLS encrypted once the socket drains
  std::unique_ptr<client::TlsClientSession> tls;
  size_t output_capacity = 0;
  size_t output_begin = 0;
  size_t output_end = 0;
};

// What a scenario does with its connections. Every callback runs on the loop's thread.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void on_open(BenchConnection& /*connection*/) {}
  // Bytes were just read from an open connection; its messages follow. Lets a scenario read
  // the clock once per read rather than once per message.
  virtual void on_read() {}
  // A complete data message; `payload` is valid only during the call.
  virtual void on_message(BenchConnection& connection, protocol::websocket::Opcode opcode,
                          std::span<const uint8_t> payload) = 0;
  // An open connection ended without our asking (see CloseStats for the kinds).
  virtual void on_lost(BenchConnection& /*connection*/) {}
};

class ClientLoop {
 public:
  // Fails (returns nullptr and sets `error`) only when epoll cannot be created.
  static std::unique_ptr<ClientLoop> create(LoopConfig config, ConnectionHandler& handler,
                                            std::string& error);
  ~ClientLoop();
  ClientLoop(const ClientLoop&) = delete;
  ClientLoop& operator=(const ClientLoop&) = delete;

  // Opens config.connections connections, at most connect_rate per second and at most
  // handshakes_in_flight at once; returns when each one is open or has failed, or at
  // `deadline_ns` (the rest count as timeouts).
  DialStats dial(int64_t deadline_ns);

  // Runs the loop until `deadline_ns`, until `done()` returns true, or until the watched fd
  // becomes readable.
  void run(int64_t deadline_ns, const std::function<bool()>& done);

  // Waits once for events (at most until `deadline_ns`, rounded up to a millisecond) and
  // handles them; for scenarios that drive their own loop between waits.
  void poll(int64_t deadline_ns) { poll_once(deadline_ns); }

  // Dials again, at most `max_count`, connections that ended (not those close_all() closed),
  // as dial() does, round-robin; fails handshakes that took too long. For --reconnect: the
  // caller paces it. Returns how many dials it started.
  size_t redial_closed(size_t max_count);

  // Sends Close 1000 on every open connection, paced by connect_rate, and waits for the server's
  // Close and TCP close (RFC 6455 §7.1.1: the server closes TCP first). At `deadline_ns` the rest
  // are reset and counted.
  void close_all(int64_t deadline_ns);

  // Reserves a masked frame with a `payload_bytes` payload at the end of the connection's
  // output; the caller fills the returned span, then calls end_frame() before anything else.
  // Returns an empty span (and queues nothing) when the output buffer is full. With
  // permessage-deflate, a message from compression.min_bytes on is filled into a scratch
  // buffer and compressed by end_frame() (sent plain when it does not shrink).
  std::span<uint8_t> begin_frame(BenchConnection& connection, protocol::websocket::Opcode opcode,
                                 size_t payload_bytes);
  void end_frame();
  // Writes queued output now; the loop also flushes after each read. False if it closed.
  bool flush(BenchConnection& connection);

  // run() returns once `fd` is readable (the idle scenario's control pipe).
  void watch_fd(int fd);
  [[nodiscard]] bool watched_fd_ready() const { return watch_ready_; }

  [[nodiscard]] std::span<BenchConnection> connections() { return connections_; }
  [[nodiscard]] uint64_t open_count() const { return open_count_; }
  [[nodiscard]] const CloseStats& close_stats() const { return close_stats_; }
  [[nodiscard]] const TrafficStats& traffic() const { return traffic_; }

 private:
  ClientLoop(LoopConfig config, ConnectionHandler& handler, int epoll_fd);

  void poll_once(int64_t deadline_ns);
  void on_event(BenchConnection& connection, uint32_t events);
  void start_dial(BenchConnection& connection);
  void on_connected(BenchConnection& connection);
  void on_readable(BenchConnection& connection, uint32_t events);
  void consume(BenchConnection& connection, std::span<uint8_t> bytes);
  void consume_plain(BenchConnection& connection, std::span<uint8_t> bytes);
  void consume_tls(BenchConnection& connection, std::span<uint8_t> bytes);
  bool flush_tls(BenchConnection& connection);
  bool send_bytes(BenchConnection& connection, std::span<const uint8_t> bytes, size_t& sent);
  void fail_io(BenchConnection& connection, int os_error);
  void consume_handshake(BenchConnection& connection, std::span<uint8_t> bytes);
  void consume_frames(BenchConnection& connection, std::span<uint8_t> bytes);
  void read_whole_frames(BenchConnection& connection, std::span<uint8_t> bytes);
  void take_frame(BenchConnection& connection, std::span<uint8_t> frame);
  void feed_parser(BenchConnection& connection, std::span<uint8_t> bytes);
  bool accept_extensions(BenchConnection& connection);
  void end_compressed_frame();
  uint8_t* output_tail(BenchConnection& connection, size_t frame_bytes);
  void queue_control(BenchConnection& connection, protocol::websocket::Opcode opcode,
                     std::span<const uint8_t> payload);
  void queue_close(BenchConnection& connection, protocol::websocket::CloseCode code);
  void fail_dial(BenchConnection& connection, uint64_t DialStats::*counter, int os_error);
  void end_connection(BenchConnection& connection, uint64_t CloseStats::*counter);
  void release(BenchConnection& connection);
  void sweep_handshake_timeouts(int64_t now);

  LoopConfig config_;
  ConnectionHandler& handler_;
  int epoll_fd_;
  int watch_fd_ = -1;
  bool watch_ready_ = false;
  std::vector<BenchConnection> connections_;
  std::unique_ptr<uint8_t[]> read_buffer_;
  std::unique_ptr<uint8_t[]> plain_buffer_;  // TLS: decrypted bytes, one read at a time
  client::MaskKeyGenerator mask_keys_;
  std::span<uint8_t> frame_payload_;  // between begin_frame() and end_frame()
  uint32_t frame_mask_key_ = 0;
  // A frame to compress at end_frame(): where it goes and its opcode; the payload is in
  // deflate_input_. One compressor per window size serves every connection, made when first
  // needed: each message is compressed on its own (no context takeover).
  BenchConnection* deflate_connection_ = nullptr;
  protocol::websocket::Opcode deflate_opcode_ = protocol::websocket::Opcode::kBinary;
  std::array<std::unique_ptr<protocol::websocket::Deflater>, 16> deflaters_;
  InflateCache inflate_cache_;
  std::vector<uint8_t> deflate_input_;
  TrafficStats traffic_;
  uint64_t dialing_ = 0;
  size_t redial_cursor_ = 0;
  uint64_t open_count_ = 0;
  uint64_t closing_count_ = 0;
  DialStats dial_stats_;
  CloseStats close_stats_;
};

}  // namespace herald::bench
