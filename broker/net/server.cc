// Start-up: RLIMIT_NOFILE, the io_uring probe, listeners, per-worker table sizes; then worker
// threads, the signal wait, the drain and the graceful shutdown. Prints through log.h.
#include "broker/net/server.h"

#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker/io/backend.h"
#include "broker/net/cluster_nodes.h"
#include "broker/net/hub.h"
#include "broker/net/readiness.h"
#include "broker/net/shared_buffer.h"
#include "broker/net/systemd_notify.h"
#include "broker/net/tls_context.h"
#include "broker/net/worker.h"
#include "protocol/pubsub/notice.h"
#include "protocol/websocket/handshake.h"
#include "storage/storage_writer.h"

namespace herald::broker::net {

namespace {

// Start-up and reload lines; failures that end the start-up pass kError.
void print_line(const std::string& line, LogLevel level = LogLevel::kInfo) {
  log_line(level, line);
}

// Raises the soft open-file limit to the hard one: the kernel caps each ring's registered
// table at RLIMIT_NOFILE. Returns the limit now in force.
uint64_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

struct Plan {
  uint32_t workers = 1;
  WorkerLimits limits;
  uint64_t capacity = 0;  // connections the server will hold open
};

// Each worker's file table may hold every allowed connection (plus headroom for answering
// 503), up to RLIMIT_NOFILE: SO_REUSEPORT spreads connections by hash, not evenly, so a worker
// above its even share must not refuse while the --max-connections count (checked across
// workers) has room. Capacity is what the tables can actually hold: io_uring's direct
// descriptors count per ring, epoll's sockets per process.
Plan make_plan(const ServerConfig& config, uint64_t file_limit, io::BackendKind backend) {
  Plan plan;
  uint32_t cores = std::max(1u, std::thread::hardware_concurrency());
  plan.workers = config.workers != 0 ? config.workers : cores;
  // A few descriptors stay for listeners, eventfds and the process itself.
  uint64_t table_max = file_limit > 256 ? file_limit - 64 : file_limit;
  // --max-connections 0 (the default): as many as the tables hold, so more workers (io_uring)
  // or a higher limit raise it, and subscribers never take the last slot a publisher needs
  // at a round number.
  const bool automatic = config.max_connections == 0;
  uint64_t wanted = automatic ? table_max : config.max_connections + config.refusal_headroom_min;
  uint64_t table = std::min(wanted, table_max);
  uint64_t headroom = std::max<uint64_t>(config.refusal_headroom_min, table / 64);
  headroom = std::min(headroom, table / 2);
  plan.limits.table_slots = static_cast<uint32_t>(table);
  plan.limits.connections_max = static_cast<uint32_t>(table - headroom);
  plan.limits.backend = backend;
  uint64_t tables = backend == io::BackendKind::kUring ? plan.workers : 1;
  const uint64_t held = uint64_t{plan.limits.connections_max} * tables;
  plan.capacity = automatic ? held : std::min<uint64_t>(config.max_connections, held);
  plan.limits.open_max = plan.capacity;
  return plan;
}

common::Result<std::vector<Listener>> open_listeners(const ServerConfig& config, uint32_t count) {
  if (common::Status free = Listener::check_port_free(config.host, config.port); !free.is_ok()) {
    return {std::move(free), {}};
  }
  std::vector<Listener> listeners;
  uint16_t port = config.port;
  for (uint32_t i = 0; i < count; ++i) {
    common::Result<Listener> opened = Listener::open(config.host, port);
    if (!opened.status.is_ok()) return {std::move(opened.status), {}};
    port = opened.value.port();  // --port 0: the others share the port the first one got
    listeners.push_back(std::move(opened.value));
  }
  return {common::Status::ok(), std::move(listeners)};
}

struct Threads {
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  std::vector<common::Status> errors;
  std::unique_ptr<std::latch> ready;  // here, not on a stack the threads could outlive

