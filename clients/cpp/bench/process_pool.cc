// The process pool of the idle and conns scenarios. The parent forks the client processes
// (one fd per connection, at most 19,000 per process), reads the broker's /proc figures and
// reports; each child dials its share, readies it, holds it until told, closes it and
// reports through a pipe.
#include "clients/cpp/bench/process_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <type_traits>
#include <vector>

#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/loop_setup.h"
#include "clients/cpp/bench/proc_stats.h"

namespace herald::bench {

namespace {

constexpr int64_t kCloseTimeoutNs = 3'000'000'000;

// Closing costs the broker about what opening did, so the wait for the closing handshakes
// grows with the connections, at the connect rate, twice over for a loaded machine.
int64_t close_timeout_ns(uint32_t connections, uint32_t connect_rate) {
  return kCloseTimeoutNs + static_cast<int64_t>(2e9 * connections / connect_rate);
}
constexpr int64_t kReportSlackNs = 5'000'000'000;

struct Child {
  pid_t pid = -1;
  int report_fd = -1;   // parent reads
  int control_fd = -1;  // parent writes one byte: "close your connections now"
  uint32_t connections = 0;
  bool alive = true;
  ChildReport report;
};

bool write_report(int fd, const ChildReport& report) {
  ssize_t written;
  do {
    written = ::write(fd, &report, sizeof(report));
  } while (written < 0 && errno == EINTR);
  return written == static_cast<ssize_t>(sizeof(report));
}

// With --reconnect: the hold, redialing whatever ends, paced at the connect rate in 50 ms
// slices (so a refused dial is retried 50 ms later), until the deadline or the parent's word.
void hold_reconnecting(ClientLoop& loop, uint32_t connect_rate, int64_t deadline_ns) {
  constexpr int64_t kSliceNs = 50'000'000;
  const size_t per_slice = std::max<size_t>(1, connect_rate / 20);
  while (!loop.watched_fd_ready() && now_ns() < deadline_ns) {
    loop.poll(std::min(deadline_ns, now_ns() + kSliceNs));
    loop.redial_closed(per_slice);
  }
}

// The child's whole life; returns its exit status. Its fds are its own: the parent's
// stdout is never written here.
int child_main(const PoolScenario& scenario, PoolHandler& handler, LoopConfig config, int report_fd,
               int control_fd, int64_t dial_deadline_ns, int64_t hold_deadline_ns, bool reconnect) {
  const int64_t close_timeout = close_timeout_ns(config.connections, config.connect_rate);
  const uint32_t connect_rate = config.connect_rate;
  std::string error;
  std::unique_ptr<ClientLoop> loop = ClientLoop::create(std::move(config), handler, error);
  if (!loop) {
    std::cerr << "herald-bench " << scenario.name << ": " << error << "\n";
    return 1;
  }
  handler.attach(*loop);
  loop->watch_fd(control_fd);
  ChildReport report;
  report.phase = 1;
  report.dial = loop->dial(dial_deadline_ns);
  // Readied (subscribed) before the parent samples the broker; within the parent's patience.
  loop->run(dial_deadline_ns + kReportSlackNs / 2, [&handler] { return handler.ready(); });
  handler.fill(report);
  if (!write_report(report_fd, report)) return 1;

  if (reconnect) {
    hold_reconnecting(*loop, connect_rate, hold_deadline_ns);
  } else {
    loop->run(hold_deadline_ns, [] { return false; });
  }
  report.phase = 2;
  report.hold = loop->close_stats();
  const int64_t close_start = now_ns();
  loop->close_all(close_start + close_timeout);
  report.close = loop->close_stats();
  report.close_elapsed_ns = now_ns() - close_start;
  handler.fill(report);
  if (report.close.close_timeouts > 0) {
    // One write() per line: the children share stderr.
    const std::string line =
        "herald-bench " + std::string(scenario.name) + ": pid " + std::to_string(::getpid()) +
        ": " + std::to_string(report.close.close_timeouts) +
        " closing handshakes unanswered after " +
        std::to_string(static_cast<double>(report.close_elapsed_ns) / 1e9) + " s\n";
    (void)!::write(STDERR_FILENO, line.data(), line.size());
  }
  return write_report(report_fd, report) ? 0 : 1;
}

// Waits until every live child has sent the report for `phase` or `deadline_ns` passes; a
// child that closes its pipe first (it died) is marked dead.
void collect_reports(std::vector<Child>& children, uint32_t phase, int64_t deadline_ns) {
  while (now_ns() < deadline_ns) {
    std::vector<pollfd> waiting;
    std::vector<Child*> owners;
    for (Child& child : children) {
      if (child.alive && child.report.phase < phase) {
        waiting.push_back({child.report_fd, POLLIN, 0});
        owners.push_back(&child);
      }
    }
    if (waiting.empty()) return;
    const int timeout_ms = static_cast<int>((deadline_ns - now_ns()) / 1'000'000 + 1);
    if (::poll(waiting.data(), waiting.size(), timeout_ms) <= 0) continue;
    for (size_t i = 0; i < waiting.size(); ++i) {
      if (waiting[i].revents == 0) continue;
      ChildReport report;
      const ssize_t got = ::read(waiting[i].fd, &report, sizeof(report));
      if (got == static_cast<ssize_t>(sizeof(report))) {
        owners[i]->report = report;
      } else if (got == 0 || (got < 0 && errno != EINTR)) {
        owners[i]->alive = false;
      }
    }
  }
}

// Forks `process_count` children, each dialing its share of the connections. The global
// connection index continues across children, so source addresses stay round-robin.
bool spawn_children(const PoolScenario& scenario, const LoopConfig& base, const Options& options,
                    uint32_t process_count, int64_t dial_deadline_ns, int64_t hold_deadline_ns,
                    std::vector<Child>& children, std::string& error) {
  const pid_t parent = ::getpid();
  uint32_t offset = 0;
  std::fflush(nullptr);  // a child must not inherit (and later flush) buffered output
  for (uint32_t k = 0; k < process_count; ++k) {
    Child child;
    child.connections =
        options.connections / process_count + (k < options.connections % process_count ? 1 : 0);
    int report[2];
    int control[2];
    if (::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(control, O_CLOEXEC) != 0) {
      error = std::string("pipe: ") + std::strerror(errno);
      return false;
    }
    child.pid = ::fork();
    if (child.pid < 0) {
      error = std::string("fork: ") + std::strerror(errno);
      return false;
    }
    if (child.pid == 0) {
      // The child dies with the parent rather than hold connections nobody will close.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      for (const Child& sibling : children) {
        ::close(sibling.report_fd);
        ::close(sibling.control_fd);
      }
      ::close(report[0]);
      ::close(control[1]);
      LoopConfig config = base;
      config.connections = child.connections;
      config.source_offset = offset;
      config.connect_rate = std::max<uint32_t>(1, options.connect_rate / process_count);
      config.handshakes_in_flight =
          std::max<uint32_t>(1, options.handshakes_in_flight / process_count);
      const std::unique_ptr<PoolHandler> handler = scenario.make_handler(options, offset);
      ::_exit(child_main(scenario, *handler, std::move(config), report[1], control[0],
                         dial_deadline_ns, hold_deadline_ns, options.reconnect));
    }
    ::close(report[1]);
    ::close(control[0]);
    child.report_fd = report[0];
    child.control_fd = control[1];
    offset += child.connections;
    children.push_back(child);
  }
  return true;
}

// Tells every child to close, collects the final reports and reaps the processes; a child
// that does not report in time is killed.
void finish_children(std::vector<Child>& children, int64_t close_timeout) {
  for (Child& child : children) {
    const char go = 1;
    if (child.alive && ::write(child.control_fd, &go, 1) != 1) child.alive = false;
  }
  // Children stop waiting at close_timeout but may need a while more to drop what is left.
  collect_reports(children, 2, now_ns() + 2 * close_timeout + kReportSlackNs);
  for (Child& child : children) {
    if (child.report.phase < 2) ::kill(child.pid, SIGKILL);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) child.alive = false;
    ::close(child.report_fd);
    ::close(child.control_fd);
  }
}

