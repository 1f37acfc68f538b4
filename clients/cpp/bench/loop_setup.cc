// Shared scenario set-up and reporting. Failures here are start-up failures: the scenario
// reports them in its JSON line and exits 1.
#include "clients/cpp/bench/loop_setup.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>

namespace herald::bench {

namespace {

bool is_loopback(in_addr address) { return (ntohl(address.s_addr) >> 24) == 127; }

uint32_t source_address_count(const Options& options) {
  if (options.source_addresses != 0) return options.source_addresses;
  return (options.connections + kConnectionsPerSourceAddress - 1) / kConnectionsPerSourceAddress;
}

}  // namespace

std::optional<LoopConfig> make_loop_config(const Options& options, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int status = ::getaddrinfo(options.host.c_str(), nullptr, &hints, &found);
      status != 0) {
    error = "cannot resolve " + options.host + " to IPv4: " + ::gai_strerror(status);
    return std::nullopt;
  }
  LoopConfig config;
  std::memcpy(&config.server, found->ai_addr, sizeof(config.server));
  ::freeaddrinfo(found);
  config.server.sin_port = htons(options.port);
  config.host_header = options.host + ":" + std::to_string(options.port);
  config.path = options.path;
  config.connect_rate = options.connect_rate;
  config.handshakes_in_flight = options.handshakes_in_flight;
  config.handshake_timeout_ns = int64_t{options.connect_timeout_ms} * 1'000'000;
  config.compression.enabled = options.compression;
  config.compression.min_bytes = options.compression_min_bytes;
  if (options.tls) {
    config.tls = client::TlsClientContext::create(options.ca, options.insecure, error);
    if (!config.tls) return std::nullopt;
    config.tls_server_name = options.server_name;
  }

  const uint32_t sources = source_address_count(options);
  const bool explicit_sources = options.source_addresses != 0;
  if (!is_loopback(config.server.sin_addr)) {
    if (explicit_sources || sources > 1) {
      error = "--source-addresses binds 127.0.0.x, so the broker must be on loopback";
      return std::nullopt;
    }
  } else if (explicit_sources || sources > 1) {
    for (uint32_t i = 1; i <= sources; ++i) config.sources.push_back({htonl((127u << 24) | i)});
  }
  return config;
}

uint64_t raise_fd_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

int64_t dial_deadline_ns(const Options& options, uint32_t connections) {
  // Twice the time the rate needs: a loaded broker may fall behind the rate a little.
  const double spread_s = 2.0 * connections / options.connect_rate;
  return now_ns() + static_cast<int64_t>(spread_s * 1e9) +
         int64_t{options.connect_timeout_ms} * 1'000'000;
}

void write_common_params(const Options& options, JsonWriter& out) {
  out.field("host", options.host);
  out.field("port", static_cast<uint32_t>(options.port));
  out.field("path", options.path);
  out.field("connections", options.connections);
  out.field("source_addresses", source_address_count(options));
  out.field("connect_rate", options.connect_rate);
  out.field("handshakes_in_flight", options.handshakes_in_flight);
  out.field("connect_timeout_ms", options.connect_timeout_ms);
  out.field("tls", options.tls);
  out.field("compression", options.compression);
  if (options.server_pid != 0) out.field("server_pid", static_cast<int64_t>(options.server_pid));
}

void write_dial_results(const DialStats& stats, JsonWriter& out) {
  out.field("connections_opened", stats.opened);
  out.field("connect_failures", stats.failed());
  out.field("connect_s", static_cast<double>(stats.elapsed_ns) / 1e9);
  out.begin_object("connect_failure_detail");
  out.field("connect_errors", stats.connect_errors);
  out.field("rejected", stats.rejected);
  out.field("timeouts", stats.timeouts);
  out.field("closed", stats.closed);
  if (stats.tls_failures != 0) out.field("tls_failures", stats.tls_failures);
  if (stats.last_http_status != 0) out.field("last_http_status", stats.last_http_status);
  out.begin_object("errno");
  for (int code = 1; code < DialStats::kErrnoMax; ++code) {
    if (stats.errno_counts[code] == 0) continue;
    const char* name = ::strerrorname_np(code);
    out.field(name != nullptr ? name : std::to_string(code), stats.errno_counts[code]);
  }
  out.end_object();
  out.end_object();
}

void write_close_results(const CloseStats& stats, JsonWriter& out) {
  out.begin_object("close");
  out.field("clean", stats.clean);
  out.field("close_timeouts", stats.close_timeouts);
  out.field("peer_closed", stats.peer_closed);
  out.field("eof", stats.eof);
  out.field("io_errors", stats.io_errors);
  out.field("protocol_errors", stats.protocol_errors);
  out.end_object();
}

void write_traffic_results(const TrafficStats& stats, JsonWriter& out) {
  out.begin_object("traffic");
  out.field("deflate_connections", stats.deflate_connections);
  out.field("deflate_refused", stats.deflate_refused);
  out.field("socket_bytes_received", stats.socket_bytes_received);
  out.field("frame_bytes_received", stats.frame_bytes_received);
  out.field("messages_received", stats.messages_received);
  out.field("message_bytes_received", stats.message_bytes_received);
  out.field("messages_sent_compressed", stats.messages_sent_compressed);
  if (stats.messages_received > 0 && stats.message_bytes_received > 0) {
    const auto messages = static_cast<double>(stats.messages_received);
    out.field("socket_bytes_per_message",
              static_cast<double>(stats.socket_bytes_received) / messages);
    out.field("message_bytes_per_message",
              static_cast<double>(stats.message_bytes_received) / messages);
    // Below 1 when compression saved more than the framing costs.
    out.field("wire_to_message_ratio", static_cast<double>(stats.socket_bytes_received) /
                                           static_cast<double>(stats.message_bytes_received));
  }
  out.end_object();
}

}  // namespace herald::bench