  void stop_and_join() {
    // Every worker stops accepting before any is woken to close its clients with 1001: a
    // client told 1001 by one worker must not open a WebSocket on another whose stop request
    // is still on its way (SO_REUSEPORT spreads new connections over all of them).
    for (auto& worker : workers) worker->mark_stopping();
    for (auto& worker : workers) worker->request_stop();
    for (auto& thread : threads) thread.join();
  }
};

// Starts every worker on its own thread and waits until each has set up its ring (which
// must happen on that thread); no worker runs before all are set up. Fails with the first
// setup error.
common::Status start_workers(Threads& threads) {
  size_t count = threads.workers.size();
  threads.errors.resize(count);
  threads.ready = std::make_unique<std::latch>(static_cast<std::ptrdiff_t>(count));
  for (size_t i = 0; i < count; ++i) {
    threads.threads.emplace_back([&threads, i] {
      Worker& worker = *threads.workers[i];
      common::Status status = worker.setup();
      bool ok = status.is_ok();
      threads.errors[i] = std::move(status);
      // Wait for every worker's setup, not only our own: run() may wake a peer at once, and
      // the peer's ring and eventfd are in the Hub only once its setup is done.
      threads.ready->arrive_and_wait();
      if (ok) worker.run();
    });
  }
  threads.ready->wait();
  for (const common::Status& error : threads.errors) {
    if (!error.is_ok()) return error;
  }
  return common::Status::ok();
}

// The storage writer when --history rules exist (else null, and no data directory is made).
common::Result<std::unique_ptr<storage::StorageWriter>> open_storage(const ServerConfig& config,
                                                                     uint32_t workers) {
  if (config.history.empty() || !config.redis.empty()) return {};  // --redis: history in Redis
  storage::StorageConfig storage_config;
  storage_config.data_dir = config.data_dir;
  auto rules = storage::HistoryRules::parse(config.history);
  if (!rules.status.is_ok()) return {std::move(rules.status), nullptr};
  storage_config.rules = std::move(rules.value);
  storage_config.producer_count = workers;
  auto opened = storage::StorageWriter::open(std::move(storage_config));
  if (!opened.status.is_ok()) {
    return {common::Status::io_error("cannot open the history logs in " + config.data_dir + ": " +
                                     opened.status.message() +
                                     " (check --data-dir and its permissions)"),
            nullptr};
  }
  if (uint64_t skip = opened.value->crash_seq_skip(); skip != 0) {
    print_line("history: the logs in " + config.data_dir +
               " were not closed cleanly; every topic's sequence skips " + std::to_string(skip) +
               " numbers so that none delivered before the crash is reused");
  }
  return opened;
}

// Gives each worker its producer, and the owners of recovered topics their last sequence.
common::Status attach_storage(storage::StorageWriter& writer, core::HistoryTopics& topics,
                              const std::vector<std::unique_ptr<Worker>>& workers) {
  auto count = static_cast<uint32_t>(workers.size());
  for (uint32_t i = 0; i < count; ++i) {
    Worker* worker = workers[i].get();
    writer.producer(i).set_wake([worker] { worker->wake(); });
    worker->attach_storage(writer.producer(i), writer.rules(), topics);
  }
  for (const storage::TopicState& topic : writer.recovered_topics()) {
    topics.add(topic.topic);
    if (!workers[core::owner_of(topic.topic, count)]->continue_topic(topic.topic, topic.last_seq)) {
      return common::Status::invalid_argument(
          "the history logs hold more topics than --max-topics allows");
    }
  }
  return common::Status::ok();
}

// SIGHUP: a new context from the paths in `next`, or the old one kept with one line saying
// why. Connections already open keep the context they were accepted with. Returns whether it
// took the new one. A configuration without TLS now keeps the running listener's context
// (removing --tls-port needs a restart).
bool reload_tls(const ServerConfig& next, TlsContextSlot* slot) {
  if (slot == nullptr || !next.tls) return false;
  auto loaded = TlsContext::load(next.cert_path, next.key_path);
  if (!loaded.status.is_ok()) {
    print_line("TLS reload refused, keeping the previous certificate: " + loaded.status.message());
    return false;
  }
  slot->publish(std::move(loaded.value));
  print_line("TLS certificate reloaded from " + next.cert_path);
  return true;
}

// SIGHUP: the JWT key read again and the Origin settings, swapped in one snapshot. Returns
// whether it took them.
bool reload_access(const ServerConfig& next, const ServerConfig& running) {
  if (!running.access) return false;
  if (common::Status reloaded = running.access->reload(next.access_settings); !reloaded.is_ok()) {
    print_line("access reload refused, keeping the previous key and Origin settings: " +
               reloaded.message());
    return false;
  }
  const auth::AccessSettings& a = next.access_settings;
  if (!a.jwt_secret_file.empty() || !a.jwt_public_key.empty()) {
    print_line("JWT key reloaded from " +
               (a.jwt_secret_file.empty() ? a.jwt_public_key : a.jwt_secret_file));
  }
  return true;
}

// SIGHUP with a loader: the configuration again, what the running server can take applied
// to `running` (the signal thread's copy), one line per change and per change that needs a
// restart. A configuration that does not load changes nothing.
void reload_config(const ConfigLoader& load, ServerConfig& running, TlsContextSlot* slot) {
  FlagsResult next = load();
  if (next.status == FlagsResult::Status::kError) {
    print_line("SIGHUP: configuration refused, nothing changed: " + next.error);
    return;
  }
  std::vector<SettingChange> changes = diff_config(running, next.config);
  bool tls_taken = reload_tls(next.config, slot);
  bool access_taken = reload_access(next.config, running);
  for (const SettingChange& change : changes) {
    bool tls = change.name == "cert" || change.name == "key";
    bool taken = change.reloadable && (tls ? tls_taken : access_taken);
    std::string what = std::string(change.name) + " " + change.before + " -> " + change.after;
    if (taken) {
      print_line("SIGHUP: " + what + " (applied)");
    } else {
      print_line("SIGHUP: " + what + " needs a restart; still " + change.before);
    }
  }
  if (tls_taken) {
    running.cert_path = next.config.cert_path;
    running.key_path = next.config.key_path;
  }
  if (access_taken) {
    auth::AccessSettings& a = running.access_settings;
    const auth::AccessSettings& b = next.config.access_settings;
    a.jwt_secret_file = b.jwt_secret_file;
    a.jwt_public_key = b.jwt_public_key;
    a.allowed_origins = b.allowed_origins;
    a.allow_missing_origin = b.allow_missing_origin;
  }
  if (changes.empty()) print_line("SIGHUP: configuration reloaded, no setting changed");
}

// What ended serving: a signal or POST /admin/drain.
struct Wake {
  enum class Kind : uint8_t { kDrain, kStop, kHangup, kTimeout };
  Kind kind = Kind::kStop;
  std::string why;  // "SIGTERM", "POST /admin/drain"
};

// The main thread's wait: SIGINT, SIGTERM and SIGHUP through a signalfd (they are blocked in
// every thread), and the Hub's drain eventfd, in one poll.
class SignalWaiter {
 public:
  SignalWaiter(const sigset_t& signals, int drain_fd)
      : signal_fd_(signalfd(-1, &signals, SFD_CLOEXEC)), drain_fd_(drain_fd) {}
  ~SignalWaiter() {
    if (signal_fd_ >= 0) close(signal_fd_);
  }
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  // The next wake within `timeout_ms` (-1: none), kTimeout when nothing came.
  Wake next(int timeout_ms, bool with_drain) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {drain_fd_, POLLIN, 0}};
    const int ready = poll(fds, with_drain ? 2 : 1, timeout_ms);
    if (ready <= 0) return {Wake::Kind::kTimeout, ""};  // EINTR counts as a timeout
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info{};
      if (read(signal_fd_, &info, sizeof(info)) != sizeof(info)) return {Wake::Kind::kTimeout, ""};
      switch (info.ssi_signo) {
        case SIGHUP:
          return {Wake::Kind::kHangup, "SIGHUP"};
        case SIGTERM:
          return {Wake::Kind::kDrain, "SIGTERM"};
        default:
          return {Wake::Kind::kStop, "SIGINT"};
      }
    }
    uint64_t count = 0;
    [[maybe_unused]] ssize_t got = read(drain_fd_, &count, sizeof(count));
    return {Wake::Kind::kDrain, "POST /admin/drain"};
  }

  // Serves SIGHUPs until a signal or a drain request ends serving.
  template <typename OnHangup>
  Wake wait_for_end(OnHangup&& on_hangup) {
    for (;;) {  // bounded by the process's life: every wake but SIGHUP ends it
      Wake wake = next(-1, true);
      if (wake.kind == Wake::Kind::kHangup) {
        on_hangup();
      } else if (wake.kind != Wake::Kind::kTimeout) {
        return wake;
      }
    }
  }

 private:
  int signal_fd_;
  int drain_fd_;
};