struct BrokerSample {
  std::optional<long> rss_kib;
  std::optional<double> cpu_s;
};

BrokerSample sample_broker(const Options& options) {
  if (options.server_pid == 0) return {};
  return {read_rss_kib(options.server_pid), read_cpu_s(options.server_pid)};
}

uint32_t process_count(const Options& options) {
  if (options.processes != 0) return options.processes;
  return (options.connections + kConnectionsPerProcessMax - 1) / kConnectionsPerProcessMax;
}

bool check_limits(const Options& options, std::string& error) {
  const uint32_t processes = process_count(options);
  const uint32_t per_process = (options.connections + processes - 1) / processes;
  const uint64_t fd_limit = raise_fd_limit();
  if (processes > options.connections) {
    error = "more processes than connections";
    return false;
  }
  if (per_process > kConnectionsPerProcessMax || per_process + 16 > fd_limit) {
    error = std::to_string(per_process) + " connections per process exceed the limit of " +
            std::to_string(std::min<uint64_t>(kConnectionsPerProcessMax, fd_limit - 16)) +
            ": raise --processes";
    return false;
  }
  return true;
}

int fail(const PoolScenario& scenario, JsonWriter& out, const std::string& error) {
  out.field("error", error);
  std::cerr << "herald-bench " << scenario.name << ": " << error << "\n";
  return 1;
}

