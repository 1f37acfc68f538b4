// The echo scenario: a window of timestamped, sequenced binary messages per connection,
// echoed by the broker's /echo route. Measures throughput and latency, and checks that every
// message comes back intact, once, and in order.
#include <cstring>
#include <iostream>
#include <vector>

#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/latency_histogram.h"
#include "clients/cpp/bench/loop_setup.h"
#include "clients/cpp/bench/proc_stats.h"
#include "clients/cpp/bench/scenario.h"

namespace herald::bench {

namespace {

namespace ws = protocol::websocket;

// Payload layout: send time (steady_clock ns), sequence number, then a fixed pattern that
// lets the receiver spot corruption. Host byte order: only this process reads it back.
constexpr size_t kTimestampOffset = 0;
constexpr size_t kSequenceOffset = 8;
constexpr size_t kPatternOffset = 16;
constexpr int64_t kDrainTimeoutNs = 2'000'000'000;
constexpr int64_t kCloseTimeoutNs = 2'000'000'000;

struct EchoCounters {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t measured = 0;    // received inside the measured window
  uint64_t lost = 0;        // sequence numbers skipped
  uint64_t reordered = 0;   // a sequence number at or below one already seen
  uint64_t corrupt = 0;     // wrong opcode, size or pattern
  uint64_t unanswered = 0;  // in flight on a lost connection or when the drain ended
  uint64_t connections_lost = 0;
};

class EchoScenario final : public ConnectionHandler {
 public:
  explicit EchoScenario(const Options& options)
      : options_(options), pattern_(options.payload_bytes) {
    for (size_t i = 0; i < pattern_.size(); ++i) pattern_[i] = static_cast<uint8_t>(i * 31 + 7);
    windows_.resize(options.connections);
  }

  void attach(ClientLoop& loop) { loop_ = &loop; }

  // Fills every open connection's window; from then on each echo sends the next message.
  void start(int64_t measure_start_ns, int64_t measure_end_ns) {
    measure_start_ns_ = measure_start_ns;
    measure_end_ns_ = measure_end_ns;
    sending_ = true;
    const int64_t now = now_ns();
    for (BenchConnection& connection : loop_->connections()) {
      if (connection.state != BenchConnection::State::kOpen) continue;
      for (uint32_t i = 0; i < options_.pipeline && may_send(); ++i) send_one(connection, now);
      loop_->flush(connection);
    }
  }

  void stop_sending() { sending_ = false; }
  [[nodiscard]] bool count_reached() const {
    return options_.messages != 0 && counters_.sent >= options_.messages;
  }
  [[nodiscard]] uint64_t in_flight() const { return in_flight_; }
  [[nodiscard]] const EchoCounters& counters() const { return counters_; }
  // Whatever is still in flight after the drain will not come back.
  void give_up_in_flight() {
    counters_.unanswered += in_flight_;
    in_flight_ = 0;
  }
  [[nodiscard]] const LatencyHistogram& latency() const { return latency_; }
  [[nodiscard]] int64_t last_receive_ns() const { return last_receive_ns_; }

  void on_message(BenchConnection& connection, ws::Opcode opcode,
                  std::span<const uint8_t> payload) override {
    const int64_t now = now_ns();
    Window& window = windows_[connection.index];
    ++counters_.received;
    last_receive_ns_ = now;
    if (window.in_flight > 0) {
      --window.in_flight;
      --in_flight_;
    }
    if (opcode != ws::Opcode::kBinary || payload.size() != options_.payload_bytes ||
        std::memcmp(payload.data() + kPatternOffset, pattern_.data() + kPatternOffset,
                    payload.size() - kPatternOffset) != 0) {
      ++counters_.corrupt;
    } else {
      check_sequence(window, payload, now);
    }
    if (may_send()) send_one(connection, now);  // the loop flushes after this read
  }

  void on_lost(BenchConnection& connection) override {
    ++counters_.connections_lost;
    Window& window = windows_[connection.index];
    counters_.unanswered += window.in_flight;
    in_flight_ -= window.in_flight;
    window.in_flight = 0;
  }

 private:
  struct Window {
    uint64_t next_send = 0;
    uint64_t next_receive = 0;
    uint32_t in_flight = 0;
  };