// The reconnect notice every pub/sub client gets, encoded once for every worker: move now,
// spread over four fifths of the drain, so that most have left before the stragglers are
// closed and their reconnects do not arrive at the next server all at once.
SharedRef drain_frame(uint64_t drain_timeout_ms) {
  const protocol::pubsub::Notice notice =
      protocol::pubsub::Reconnect{0, drain_timeout_ms / 5 * 4, "drain"};
  SharedRef frame = SharedRef::allocate(protocol::pubsub::notice_frame_bytes(notice));
  protocol::pubsub::write_notice_frame(frame.mutable_bytes().data(), notice);
  return frame;
}

// The drain (README "Draining and rolling deploys"): /readyz fails, every worker closes its
// listeners and tells its pub/sub clients to move; then wait until none is left, the drain
// timeout passes, or SIGTERM or SIGINT comes again. The caller then stops the workers, which
// close whoever stayed with 1001.
template <typename OnHangup>
void drain(const ServerConfig& config, Hub& hub,
           const std::vector<std::unique_ptr<Worker>>& workers, SignalWaiter& waiter,
           OnHangup&& on_hangup, const std::string& why) {
  hub.readiness().set(NotReady::kDraining);
  const SharedRef frame = drain_frame(config.drain_timeout_ms);
  for (const auto& worker : workers) worker->request_drain(frame);
  log_line(LogLevel::kInfo, "draining: listeners closed, clients asked to reconnect elsewhere",
           {{"cause", why}, {"drain_timeout_ms", config.drain_timeout_ms}});
  const uint64_t start_ms = io::monotonic_ns() / 1000000;
  const uint64_t deadline_ms = start_ms + config.drain_timeout_ms;
  for (;;) {  // bounded by the deadline
    int64_t remaining = 0;
    bool counted = true;
    for (const auto& worker : workers) {
      const int64_t left = worker->drain_remaining();
      counted = counted && left >= 0;
      remaining += left > 0 ? left : 0;
    }
    const uint64_t now_ms = io::monotonic_ns() / 1000000;
    if (counted && remaining == 0) {
      log_line(LogLevel::kInfo, "drain done: every client moved",
               {{"elapsed_ms", now_ms - start_ms}});
      return;
    }
    if (now_ms >= deadline_ms) {
      log_line(LogLevel::kInfo, "drain timeout: closing the clients still here with 1001",
               {{"remaining", remaining}});
      return;
    }
    const Wake wake =
        waiter.next(static_cast<int>(std::min<uint64_t>(100, deadline_ms - now_ms)), false);
    if (wake.kind == Wake::Kind::kHangup) {
      on_hangup();
    } else if (wake.kind != Wake::Kind::kTimeout) {
      log_line(LogLevel::kInfo, "drain cut short: closing every client with 1001",
               {{"cause", wake.why}, {"remaining", remaining}});
      return;
    }
  }
}

}  // namespace