void write_broker_results(const Options& options, const BrokerSample& before,
                          const BrokerSample& settled, const BrokerSample& held, uint64_t opened,
                          JsonWriter& out) {
  if (options.server_pid == 0) return;
  if (before.rss_kib && settled.rss_kib) {
    out.field("rss_before_kib", static_cast<int64_t>(*before.rss_kib));
    out.field("rss_after_kib", static_cast<int64_t>(*settled.rss_kib));
    const double delta_bytes = static_cast<double>(*settled.rss_kib - *before.rss_kib) * 1024;
    out.field("bytes_per_connection",
              opened > 0 ? static_cast<double>(static_cast<int64_t>(delta_bytes / opened)) : 0.0);
  }
  if (before.cpu_s && settled.cpu_s && held.cpu_s) {
    out.field("server_cpu_connect_s", *settled.cpu_s - *before.cpu_s);
    out.field("server_cpu_hold_s", *held.cpu_s - *settled.cpu_s);
  }
}

void write_params(const PoolScenario& scenario, const Options& options, JsonWriter& out) {
  out.begin_object("params");
  write_common_params(options, out);
  out.field("processes", process_count(options));
  out.field("hold_s", options.hold_s);
  out.field("settle_s", std::min(options.settle_s, options.hold_s));
  if (scenario.write_params != nullptr) scenario.write_params(options, out);
  out.end_object();
}

// When messages arrived (first and last, over all children), and with --reconnect the storm:
// connections lost, resubscribed, and the time from the first loss to the moment each child
// had all its connections subscribed again (the latest of those).
void write_timing_results(const PoolScenario& scenario, const Options& options,
                          const std::vector<Child>& children, JsonWriter& out) {
  int64_t first_message = 0;
  int64_t last_message = 0;
  int64_t first_lost = 0;
  int64_t all_subscribed = 0;
  uint64_t lost = 0;
  uint64_t resubscribed = 0;
  uint64_t subscribed_now = 0;
  bool complete = true;
  for (const Child& child : children) {
    const ChildReport& report = child.report;
    if (report.first_message_ns != 0 &&
        (first_message == 0 || report.first_message_ns < first_message)) {
      first_message = report.first_message_ns;
    }
    last_message = std::max(last_message, report.last_message_ns);
    if (report.first_lost_ns != 0 && (first_lost == 0 || report.first_lost_ns < first_lost)) {
      first_lost = report.first_lost_ns;
    }
    lost += report.lost;
    resubscribed += report.resubscribed;
    subscribed_now += report.subscribed_now;
    // A child that lost nothing was complete all along.
    if (report.lost > 0) {
      complete = complete && report.all_subscribed_ns != 0;
      all_subscribed = std::max(all_subscribed, report.all_subscribed_ns);
    }
  }
  out.field("first_message_ns", first_message);
  out.field("last_message_ns", last_message);
  if (!scenario.reconnects || !options.reconnect) return;
  out.begin_object("reconnect");
  out.field("lost", lost);
  out.field("resubscribed", resubscribed);
  out.field("subscribed_at_end", subscribed_now);
  out.field("first_lost_ns", first_lost);
  out.field("all_subscribed_ns", complete && lost > 0 ? all_subscribed : 0);
  if (complete && lost > 0) {
    out.field("storm_s", static_cast<double>(all_subscribed - first_lost) / 1e9);
  } else {
    out.null_field("storm_s");
  }
  out.end_object();
}

