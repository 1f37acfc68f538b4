// One I/O thread: its io_uring, its SO_REUSEPORT listener, its provided buffers and the
// connections accepted on it. Owns every operation it issues and frees a connection only
// after the last of that connection's completions. Shares nothing per message with others.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "broker/io/buffer_ring.h"
#include "broker/io/ring.h"
#include "broker/net/config.h"
#include "broker/net/connection.h"
#include "broker/net/counters.h"
#include "broker/net/listener.h"
#include "broker/net/send_queue.h"

namespace herald::broker::net {

// Limits a worker is given by the Server.
struct WorkerLimits {
  uint32_t table_slots = 0;      // direct-descriptor table size (<= RLIMIT_NOFILE)
  uint32_t connections_max = 0;  // open connections on this worker; the rest of the table
                                 // is headroom for answering 503
};

class Worker {
 public:
  // `config`, `session_config` and `open_connections` (the count across workers, checked
  // against --max-connections) must outlive the worker. Constructed on any thread.
  Worker(const ServerConfig& config, const protocol::websocket::SessionConfig& session_config,
         Listener listener, WorkerLimits limits, std::atomic<uint64_t>& open_connections);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Thread: the worker's own, which then calls run() (the ring is SINGLE_ISSUER). Creates the
  // ring, the descriptor table and the buffers and arms accept. Returns "" or one line.
  [[nodiscard]] std::string setup();
  // Serves until request_stop() and the graceful shutdown are done.
  void run();
  // Any thread, any time after construction: starts the graceful shutdown.
  void request_stop();

  [[nodiscard]] uint16_t port() const { return listener_.port(); }
  // Read after run() returns, or by this worker's thread.
  [[nodiscard]] const WorkerCounters& counters() const { return counters_; }
  [[nodiscard]] size_t open_connections() const { return live_count_; }

 private:
  enum class OpKind : uint8_t;

  // The loop.
  void process_completions();
  void dispatch(const io::Completion& completion);
  void run_deferred();
  void flush_sends();

  // Worker operations.
  void submit_accept();
  void on_accept_complete(const io::Completion& completion);
  void submit_timer();
  void on_timer_complete();
  void submit_wake_read();
  void on_wake_complete();
  void sweep(Connection& connection);

  // Connection lifecycle.
  void open_connection(uint32_t file_slot);
  [[nodiscard]] Connection& connection_at(uint32_t slot, uint32_t generation);
  void submit_recv(Connection& connection);
  void on_recv_complete(Connection& connection, const io::Completion& completion);
  void on_bytes(Connection& connection, uint16_t buffer_id, size_t bytes);
  void pause_recv(Connection& connection);
  void submit_send(Connection& connection);
  void on_send_complete(Connection& connection, const io::Completion& completion);
  void schedule_flush(Connection& connection);
  void on_peer_eof(Connection& connection);
  void begin_flushing(Connection& connection);
  void end_tcp(Connection& connection);
  void close_connection(Connection& connection);
  void release_if_done(Connection& connection);
  void on_connection_complete(OpKind kind, Connection& connection,
                              const io::Completion& completion);
  [[nodiscard]] uint64_t tag(OpKind kind, const Connection& connection) const;
  [[nodiscard]] bool wants_recv(const Connection& connection) const;
  [[nodiscard]] Connection* find(uint64_t key) const;
  [[nodiscard]] static uint64_t key_of(const Connection& connection);

  const ServerConfig& config_;
  const protocol::websocket::SessionConfig& session_config_;
  Listener listener_;
  WorkerLimits limits_;
  std::atomic<uint64_t>& open_connections_;

  io::Ring ring_;
  io::BufferRing buffers_;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;  // the eventfd read lands here
  io::Timespec tick_{1, 0};
  uint64_t now_ms_ = 0;

  // Slots: connections_[slot] is live or null; generations_ tag each reuse.
  std::vector<Connection*> connections_;
  std::vector<uint32_t> generations_;
  std::vector<uint32_t> free_slots_;
  size_t live_count_ = 0;  // every connection object, refused ones and closing ones too
  size_t open_count_ = 0;  // accepted and not refused, not yet released
  // (slot, generation) pairs handled after the completions of a tick.
  std::vector<uint64_t> flush_list_;
  std::vector<uint64_t> rearm_list_;

  SendNodePool nodes_;
  SendOpPool send_ops_;
  WorkerCounters counters_;
  ConnectionContext context_;

  bool accept_armed_ = false;
  bool accept_retry_ = false;    // an accept error: re-arm on the next timer tick
  bool accept_blocked_ = false;  // -ENFILE: re-arm when a connection releases its slot
  bool stopping_ = false;
  bool timed_out_ = false;  // the shutdown deadline passed: every connection is cut
  uint64_t stop_deadline_ms_ = 0;
};

}  // namespace herald::broker::net