  [[nodiscard]] bool may_send() const { return sending_ && !count_reached(); }

  void check_sequence(Window& window, std::span<const uint8_t> payload, int64_t now) {
    int64_t sent_ns = 0;
    uint64_t sequence = 0;
    std::memcpy(&sent_ns, payload.data() + kTimestampOffset, sizeof(sent_ns));
    std::memcpy(&sequence, payload.data() + kSequenceOffset, sizeof(sequence));
    if (sequence < window.next_receive) {
      ++counters_.reordered;
      return;
    }
    counters_.lost += sequence - window.next_receive;
    window.next_receive = sequence + 1;
    if (now >= measure_start_ns_ && now < measure_end_ns_) {
      ++counters_.measured;
      latency_.record(static_cast<uint64_t>(std::max<int64_t>(0, now - sent_ns)));
    }
  }

  void send_one(BenchConnection& connection, int64_t now) {
    Window& window = windows_[connection.index];
    const std::span<uint8_t> payload =
        loop_->begin_frame(connection, ws::Opcode::kBinary, options_.payload_bytes);
    if (payload.empty()) return;  // cannot happen: the buffer holds a full window
    std::memcpy(payload.data() + kTimestampOffset, &now, sizeof(now));
    std::memcpy(payload.data() + kSequenceOffset, &window.next_send, sizeof(window.next_send));
    std::memcpy(payload.data() + kPatternOffset, pattern_.data() + kPatternOffset,
                payload.size() - kPatternOffset);
    loop_->end_frame();
    ++window.next_send;
    ++window.in_flight;
    ++in_flight_;
    ++counters_.sent;
  }

