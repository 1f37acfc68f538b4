// One accepted TCP connection: the glue from received bytes to the Session, and from Session
// events to the events its worker pulls (requests, commands) or to the echo route. Owns its
// Session, queued bytes and subscription list; it never issues I/O: the Worker does, and
// tracks the operations here.
#pragma once

#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/auth/jwt.h"
#include "broker/auth/rate_limit.h"
#include "broker/core/close_reason.h"
#include "broker/core/slow_consumer.h"
#include "broker/net/config.h"
#include "broker/net/counters.h"
#include "broker/net/frame_compressor.h"
#include "broker/net/replay_state.h"
#include "broker/net/send_queue.h"
#include "broker/net/tls_session.h"
#include "protocol/pubsub/notice.h"
#include "protocol/websocket/session.h"

namespace herald::broker::net {

// What a connection cannot answer alone, pulled by its worker after receive(). The worker
// acts on one before it asks for the next, so nothing calls back into it while a parse is on
// the stack.
struct ConnectionEvent {
  enum class Kind : uint8_t {
    kNone,     // nothing more until more bytes arrive
    kRequest,  // a request was read (the Session is in kDeciding): accept, reject or respond
    kCommand,  // a complete message on a pub/sub session: one command
  };
  Kind kind = Kind::kNone;
  bool upgrade = false;              // kRequest: a WebSocket upgrade, else plain HTTP
  bool binary = false;               // kCommand: a binary frame, else text
  std::span<const uint8_t> payload;  // kCommand: valid until the next call
};

// What a connection may use while handling bytes; owned by its worker.
struct ConnectionContext {
  const ServerConfig& config;
  WorkerCounters& counters;
  // Null when --compression is off.
  FrameCompressor* compressor = nullptr;
  // TLS connections decrypt into and encrypt from these (16 KiB each, one record), per worker.
  std::span<uint8_t> tls_read_scratch{};
  std::span<uint8_t> tls_write_scratch{};
};

// The client's address: the TCP peer, or behind a trusted proxy the address its PROXY v2
// header or X-Forwarded-For names. `peer` is written by the kernel (SO_PEERNAME) while that
// operation is in flight.
struct ClientAddress {
  sockaddr_in6 peer{};
  auth::IpAddress ip;
  std::string proxy_prefix;  // an incomplete PROXY v2 header
  bool settled = false;      // `ip` is final (the peer, or what a proxy named)
  bool via_proxy = false;    // the peer is a trusted proxy
  bool admitted = false;     // counted by the IpLimiter: release once
};

// What the AccessGate keeps per connection. Each part is allocated only when its feature is
// configured, so an idle connection pays three pointers: the claims of the last valid token,
// the publish bucket (--max-publish-rate), the client's address (per-address limits or
// trusted proxies). The accept time is for the 4001 deadline.
struct AccessState {
  std::unique_ptr<auth::Claims> grant;
  std::unique_ptr<auth::TokenBucket> publish_bucket;
  std::unique_ptr<ClientAddress> address;
  uint64_t accepted_ms = 0;
  bool proxy_header_done = true;  // false while a PROXY v2 header may still arrive
};

// Thread: the owning worker's. Lives in the worker's slot table from accept until every
// operation it issued has completed (ops_in_flight == 0 in kClosing); only then is it freed.
class Connection {
 public:
  enum class Phase : uint8_t {
    kActive,     // reading; the Session runs
    kFlushing,   // the Session is done (or the connection was refused): send what is queued
    kLingering,  // FIN sent (§7.1.1: the server closes TCP first); discard input until EOF
    kClosing,    // cancel and close_direct issued; waiting for every completion
  };

