// One I/O thread: the loop and its wiring. It owns its I/O backend (io_uring, epoll or a
// test's simulation), its SO_REUSEPORT listener, the connections accepted on it, their
// subscriptions (a Router) and the topics it owns (a TopicTable), and hands the decisions to
// the engine (broker/core) and to the objects beside it: AccessGate, Sweeper, HttpRoutes,
// HistoryClient, Replays, PeerChannels. Owns every operation it issues and frees a connection
// only after the last of its completions. Talks to other workers only through the Hub.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/fan_out.h"
#include "broker/core/history_topics.h"
#include "broker/core/publication.h"
#include "broker/core/router.h"
#include "broker/core/sequencer.h"
#include "broker/core/topic_table.h"
#include "broker/io/backend.h"
#include "broker/net/acceptor.h"
#include "broker/net/access_gate.h"
#include "broker/net/cluster_client.h"
#include "broker/net/config.h"
#include "broker/net/connection.h"
#include "broker/net/connection_table.h"
#include "broker/net/counters.h"
#include "broker/net/history_client.h"
#include "broker/net/http_routes.h"
#include "broker/net/hub.h"
#include "broker/net/listener.h"
#include "broker/net/peer_channels.h"
#include "broker/net/replays.h"
#include "broker/net/send_queue.h"
#include "broker/net/send_scratch.h"
#include "broker/net/stats_publisher.h"
#include "broker/net/sweeper.h"
#include "broker/net/tls_context.h"
#include "protocol/pubsub/command.h"
#include "storage/storage_writer.h"