void write_child_results(const PoolScenario& scenario, const Options& options,
                         const std::vector<Child>& children, JsonWriter& out) {
  DialStats dial;
  CloseStats hold;
  CloseStats close;
  uint64_t messages = 0;
  uint64_t subscribed = 0;
  uint64_t subscribe_errors = 0;
  uint64_t child_failures = 0;
  int64_t close_elapsed_ns = 0;
  for (const Child& child : children) {
    if (!child.alive || child.report.phase < 1) {
      ++child_failures;
      // A child that died took its connections with it: they count as failed.
      if (child.report.phase < 1) dial.attempted += child.connections;
      if (child.report.phase < 1) dial.closed += child.connections;
    }
    dial.add(child.report.dial);
    hold.add(child.report.hold);
    close.add(child.report.close);
    messages += child.report.messages_received;
    subscribed += child.report.subscribed;
    subscribe_errors += child.report.subscribe_errors;
    close_elapsed_ns = std::max(close_elapsed_ns, child.report.close_elapsed_ns);
  }
  write_dial_results(dial, out);
  out.field("connections_per_s",
            dial.elapsed_ns > 0 ? static_cast<double>(static_cast<int64_t>(
                                      static_cast<double>(dial.opened) * 1e9 / dial.elapsed_ns))
                                : 0.0);
  out.field("dropped_during_hold", hold.unexpected());
  out.field("messages_received", messages);
  if (scenario.subscribes) {
    out.field("subscribed", subscribed);
    out.field("subscribe_errors", subscribe_errors);
  }
  out.field("child_failures", child_failures);
  // Ends during the hold are counted again in `close` (the stats are cumulative).
  write_close_results(close, out);
  out.field("close_s", static_cast<double>(close_elapsed_ns) / 1e9);
  write_timing_results(scenario, options, children, out);
}

bool run_clean(const PoolScenario& scenario, const Options& options,
               const std::vector<Child>& children) {
  for (const Child& child : children) {
    // With --reconnect, connections the broker dropped while held are expected: each must be
    // subscribed again by the end of the hold.
    if (scenario.reconnects && options.reconnect) {
      if (!child.alive || child.report.phase < 2 || child.report.dial.failed() != 0 ||
          child.report.subscribed_now != child.connections ||
          child.report.close.close_timeouts != 0) {
        return false;
      }
      continue;
    }
    if (!child.alive || child.report.phase < 2 || child.report.dial.failed() != 0 ||
        child.report.hold.unexpected() != 0 || child.report.close.close_timeouts != 0 ||
        child.report.subscribe_errors != 0 ||
        (scenario.subscribes && child.report.subscribed != child.report.dial.opened)) {
      return false;
    }
  }
  return true;
}

}  // namespace

int run_pool_scenario(const Options& options, const PoolScenario& scenario, JsonWriter& out) {
  write_params(scenario, options, out);
  out.begin_object("results");
  std::string error;
  if (!check_limits(options, error)) return fail(scenario, out, error);
  std::optional<LoopConfig> config = make_loop_config(options, error);
  if (!config) return fail(scenario, out, error);
  config->subprotocols = std::string(scenario.subprotocols);
  const uint32_t processes = process_count(options);
  const double settle_s = std::min(options.settle_s, options.hold_s);

  const BrokerSample before = sample_broker(options);
  const int64_t dial_deadline = dial_deadline_ns(options, options.connections);
  // A child left alone (its parent stuck) closes its connections on its own by this time.
  const int64_t child_deadline =
      dial_deadline + static_cast<int64_t>(options.hold_s * 1e9) + 2 * kReportSlackNs;
  std::cerr << "herald-bench " << scenario.name << ": opening " << options.connections
            << " connections from " << processes << " process(es), "
            << std::max<size_t>(1, config->sources.size()) << " source address(es)\n";
  std::vector<Child> children;
  if (!spawn_children(scenario, *config, options, processes, dial_deadline, child_deadline,
                      children, error)) {
    for (Child& child : children) child.alive = false;
    finish_children(children, 0);
    return fail(scenario, out, error);
  }
  collect_reports(children, 1, dial_deadline + kReportSlackNs);
  uint64_t opened = 0;
  for (const Child& child : children) opened += child.report.dial.opened;
  std::cerr << "herald-bench " << scenario.name << ": " << opened << " open; holding for "
            << options.hold_s << " s\n";

  const int64_t held_since = now_ns();
  BrokerSample settled;
  BrokerSample held;
  if (opened > 0) {  // nothing to hold otherwise: report the failures at once
    std::this_thread::sleep_for(std::chrono::duration<double>(settle_s));
    settled = sample_broker(options);
    const int64_t hold_end = held_since + static_cast<int64_t>(options.hold_s * 1e9);
    std::this_thread::sleep_for(
        std::chrono::nanoseconds(std::max<int64_t>(0, hold_end - now_ns())));
    held = sample_broker(options);
  }
  const double held_s = static_cast<double>(now_ns() - held_since) / 1e9;

  finish_children(children, close_timeout_ns(options.connections, options.connect_rate));
  write_child_results(scenario, options, children, out);
  out.field("held_s", held_s);
  write_broker_results(options, before, settled, held, opened, out);
  if (opened == 0) return fail(scenario, out, "no connection opened");
  return run_clean(scenario, options, children) ? 0 : 3;
}

}  // namespace herald::bench