int run_server(const ServerConfig& config, const ConfigLoader& reload) {
  configure_logging(config.log_format, config.log_level);
  uint64_t file_limit = raise_file_limit();
  io::ResolvedBackend backend = io::resolve_backend(config.io);
  if (!backend.failure.empty()) {
    print_line(backend.failure, LogLevel::kError);
    return 1;
  }
  if (!backend.fallback_cause.empty()) {
    print_line("I/O on epoll: io_uring is unavailable: " + backend.fallback_cause);
  }
  Plan plan = make_plan(config, file_limit, backend.kind);
  std::unique_ptr<TlsContextSlot> tls_slot;
  std::vector<Listener> tls_listeners;
  if (config.tls) {
    auto loaded = TlsContext::load(config.cert_path, config.key_path);
    if (!loaded.status.is_ok()) {
      print_line(loaded.status.message() +
                     " (check --cert and --key: PEM files, the key matching the leaf)",
                 LogLevel::kError);
      return 1;
    }
    tls_slot = std::make_unique<TlsContextSlot>(std::move(loaded.value));
    ServerConfig tls_config = config;
    tls_config.port = config.tls_port;
    auto opened = open_listeners(tls_config, plan.workers);
    if (!opened.status.is_ok()) {
      print_line("--tls-port: " + opened.status.message(), LogLevel::kError);
      return 1;
    }
    tls_listeners = std::move(opened.value);
  }
  std::vector<Listener> listeners;
  if (!config.tls_only) {
    auto opened = open_listeners(config, plan.workers);
    if (!opened.status.is_ok()) {
      print_line(opened.status.message(), LogLevel::kError);
      return 1;
    }
    listeners = std::move(opened.value);
  } else {
    listeners.resize(plan.workers);  // closed: the workers accept on the TLS port only
  }
  uint16_t port = config.tls_only ? tls_listeners.front().port() : listeners.front().port();

  // Signals go to this thread's signalfd only: block them before any worker exists.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The first handshake's SHA-1 pulls about 2 MB of libcrypto's pages in: pay that here, once,
  // so that it is part of the broker's start and not of its first client (nor of the memory
  // the connections that follow seem to cost).
  [[maybe_unused]] const std::string warm =
      protocol::websocket::accept_key("c3RhcnQtdXAgd2FybWluZw==");
  protocol::websocket::SessionConfig session_config;
  session_config.message_bytes_max = config.max_message_bytes;
  // POST /publish bodies are messages: the same limit (413 above it).
  session_config.http_body_bytes_max = config.max_message_bytes;
  session_config.subprotocols = {"herald.v1"};
  session_config.deflate.enabled = config.compression;
  std::atomic<uint64_t> open_connections{0};
  // Declared before the threads: it outlives every worker and frees what they left in it.
  Hub hub(plan.workers, config.max_topics);
  auto opened_storage = open_storage(config, plan.workers);
  if (!opened_storage.status.is_ok()) {
    print_line(opened_storage.status.message(), LogLevel::kError);
    return 1;
  }
  std::unique_ptr<storage::StorageWriter> history = std::move(opened_storage.value);
  core::HistoryTopics history_topics;  // outlives the workers, which list topics in it
  Threads threads;
  for (uint32_t i = 0; i < plan.workers; ++i) {
    threads.workers.push_back(std::make_unique<Worker>(
        config, session_config, std::move(listeners[i]), plan.limits, open_connections, hub, i));
    if (tls_slot) threads.workers.back()->enable_tls(std::move(tls_listeners[i]), *tls_slot);
  }
  if (history != nullptr) {
    if (common::Status attached = attach_storage(*history, history_topics, threads.workers);
        !attached.is_ok()) {
      print_line(attached.message(), LogLevel::kError);
      return 1;
    }
    history->start();
  }
  // Declared after the workers, so destroyed (stopped) before them: the links call into them.
  auto opened_cluster = ClusterNodes::open(config, plan.workers);
  if (!opened_cluster.status.is_ok()) {
    if (history != nullptr) history->stop();
    print_line(opened_cluster.status.message(), LogLevel::kError);
    return 1;
  }
  std::unique_ptr<ClusterNodes> cluster = std::move(opened_cluster.value);
  if (cluster != nullptr) {
    cluster->attach(threads.workers, history_topics);
    hub.readiness().set(NotReady::kRedis);  // until worker 0 sees every server answer
  }
  if (common::Status started = start_workers(threads); !started.is_ok()) {
    threads.stop_and_join();
    if (history != nullptr) history->stop();
    print_line(started.message(), LogLevel::kError);
    return 1;
  }
  if (cluster != nullptr) {
    // After the workers' setup: a link wakes a worker through the eventfd setup() made.
    if (common::Status started = cluster->start(); !started.is_ok()) {
      threads.stop_and_join();
      if (history != nullptr) history->stop();
      print_line("redis: " + started.message(), LogLevel::kError);
      return 1;
    }
    log_line(LogLevel::kInfo, "one of several nodes, through " + std::to_string(cluster->size()) +
                                  " Redis server(s) (--redis)");
  }
  hub.readiness().clear(NotReady::kStarting);  // workers, listeners and storage are up
  if (tls_slot) {
    log_line(LogLevel::kInfo, "TLS listening on " + config.host + ":" +
                                  std::to_string(threads.workers.front()->tls_port()) +
                                  " (certificate " + config.cert_path + ")");
  }
  log_line(LogLevel::kInfo, "listening on " + config.host + ":" + std::to_string(port) + " (" +
                                std::to_string(plan.workers) + " workers, " +
                                std::string(io::backend_name(backend.kind)) + ", capacity " +
                                std::to_string(plan.capacity) + " connections)");
  // Auth off is the embedded default: say so once the server runs, never silently.
  if (config.access) print_line(config.access->describe());
  if (config.max_connections != 0 && plan.capacity < config.max_connections &&
      backend.kind == io::BackendKind::kUring) {
    // Each ring's direct-descriptor table is capped at RLIMIT_NOFILE, so only more rings
    // (workers) or a higher limit reach the configured maximum.
    const uint64_t per_worker = plan.limits.connections_max;
    log_line(LogLevel::kWarn,
             "--max-connections " + std::to_string(config.max_connections) + " is more than " +
                 std::to_string(plan.workers) + " workers can hold under the open-file limit " +
                 std::to_string(file_limit) + "; use --workers " +
                 std::to_string((config.max_connections + per_worker - 1) / per_worker) +
                 " or raise the limit");
  }

  notify_ready("listening on port " + std::to_string(port) + " (" +
               std::string(io::backend_name(backend.kind)) + ")");

  ServerConfig running = config;  // the signal thread's view, for the next reload's diff
  auto on_hangup = [&] {
    if (reload) {
      reload_config(reload, running, tls_slot.get());
    } else if (!reload_tls(config, tls_slot.get())) {
      if (!tls_slot) print_line("SIGHUP ignored: no TLS listener (--tls-port) to reload");
    }
  };
  SignalWaiter waiter(signals, hub.drain_fd());
  const Wake wake = waiter.wait_for_end(on_hangup);
  notify_stopping();  // before the drain, which may take --drain-timeout-ms
  if (wake.kind == Wake::Kind::kDrain && config.drain_timeout_ms > 0) {
    drain(config, hub, threads.workers, waiter, on_hangup, wake.why);
  }
  // Publishes still waiting for Redis fail (unavailable) while the workers can answer them.
  if (cluster != nullptr) cluster->stop();
  threads.stop_and_join();
  // Writes what the workers queued; it calls into them (wake), so it stops before they go.
  if (history != nullptr) history->stop();
  return 0;
}

}  // namespace herald::broker::net