namespace herald::broker::net {

// Limits a worker is given by the Server, and the I/O backend it runs.
struct WorkerLimits {
  uint32_t table_slots = 0;      // file table size (<= RLIMIT_NOFILE)
  uint32_t connections_max = 0;  // open connections on this worker; the rest of the table
                                 // is headroom for answering 503
  io::BackendKind backend = io::BackendKind::kUring;
  // Open connections across workers: --max-connections, or what the tables hold (server.cc).
  uint64_t open_max = UINT64_MAX;
};

class Worker final : private HttpRoutes::Publisher,
                     private HttpRoutes::Operations,
                     private Replays::Host,
                     private ClusterClient::Host {
 public:
  // `config`, `session_config`, `open_connections` (the count across workers, checked
  // against --max-connections) and `hub` must outlive the worker; `index` is its place in the
  // hub. Constructed on any thread.
  Worker(const ServerConfig& config, const protocol::websocket::SessionConfig& session_config,
         Listener listener, WorkerLimits limits, std::atomic<uint64_t>& open_connections, Hub& hub,
         uint32_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Before setup(): also accept TLS connections on `listener`, each with the context current in
  // `slot` at its accept. `slot` must outlive the worker. The plain listener may be closed
  // (a TLS-only server).
  void enable_tls(Listener listener, TlsContextSlot& slot);

  // Thread: the worker's own, which then calls run() (a ring is SINGLE_ISSUER). Creates the
  // I/O backend (its file table and buffers), or takes `backend` (a test's simulation), and
  // arms accept. Fails with one line.
  [[nodiscard]] common::Status setup(std::unique_ptr<io::Backend> backend = nullptr);
  // Serves until request_stop() and the graceful shutdown are done.
  void run();
  // One tick of run(): wait for completions, run them, flush. False once the worker is done.
  // A test over the simulated backend drives the loop with it, one tick at a time.
  bool run_once();
  // Any thread, any time after construction: starts the graceful shutdown.
  void request_stop();
  // Any thread: from now on new connections are refused, before request_stop() wakes the loop.
  void mark_stopping() { stop_requested_.store(true, std::memory_order_release); }
  // Any thread, once: starts the drain (README "Draining and rolling deploys"). The worker
  // stops accepting, sends `frame` (an encoded reconnect notice, shared by every worker) to
  // each open pub/sub connection and to those that open later, and closes /echo ones (1001).
  void request_drain(SharedRef frame);
  // Any thread: the pub/sub connections still open on this worker since its drain began,
  // counted every tick of the drain; -1 until the drain began here.
  [[nodiscard]] int64_t drain_remaining() const {
    return drain_remaining_.load(std::memory_order_acquire);
  }

  // History (worker_history.cc). Before the threads start, on the constructing thread: the
  // storage producer this worker uses and the rules it serves (both outlive the worker).
  void attach_storage(storage::StorageProducer& producer, const storage::HistoryRules& rules,
                      core::HistoryTopics& topics);
  // Before the threads start: continue `topic` after `last_seq` (this worker owns it).
  bool continue_topic(std::string_view topic, uint64_t last_seq);
  // Any thread: wakes the loop (the storage writer calls it when acks or reads are ready).
  void wake();

  // Several nodes (worker_cluster.cc). Before the threads start: publish and receive every
  // topic but $sys through `links` (one per --redis server, all outliving the worker), with
  // the history `rules` (redis rules) of each topic.
  void attach_cluster(const std::vector<cluster::RedisLink*>& links,
                      const storage::HistoryRules& rules, core::HistoryTopics& topics);

  [[nodiscard]] uint16_t port() const { return acceptor_.port(); }
  [[nodiscard]] uint16_t tls_port() const { return tls_acceptor_.port(); }
  // Any thread (single-writer cells).
  [[nodiscard]] const WorkerCounters& counters() const { return counters_; }
  [[nodiscard]] size_t open_connections() const { return connections_.size(); }

 private:
  enum class OpKind : uint8_t;

  // The loop (worker.cc).
  void process_completions();
  void dispatch(const io::Completion& completion);
  void run_deferred();
  void flush_sends();

  // Worker operations and shutdown (worker_lifecycle.cc).
  void on_accept_complete(Acceptor& acceptor, const io::Completion& completion, bool tls);
  void submit_timer();
  void on_timer_complete();
  void submit_wake_read();
  void on_wake_complete();
  void begin_stop();
  void begin_drain();
  void send_drain_notice(Connection& connection);
  void count_drain_remaining();
  // Listeners close for the drain and for the shutdown.
  [[nodiscard]] bool closing_listeners() const {
    return stopping_ || draining_ || stop_requested_.load(std::memory_order_acquire);
  }
  // Carries out the Sweeper's decision for one connection.
  void sweep(Connection& connection, int64_t unix_now_s);

  // Connection lifecycle (worker.cc).
  void open_connection(uint32_t file_slot, bool tls = false);
  void submit_recv(Connection& connection);
  void on_recv_complete(Connection& connection, const io::Completion& completion);
  void on_bytes(Connection& connection, uint16_t buffer_id, size_t bytes);
  // Acts on every event the connection's received bytes made (requests, commands).
  void take_events(Connection& connection);
  void pause_recv(Connection& connection);
  void stop_recv(Connection& connection);
  void submit_send(Connection& connection);
  void on_send_complete(Connection& connection, const io::Completion& completion);
  void schedule_flush(Connection& connection);
  void on_peer_eof(Connection& connection);
  // Starts the close handshake for `reason` (core::close_spec maps it to a code) and counts it.
  void close_websocket(Connection& connection, core::CloseReason reason);
  void begin_flushing(Connection& connection);
  void end_tcp(Connection& connection);
  void close_connection(Connection& connection);
  void close_file(Connection& connection);
  void release_if_done(Connection& connection);
  // The debug line of a connection's end: why, the close code, its age and its bytes.
  void log_close(const Connection& connection) const;
  void on_connection_complete(OpKind kind, Connection& connection,
                              const io::Completion& completion);
  [[nodiscard]] uint64_t tag(OpKind kind, const Connection& connection) const;
  [[nodiscard]] bool wants_recv(const Connection& connection) const;
  [[nodiscard]] Connection* find(uint64_t key) const { return connections_.find(key); }
  [[nodiscard]] static uint64_t key_of(const Connection& connection) {
    return ConnectionTable::key_of(connection);
  }

  // Requests and access, through gate_ and routes_ (worker_access.cc): the SO_PEERNAME the
  // gate needs, and carrying out its refusals. The command checks answer with an error reply.
  void on_request(Connection& connection, bool upgrade);
  [[nodiscard]] std::string metrics_text() const override;
  [[nodiscard]] uint32_t not_ready() const override { return hub_.not_ready(); }
  void request_drain() override { hub_.request_drain(); }
  void submit_peer_name(Connection& connection);
  void on_peer_name_complete(Connection& connection, const io::Completion& completion);
  // False when refused; a kRespond or kClose admission is carried out here.
  bool admit(Connection& connection, const Admission& admission);
  [[nodiscard]] bool permit_command(Connection& connection,
                                    const protocol::pubsub::Command& command);
  void authenticate(Connection& connection, const protocol::pubsub::Command& command);

  // Commands (worker_pubsub.cc).
  void on_command(Connection& connection, std::span<const uint8_t> payload, bool binary);
  void subscribe(Connection& connection, const protocol::pubsub::Command& command);
  void unsubscribe(Connection& connection, const protocol::pubsub::Command& command);
  void publish(Connection& connection, const protocol::pubsub::Command& command);
  void command_failed(Connection& connection, std::string_view id, protocol::pubsub::ErrorCode code,
                      std::string_view text) override;
  void send_notice(Connection& connection, const protocol::pubsub::Notice& notice) override;
  void drop_subscriptions(Connection& connection);
  [[nodiscard]] static uint64_t subscriber_id(const Connection& connection,
                                              std::string_view filter);

  // Sequencing and fan-out (worker_pubsub.cc).
  // Publishes here when this worker owns the topic (returns true with status and seq), else
  // forwards it to the owner and returns false: the answer comes back through a channel.
  [[nodiscard]] bool route_publish(const core::PublishRequest::Fields& fields,
                                   core::PublishRequest::Status& status, uint64_t& seq) override;
  // The owner's part: the next seq, one encoded frame, one reference to every worker with
  // subscriptions (this one directly). Returns the seq, or 0 at the topic limit.
  // `ticket` is the history append's (0 without history): the ack must wait for it.
  [[nodiscard]] uint64_t sequence(const core::PublishRequest::Fields& fields, uint64_t& ticket);
  void deliver(const SharedRef& frame);
  void deliver_to(Connection& connection, const SharedRef& frame, std::string_view topic,
                  protocol::pubsub::Policy policy) override;
  void disconnect_slow(Connection& connection);
  [[nodiscard]] static size_t entries_in_send(const Connection& connection);

  // History, durable acks and replay (worker_history.cc).
  // Queues the append of a message of a topic with history before it is broadcast (the
  // replay seam relies on that order). Returns its ticket, 0 when the topic keeps no history.
  [[nodiscard]] uint64_t append_history(const core::PublishRequest::Fields& fields, uint64_t seq);
  void answer_publish(core::PublishRequest* request);
  // Back-pressure (worker_history.cc): publishes to topics with history wait in the history
  // client while the storage queue is full, and their publishers stop reading.
  [[nodiscard]] bool must_wait_for_storage(std::string_view topic);
  void hold_publish(core::PublishRequest* request);
  void release_held_publishes();
  // After a publish on `topic` by `connection`: stop reading it while the owner holds.
  void pause_if_storage_busy(Connection& connection, std::string_view topic);
  void resume_storage_paused();
  // POST /publish answers 503 rather than wait: the owner of `topic` holds publishes.
  [[nodiscard]] bool storage_busy(std::string_view topic) override;
  // The owner of `topic` when it keeps history and its owner holds publishes.
  [[nodiscard]] std::optional<uint32_t> busy_owner(std::string_view topic);
  void storage_tick();
  // Replays::Host (worker_history.cc and the worker's own methods of the same names).
  [[nodiscard]] Connection* find_connection(uint64_t key) override;
  void enqueue(Connection& connection, SharedRef frames) override;
  void bump_seams() override;

  // The $sys statistics (worker_stats.cc), once a second with --admin-token-file: every
  // worker posts its busiest topics and subscriber counts to the hub's board; worker 0
  // publishes $sys.stats and $sys.topics through route_publish like any message.
  void stats_tick();
  void publish_stats(std::string_view topic, const std::string& json);

  // ClusterClient::Host and the readiness it drives (worker_cluster.cc).
  // A pattern subscribe with several nodes: every topic with history it matches starts its
  // feed now, before the replays read (ClusterClient::follow).
  void follow_replayed_topics(std::string_view pattern);
  [[nodiscard]] bool has_subscribers(std::string_view topic) override;
  void deliver_clustered(std::string_view topic, uint64_t seq,
                         const cluster::ClusterMessage& message, bool own) override;
  void deliver_gap(std::string_view topic, uint64_t missed) override;
  void deliver_reset(std::string_view topic, uint64_t epoch) override;
  // One notice to each connection subscribed to `topic` (once, whatever matched it).
  void notify_subscribers(std::string_view topic, const protocol::pubsub::Notice& notice);
  void answer_clustered(core::PublishRequest* request) override;
  void cluster_timer();

  // The TLS listener (worker_tls.cc).
  [[nodiscard]] const TlsContext& tls_context();

  // Items from and to other workers (worker_channels.cc).
  void push_item(uint32_t to, ChannelItem item);
  void on_item(const ChannelItem& item);
  void on_publish_request(core::PublishRequest* request);
  // The owner's part for a request: sequence it, then answer it (at once, or once durable).
  void sequence_request(core::PublishRequest* request);
  void on_publish_answer(core::PublishRequest* request);

  const ServerConfig& config_;
  const protocol::websocket::SessionConfig& session_config_;
  Acceptor acceptor_;
  WorkerLimits limits_;
  std::atomic<uint64_t>& open_connections_;
  Hub& hub_;
  const uint32_t index_;

  std::unique_ptr<io::Backend> io_;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;  // the eventfd read lands here
  std::atomic<bool> stop_requested_{false};
  io::Timespec tick_{1, 0};
  uint64_t now_ms_ = 0;

  ConnectionTable connections_;
  size_t open_count_ = 0;  // accepted and not refused, not yet released
  // (slot, generation) pairs handled after the completions of a tick.
  std::vector<uint64_t> flush_list_;
  std::vector<uint64_t> rearm_list_;

  ReleaseBatch released_;           // what sends completed this tick give back (batched_refs.h)
  PrepaidRefs* prepaid_ = nullptr;  // while deliver() runs: the frame's references, bought in bulk
  SendOp gather_;  // the send being gathered (1 KiB: not on the stack of every submit)
  SendScratch send_scratch_;
  WorkerCounters counters_;
  std::unique_ptr<FrameCompressor> compressor_;  // null when --compression is off
  ConnectionContext context_;
  AccessGate gate_{config_, counters_};
  Sweeper sweeper_{config_, gate_};
  HttpRoutes routes_{config_, gate_, counters_, *this, *this};

  // Pub/sub state of this worker.
  core::Router router_;
  core::TopicTable topics_;
  protocol::pubsub::CommandParser parser_;
  std::vector<const core::Subscription*> matches_;  // reused by every delivery
  std::vector<core::FanOutTarget> targets_;         // reused by every delivery
  core::Sequencer<SharedRef> sequencer_{topics_};
  core::FanOut<SharedRef> fan_out_{config_.max_queued_bytes};
  PeerChannels channels_;
  uint32_t peer_address_bytes_ = 0;  // SO_PEERNAME length for the listener's family
  bool peer_name_failed_ = false;    // the kernel lacks SO_PEERNAME over io_uring (logged once)

  // History: null without --history rules.
  std::unique_ptr<HistoryClient> history_;
  std::unique_ptr<Replays> replays_;
  bool storage_failure_logged_ = false;
  bool storage_failure_ready_marked_ = false;  // NotReady::kStorageFailed set
  struct StoragePause {
    uint64_t connection;
    uint32_t owner;  // whose storage_busy it waits on
  };
  std::vector<StoragePause> storage_paused_;
  std::unique_ptr<ClusterClient> cluster_;        // null without --redis
  std::vector<const core::Subscription*> probe_;  // has_subscribers()' matches
  std::vector<std::string> cluster_topics_;       // follow_replayed_topics()' matches
  std::unique_ptr<StatsPublisher> stats_;         // null until the first stats_tick()
  std::vector<core::TopicRate> busiest_;          // reused by each stats_tick()
  // TLS: null slot for a plain-only server.
  Acceptor tls_acceptor_;
  TlsContextSlot* tls_slot_ = nullptr;
  std::shared_ptr<const TlsContext> tls_context_;  // what new connections get
  uint64_t tls_generation_ = 0;                    // of tls_context_ in the slot
  std::vector<uint8_t> tls_scratch_;               // read and write scratch, one record each

  // The drain: requested by the server thread, which sets drain_frame_ before the flag.
  std::atomic<bool> drain_requested_{false};
  SharedRef drain_frame_;
  bool draining_ = false;
  std::atomic<int64_t> drain_remaining_{-1};

  bool stopping_ = false;
  bool timed_out_ = false;  // the shutdown deadline passed: every connection is cut
  uint64_t stop_deadline_ms_ = 0;
};

}  // namespace herald::broker::net