  const Options& options_;
  ClientLoop* loop_ = nullptr;
  std::vector<uint8_t> pattern_;
  std::vector<Window> windows_;
  bool sending_ = false;
  int64_t measure_start_ns_ = 0;
  int64_t measure_end_ns_ = 0;
  int64_t last_receive_ns_ = 0;
  uint64_t in_flight_ = 0;
  EchoCounters counters_;
  LatencyHistogram latency_;
};

void write_params(const Options& options, JsonWriter& out) {
  out.begin_object("params");
  write_common_params(options, out);
  out.field("pipeline", options.pipeline);
  out.field("payload_bytes", options.payload_bytes);
  out.field("warmup_s", options.warmup_s);
  out.field("duration_s", options.duration_s);
  out.field("messages", options.messages);
  out.end_object();
}

void write_latency(const LatencyHistogram& latency, JsonWriter& out) {
  const auto us = [](double ns) { return static_cast<double>(static_cast<int64_t>(ns)) / 1e3; };
  out.begin_object("latency_us");
  out.field("p50", us(static_cast<double>(latency.percentile_ns(0.5))));
  out.field("p90", us(static_cast<double>(latency.percentile_ns(0.9))));
  out.field("p99", us(static_cast<double>(latency.percentile_ns(0.99))));
  out.field("p999", us(static_cast<double>(latency.percentile_ns(0.999))));
  out.field("max", us(static_cast<double>(latency.max_ns())));
  out.field("mean", us(latency.mean_ns()));
  out.end_object();
}

}  // namespace

namespace {

// Refuses configurations one process cannot hold: too many fds, or send buffers too large.
bool check_limits(const Options& options, std::string& error) {
  const uint64_t fd_limit = raise_fd_limit();
  if (options.connections > kConnectionsPerProcessMax || options.connections + 16 > fd_limit) {
    error = "echo runs in one process: at most " + std::to_string(kConnectionsPerProcessMax) +
            " connections (fd limit " + std::to_string(fd_limit) + ")";
    return false;
  }
  const uint64_t buffer_bytes = uint64_t{options.connections} * options.pipeline *
                                client::client_frame_bytes_max(options.payload_bytes);
  if (buffer_bytes > (uint64_t{2} << 30)) {
    error = "connections * pipeline * payload-bytes needs more than 2 GiB of send buffers";
    return false;
  }
  return true;
}

int fail(JsonWriter& out, const std::string& error) {
  out.field("error", error);
  std::cerr << "herald-bench echo: " << error << "\n";
  return 1;
}

void write_results(const Options& options, const EchoScenario& scenario, double measured_s,
                   JsonWriter& out) {
  const EchoCounters& counters = scenario.counters();
  const double rate = measured_s > 0 ? static_cast<double>(counters.measured) / measured_s : 0;
  out.field("measured_s", measured_s);
  out.field("messages", counters.measured);
  out.field("messages_per_s", static_cast<double>(static_cast<int64_t>(rate)));
  out.field("payload_mib_per_s", rate * options.payload_bytes / (1 << 20));
  write_latency(scenario.latency(), out);
  out.field("sent_total", counters.sent);
  out.field("received_total", counters.received);
  out.field("errors", counters.corrupt + counters.connections_lost);
  out.field("lost", counters.lost);
  out.field("reordered", counters.reordered);
  out.field("corrupt", counters.corrupt);
  out.field("unanswered", counters.unanswered);
  out.field("connections_lost", counters.connections_lost);
}

}  // namespace

int run_echo(const Options& options, JsonWriter& out) {
  write_params(options, out);
  out.begin_object("results");
  std::string error;
  if (!check_limits(options, error)) return fail(out, error);
  std::optional<LoopConfig> config = make_loop_config(options, error);
  if (!config) return fail(out, error);
  config->connections = options.connections;
  config->output_bytes = options.pipeline * client::client_frame_bytes_max(options.payload_bytes);
  config->message_bytes_max = options.payload_bytes;
  EchoScenario scenario(options);
  std::unique_ptr<ClientLoop> loop = ClientLoop::create(*std::move(config), scenario, error);
  if (!loop) return fail(out, error);
  scenario.attach(*loop);

  std::cerr << "herald-bench echo: opening " << options.connections << " connections\n";
  const DialStats dial = loop->dial(dial_deadline_ns(options, options.connections));
  write_dial_results(dial, out);
  if (dial.opened == 0) return fail(out, "no connection opened");

  const int64_t measure_start = now_ns() + static_cast<int64_t>(options.warmup_s * 1e9);
  const int64_t measure_end = measure_start + static_cast<int64_t>(options.duration_s * 1e9);
  const auto finished = [&scenario] {
    return scenario.count_reached() && scenario.in_flight() == 0;
  };
  std::cerr << "herald-bench echo: " << dial.opened << " open; warming up\n";
  scenario.start(measure_start, measure_end);
  loop->run(measure_start, finished);

  // -1 stands for "not measured": no --server-pid, or the process is gone.
  const auto server_cpu_s = [&options] {
    return options.server_pid != 0 ? read_cpu_s(options.server_pid).value_or(-1.0) : -1.0;
  };
  const double server_cpu_before = server_cpu_s();
  const double client_cpu_before = self_cpu_s();
  std::cerr << "herald-bench echo: measuring for " << options.duration_s << " s\n";
  loop->run(measure_end, finished);
  const int64_t window_end = std::min(now_ns(), measure_end);
  const double server_cpu_after = server_cpu_s();
  const double client_cpu_s = self_cpu_s() - client_cpu_before;

  scenario.stop_sending();
  loop->run(now_ns() + kDrainTimeoutNs, [&scenario] { return scenario.in_flight() == 0; });
  scenario.give_up_in_flight();
  loop->close_all(now_ns() + kCloseTimeoutNs);

  const double measured_s =
      static_cast<double>(std::max<int64_t>(0, window_end - measure_start)) / 1e9;
  write_results(options, scenario, measured_s, out);
  write_close_results(loop->close_stats(), out);
  write_traffic_results(loop->traffic(), out);
  out.field("client_cpu_util", measured_s > 0 ? client_cpu_s / measured_s : 0.0);
  if (server_cpu_before >= 0 && server_cpu_after >= 0) {
    out.field("server_cpu_s", server_cpu_after - server_cpu_before);
    out.field("server_cpu_util",
              measured_s > 0 ? (server_cpu_after - server_cpu_before) / measured_s : 0.0);
  }
  const EchoCounters& counters = scenario.counters();
  const bool clean = dial.failed() == 0 && counters.lost == 0 && counters.reordered == 0 &&
                     counters.corrupt == 0 && counters.unanswered == 0 &&
                     counters.connections_lost == 0 && loop->close_stats().close_timeouts == 0;
  return clean ? 0 : 3;
}

}  // namespace herald::bench
