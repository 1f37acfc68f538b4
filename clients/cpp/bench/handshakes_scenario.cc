// The handshakes scenario: how fast the broker accepts new connections. --connections
// connections to /echo, at most --handshakes-in-flight dialing at once; each counts when its
// 101 arrives (with --tls, after the TLS handshake). Reports handshakes/s and, with
// --server-pid, the broker's CPU per handshake, the figure that is "per core".
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/loop_setup.h"
#include "clients/cpp/bench/proc_stats.h"
#include "clients/cpp/bench/scenario.h"

namespace herald::bench {

namespace {

constexpr int64_t kCloseTimeoutNs = 10'000'000'000;

class NoMessages final : public ConnectionHandler {
 public:
  void on_message(BenchConnection& /*connection*/, protocol::websocket::Opcode /*opcode*/,
                  std::span<const uint8_t> /*payload*/) override {
    ++unexpected_;
  }
  [[nodiscard]] uint64_t unexpected() const { return unexpected_; }

 private:
  uint64_t unexpected_ = 0;
};

int fail(JsonWriter& out, const std::string& error) {
  out.field("error", error);
  std::cerr << "herald-bench handshakes: " << error << "\n";
  return 1;
}

}  // namespace

int run_handshakes(const Options& options, JsonWriter& out) {
  out.begin_object("params");
  write_common_params(options, out);
  out.end_object();
  out.begin_object("results");
  std::string error;
  const uint64_t fd_limit = raise_fd_limit();
  if (options.connections > kConnectionsPerProcessMax || options.connections + 16 > fd_limit) {
    return fail(out, "handshakes runs in one process: at most " +
                         std::to_string(kConnectionsPerProcessMax) + " connections");
  }
  std::optional<LoopConfig> config = make_loop_config(options, error);
  if (!config) return fail(out, error);
  config->connections = options.connections;
  NoMessages handler;
  std::unique_ptr<ClientLoop> loop = ClientLoop::create(*std::move(config), handler, error);
  if (!loop) return fail(out, error);

  const auto server_cpu_s = [&options] {
    return options.server_pid != 0 ? read_cpu_s(options.server_pid).value_or(-1.0) : -1.0;
  };
  const double server_cpu_before = server_cpu_s();
  const double client_cpu_before = self_cpu_s();
  const DialStats dial = loop->dial(dial_deadline_ns(options, options.connections));
  const double server_cpu = server_cpu_s() - server_cpu_before;
  const double client_cpu = self_cpu_s() - client_cpu_before;
  write_dial_results(dial, out);
  const double seconds = static_cast<double>(dial.elapsed_ns) / 1e9;
  out.field("handshakes_per_s", seconds > 0 ? static_cast<double>(dial.opened) / seconds : 0.0);
  if (server_cpu_before >= 0 && server_cpu > 0) {
    out.field("server_cpu_s", server_cpu);
    // Handshakes per second of one fully busy broker core.
    out.field("handshakes_per_server_cpu_s", static_cast<double>(dial.opened) / server_cpu);
  }
  out.field("client_cpu_s", client_cpu);
  loop->close_all(now_ns() + kCloseTimeoutNs);
  write_close_results(loop->close_stats(), out);
  out.field("unexpected_messages", handler.unexpected());
  return dial.failed() == 0 && handler.unexpected() == 0 ? 0 : 3;
}

}  // namespace herald::bench