  Connection(const protocol::websocket::SessionConfig& session_config, uint32_t slot,
             uint32_t generation, uint32_t file_slot, uint64_t now_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Feeds received bytes (modified in place; for TLS, ciphertext). They must stay valid until
  // next_event() returns kNone.
  void receive(std::span<uint8_t> bytes);
  // Answers what it can alone (echo, pings, closes, TLS records) and returns the next event
  // for the worker, or kNone once the bytes are used up. Afterwards the Session may be
  // kClosed. After acting on a kRequest the worker calls answered().
  [[nodiscard]] ConnectionEvent next_event(ConnectionContext& context);
  // The worker decided a request: its answer (the 101) precedes any frame queued after it.
  void answered() { take_session_output(); }
  // TLS (connection_tls.cc). A TLS connection's queue holds plaintext; it is encrypted into
  // the TlsSession's output when the Worker gathers a send, so a shared frame stays shared.
  void start_tls(const TlsContext& context);
  // Something to send: queued bytes (encryptable now, for TLS) or TLS output.
  [[nodiscard]] bool has_output() const;
  // Queued bytes plus TLS ciphertext not yet sent: what the receive pause bounds.
  [[nodiscard]] size_t queued_bytes() const;
  // Points `op` at the next bytes to send (for TLS, encrypting queued frames first). Returns
  // the bytes covered; consume_output() acknowledges what the send wrote.
  size_t gather_output(SendOp& op, ConnectionContext& context);
  // Plain connections hand the references of what was sent to `released`.
  void consume_output(size_t bytes, ReleaseBatch& released);
  // Flushing: encrypts everything queued, then close_notify. A no-op for plain connections.
  void finish_tls(ConnectionContext& context);
  // The TLS layer failed or the peer sent close_notify: nothing more will be read.
  [[nodiscard]] bool tls_ended() const { return tls_ && (tls_->failed() || tls_closed_); }

  // Which route the handshake chose.
  enum class Route : uint8_t {
    kNone,         // not decided, or plain HTTP
    kEcho,         // /echo
    kPubSub,       // /: commands
    kHttpPublish,  // POST /publish waiting for the topic owner's answer (Session in kDeciding)
  };

  // Starts the close handshake for `reason`, with the code and text core::close_spec() maps
  // it to. In the handshake it just ends the Session (state kClosed, nothing to send).
  void close_session(core::CloseReason reason, uint64_t now_ms);
  // Sends an empty ping (idle check).
  void ping();
  // Queues a complete response and nothing else will be read (503 at the connection limit).
  void refuse(std::string_view response);
  // Queues a shared frame (the broadcast path): one reference, no copy, or its compressed
  // variant when the connection negotiated permessage-deflate. Returns its serial in the send
  // queue.
  uint64_t enqueue(SharedRef frame, ConnectionContext& context);
  // Swaps the queued entry `serial` for `frame` (or its compressed variant): conflation.
  void replace_queued(uint64_t serial, SharedRef frame, ConnectionContext& context);
  // Queues a notice (ack, error, gap, recovery) after any output the Session holds, written
  // straight into a shared buffer of its exact size.
  void send_notice(const protocol::pubsub::Notice& notice);

  [[nodiscard]] protocol::websocket::Session& session() { return session_; }
  [[nodiscard]] SendQueue& queue() { return queue_; }
  [[nodiscard]] const SendQueue& queue() const { return queue_; }

  [[nodiscard]] uint32_t slot() const { return slot_; }
  [[nodiscard]] uint32_t generation() const { return generation_; }
  [[nodiscard]] uint32_t file_slot() const { return file_slot_; }
  [[nodiscard]] Route route() const { return route_; }

  // Asks the CPU for the cache lines a delivery reads (the fan-out calls it a few subscribers
  // ahead), and with `queue_tail` for the send queue's next entry, which needs the first line.
  void prefetch() const {
    __builtin_prefetch(this);
    __builtin_prefetch(&io);
    __builtin_prefetch(&session_);
  }
  void prefetch_queue_tail() const { queue_.prefetch_tail(); }

  [[nodiscard]] TlsSession* tls() { return tls_.get(); }
  [[nodiscard]] bool is_tls() const { return tls_ != nullptr; }
  // Called once the handshake is accepted: the route, and whether deflate was agreed.
  void set_route(Route route) {
    route_ = route;
    deflate_ = session_.deflate_negotiated();
  }

  // The worker issues every operation of this connection and keeps their bookkeeping here.
  struct Io {
    // The flags come first: with the send queue and the subscriptions' pointers they are what
    // a delivery reads (see the layout note at the data members). One bit each: an idle
    // connection's bytes count (README, memory per connection).
    uint16_t ops_in_flight = 0;
    uint8_t send_entries = 0;  // the queued entries the send in flight covers (plain only)
    Phase phase = Phase::kActive;
    bool send_in_flight : 1 = false;
    bool recv_armed : 1 = false;          // a multishot receive is in flight
    bool recv_paused : 1 = false;         // reading stopped: the send queue is over its bound
    bool storage_paused : 1 = false;      // reading stopped: a topic's owner holds its publishes
    bool peer_eof : 1 = false;            // the peer ended its side (recv returned 0)
    bool ping_sent : 1 = false;           // an idle ping is out and nothing arrived since
    bool refused : 1 = false;             // answered 503; never counted as open
    bool in_flush_list : 1 = false;       // scheduled for a send this tick
    bool shutdown_in_flight : 1 = false;  // close_direct must wait for it (close_connection)
    bool file_closed : 1 = false;         // close_direct issued
    bool shrunk : 1 = false;              // Session buffers given back since the last receive
    uint8_t bad_commands = 0;             // pub/sub commands that failed in a row
    // For the debug line at release (worker.cc): the close handshake's code (ours when we
    // started it, else the peer's; 0 without one), why it ended (the first cause seen, a
    // CloseReason's label or "peer", "eof", "io_error", ...: static text), its age and bytes.
    uint16_t close_code = 0;
    uint8_t end_cause_size = 0;
    const char* end_cause_data = nullptr;
    uint64_t last_receive_ms = 0;  // for the idle timeout
    uint64_t phase_since_ms = 0;   // accept time, then when Close was sent or the phase changed
    uint64_t opened_ms = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;

    [[nodiscard]] std::string_view end_cause() const { return {end_cause_data, end_cause_size}; }
    // Keeps the first cause; `cause` must outlive the connection (a literal or a table's).
    void note_end(std::string_view cause) {
      if (end_cause_size != 0 || cause.empty()) return;
      end_cause_data = cause.data();
      end_cause_size = static_cast<uint8_t>(std::min<size_t>(cause.size(), UINT8_MAX));
    }
  };
  // Subscriptions and what the policies and replays keep for them (worker_pubsub.cc,
  // worker_history*.cc).
  struct PubSub {
    std::vector<std::string> subscriptions;         // filters, as subscribed
    std::unique_ptr<core::SlowConsumerState> slow;  // null until a policy first acts
    // Replays, catch-ups and live floors, by topic: null until a subscribe on a topic with
    // history, and again once no cursor is left.
    std::unique_ptr<ReplayTable> replays;
    std::unique_ptr<PatternHistory> pattern_history;  // null until a pattern meets history
  };

  // The data members are laid out for the fan-out, which reads a few fields of thousands of
  // connections per message: the identity, the send queue and the TLS pointer fill the first
  // cache line; the subscriptions' pointers and the I/O flags the second; the Session's state
  // opens the fourth, after the rest of Io. prefetch() asks for those three.
 private:
  // Identity: user_data of every operation carries (kind, generation, slot).
  const uint32_t slot_;
  const uint32_t generation_;
  const uint32_t file_slot_;  // index in the ring's direct-descriptor table
  bool tls_closed_ = false;   // the peer's close_notify arrived
  Route route_ = Route::kNone;
  bool deflate_ = false;  // permessage-deflate agreed: queued frames get their compressed variant
  SendQueue queue_;
  std::unique_ptr<TlsSession> tls_;  // null for a plain connection

 public:
  PubSub pubsub;
  Io io;

 private:
  // For TLS: decrypts the next record into the Session. False when there is none, or the
  // TLS session or the Session ended.
  bool decrypt_next(ConnectionContext& context);
  void encrypt_queued(ConnectionContext& context, size_t output_bytes_max);
  void end_tls(WorkerCounters& counters);
  void take_session_output();
  // `frames` as this connection is sent them: compressed when it negotiated deflate.
  SharedRef for_peer(SharedRef frames, ConnectionContext& context) const;
  void echo(protocol::websocket::Opcode opcode, std::span<const uint8_t> payload,
            ConnectionContext& context);

  protocol::websocket::Session session_;

 public:
  // Read and written by the AccessGate, through the Worker.
  AccessState access;
};

}  // namespace herald::broker::net
