// Start-up: RLIMIT_NOFILE, the io_uring probe, listeners, per-worker table sizes; then worker
// threads, sigwait, and the graceful shutdown. The only place that prints (start-up lines).
#include "broker/net/server.h"

#include <pthread.h>
#include <sys/resource.h>

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
#include "broker/net/hub.h"
#include "broker/net/systemd_notify.h"
#include "broker/net/tls_context.h"
#include "broker/net/worker.h"
#include "storage/storage_writer.h"

namespace herald::broker::net {

namespace {

void print_line(const std::string& line) { std::fprintf(stderr, "herald: %s\n", line.c_str()); }

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
  uint64_t wanted = config.max_connections + config.refusal_headroom_min;
  uint64_t table = std::min(wanted, table_max);
  uint64_t headroom = std::max<uint64_t>(config.refusal_headroom_min, table / 64);
  headroom = std::min(headroom, table / 2);
  plan.limits.table_slots = static_cast<uint32_t>(table);
  plan.limits.connections_max = static_cast<uint32_t>(table - headroom);
  plan.limits.backend = backend;
  uint64_t tables = backend == io::BackendKind::kUring ? plan.workers : 1;
  plan.capacity =
      std::min<uint64_t>(config.max_connections, uint64_t{plan.limits.connections_max} * tables);
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
  if (config.history.empty()) return {};
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

}  // namespace

int run_server(const ServerConfig& config, const ConfigLoader& reload) {
  uint64_t file_limit = raise_file_limit();
  io::ResolvedBackend backend = io::resolve_backend(config.io);
  if (!backend.failure.empty()) {
    print_line(backend.failure);
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
                 " (check --cert and --key: PEM files, the key matching the leaf)");
      return 1;
    }
    tls_slot = std::make_unique<TlsContextSlot>(std::move(loaded.value));
    ServerConfig tls_config = config;
    tls_config.port = config.tls_port;
    auto opened = open_listeners(tls_config, plan.workers);
    if (!opened.status.is_ok()) {
      print_line("--tls-port: " + opened.status.message());
      return 1;
    }
    tls_listeners = std::move(opened.value);
  }
  std::vector<Listener> listeners;
  if (!config.tls_only) {
    auto opened = open_listeners(config, plan.workers);
    if (!opened.status.is_ok()) {
      print_line(opened.status.message());
      return 1;
    }
    listeners = std::move(opened.value);
  } else {
    listeners.resize(plan.workers);  // closed: the workers accept on the TLS port only
  }
  uint16_t port = config.tls_only ? tls_listeners.front().port() : listeners.front().port();

  // Signals go to sigwait in this thread only: block them before any worker exists.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  protocol::websocket::SessionConfig session_config;
  session_config.message_bytes_max = config.max_message_bytes;
  // POST /publish bodies are messages: the same limit (413 above it).
  session_config.http_body_bytes_max = config.max_message_bytes;
  session_config.subprotocols = {"herald.v1"};
  std::atomic<uint64_t> open_connections{0};
  // Declared before the threads: it outlives every worker and frees what they left in it.
  Hub hub(plan.workers, config.max_topics);
  auto opened_storage = open_storage(config, plan.workers);
  if (!opened_storage.status.is_ok()) {
    print_line(opened_storage.status.message());
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
      print_line(attached.message());
      return 1;
    }
    history->start();
  }
  if (common::Status started = start_workers(threads); !started.is_ok()) {
    threads.stop_and_join();
    if (history != nullptr) history->stop();
    print_line(started.message());
    return 1;
  }
  if (tls_slot) {
    std::fprintf(stderr, "herald: TLS listening on %s:%u (certificate %s)\n", config.host.c_str(),
                 static_cast<unsigned>(threads.workers.front()->tls_port()),
                 config.cert_path.c_str());
  }
  std::fprintf(stderr,
               "herald: listening on %s:%u (%u workers, %s, capacity %llu "
               "connections)\n",
               config.host.c_str(), static_cast<unsigned>(port), plan.workers,
               std::string(io::backend_name(backend.kind)).c_str(),
               static_cast<unsigned long long>(plan.capacity));
  // Auth off is the embedded default: say so once the server runs, never silently.
  if (config.access) print_line(config.access->describe());
  if (plan.capacity < config.max_connections && backend.kind == io::BackendKind::kUring) {
    // Each ring's direct-descriptor table is capped at RLIMIT_NOFILE, so only more rings
    // (workers) or a higher limit reach the configured maximum.
    std::fprintf(
        stderr,
        "herald: warning: --max-connections %llu is more than %u workers can hold "
        "under the open-file limit %llu; use --workers %llu or raise the limit\n",
        static_cast<unsigned long long>(config.max_connections), plan.workers,
        static_cast<unsigned long long>(file_limit),
        static_cast<unsigned long long>((config.max_connections + plan.limits.connections_max - 1) /
                                        plan.limits.connections_max));
  }

  notify_ready("listening on port " + std::to_string(port) + " (" +
               std::string(io::backend_name(backend.kind)) + ")");

  int signal = 0;
  ServerConfig running = config;  // the signal thread's view, for the next reload's diff
  // Bounded by the process's life: every signal but SIGHUP ends the loop.
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    if (reload) {
      reload_config(reload, running, tls_slot.get());
    } else if (!reload_tls(config, tls_slot.get())) {
      if (!tls_slot) print_line("SIGHUP ignored: no TLS listener (--tls-port) to reload");
    }
  }
  notify_stopping();
  threads.stop_and_join();
  // Writes what the workers queued; it calls into them (wake), so it stops before they go.
  if (history != nullptr) history->stop();
  return 0;
}

}  // namespace herald::broker::net
