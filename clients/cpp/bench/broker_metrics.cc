// Scraping /metrics: a blocking HTTP/1.1 GET with Connection: close, read to EOF, then the
// three counters summed over their samples. Runs outside the measured window only.
#include "clients/cpp/bench/broker_metrics.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

#include "clients/cpp/bench/client_loop.h"
#include "clients/cpp/bench/loop_setup.h"

namespace herald::bench {

namespace {

constexpr int64_t kScrapeTimeoutNs = 2'000'000'000;
constexpr size_t kResponseBytesMax = 4 << 20;

// Waits for `events` on `fd` until `deadline_ns`; false on timeout or error.
bool wait_for(int fd, short events, int64_t deadline_ns) {
  const int64_t left_ns = deadline_ns - now_ns();
  if (left_ns <= 0) return false;
  pollfd entry{fd, events, 0};
  return ::poll(&entry, 1, static_cast<int>(left_ns / 1'000'000 + 1)) == 1;
}

// The whole response to GET /metrics, or empty on any failure.
std::string fetch_metrics(const Options& options) {
  std::string error;
  const std::optional<LoopConfig> config = make_loop_config(options, error);
  if (!config) return {};
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  const int64_t deadline = now_ns() + kScrapeTimeoutNs;
  std::string response;
  const std::string request =
      "GET /metrics HTTP/1.1\r\nHost: " + config->host_header + "\r\nConnection: close\r\n\r\n";
  const bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&config->server),
                                   sizeof(config->server)) == 0 ||
                         (errno == EINPROGRESS && wait_for(fd, POLLOUT, deadline));
  // A request this small fits the empty send buffer of a new socket: one send.
  if (connected && ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                       static_cast<ssize_t>(request.size())) {
    char buffer[16384];
    while (response.size() < kResponseBytesMax && wait_for(fd, POLLIN, deadline)) {
      const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
      if (got <= 0) break;
      response.append(buffer, static_cast<size_t>(got));
    }
  }
  ::close(fd);
  return response;
}

}  // namespace

std::optional<uint64_t> prometheus_sum(std::string_view text, std::string_view name) {
  std::optional<uint64_t> sum;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (!line.starts_with(name) || line.size() == name.size()) continue;
    line.remove_prefix(name.size());
    if (line.front() == '{') {  // labels: skip to their end
      const size_t close = line.find('}');
      if (close == std::string_view::npos) continue;
      line.remove_prefix(close + 1);
    }
    if (line.empty() || line.front() != ' ') continue;  // a longer name sharing the prefix
    line.remove_prefix(1);
    line = line.substr(0, line.find(' '));  // a timestamp may follow
    double value = 0;
    const auto [parsed, status] = std::from_chars(line.data(), line.data() + line.size(), value);
    if (status != std::errc() || parsed != line.data() + line.size() || value < 0) continue;
    sum = sum.value_or(0) + static_cast<uint64_t>(value);
  }
  return sum;
}

std::optional<BrokerCounters> scrape_broker_counters(const Options& options) {
  if (options.tls) return std::nullopt;
  const std::string response = fetch_metrics(options);
  const int64_t taken = now_ns();
  if (!response.starts_with("HTTP/1.1 200")) return std::nullopt;
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  const std::string_view text = std::string_view(response).substr(body + 4);
  const std::optional<uint64_t> sends = prometheus_sum(text, "herald_sends_total");
  const std::optional<uint64_t> buffers = prometheus_sum(text, "herald_send_buffers_total");
  const std::optional<uint64_t> delivered = prometheus_sum(text, "herald_messages_delivered_total");
  if (!sends || !buffers || !delivered) return std::nullopt;
  return BrokerCounters{taken, *sends, *buffers, *delivered};
}

Regime compute_regime(const Options& options, uint32_t subscribers,
                      const std::optional<BrokerCounters>& before,
                      const std::optional<BrokerCounters>& after) {
  Regime regime;
  // With --rate 0 each subscriber may owe publish_window messages of its topic.
  if (options.rate == 0) regime.in_flight = uint64_t{options.publish_window} * subscribers;
  if (before && after && after->taken_ns > before->taken_ns) {
    const double seconds = static_cast<double>(after->taken_ns - before->taken_ns) / 1e9;
    const auto sends = static_cast<double>(after->sends - before->sends);
    regime.sends_per_s = sends / seconds;
    if (sends > 0) {
      regime.frames_per_send =
          static_cast<double>(after->send_buffers - before->send_buffers) / sends;
    }
    regime.broker_deliveries_per_s =
        static_cast<double>(after->messages_delivered - before->messages_delivered) / seconds;
  }
  return regime;
}

void write_regime(const Options& options, uint32_t subscribers,
                  const std::optional<BrokerCounters>& before,
                  const std::optional<BrokerCounters>& after, JsonWriter& out) {
  const Regime regime = compute_regime(options, subscribers, before, after);
  const auto number = [&out](std::string_view key, const std::optional<double>& value) {
    if (value) {
      out.field(key, static_cast<double>(static_cast<int64_t>(*value * 100)) / 100);
    } else {
      out.null_field(key);
    }
  };
  out.begin_object("regime");
  if (regime.in_flight) {
    out.field("deliveries_in_flight", *regime.in_flight);
  } else {
    out.null_field("deliveries_in_flight");
  }
  out.field("broker_counters", before.has_value() && after.has_value());
  number("sends_per_s", regime.sends_per_s);
  number("frames_per_send", regime.frames_per_send);
  number("broker_deliveries_per_s", regime.broker_deliveries_per_s);
  if (before && after) {
    out.field("sends", after->sends - before->sends);
    out.field("send_buffers", after->send_buffers - before->send_buffers);
    out.field("broker_deliveries", after->messages_delivered - before->messages_delivered);
    out.field("scrape_interval_s", static_cast<double>(after->taken_ns - before->taken_ns) / 1e9);
  } else {
    out.null_field("sends");
    out.null_field("send_buffers");
    out.null_field("broker_deliveries");
  }
  out.end_object();
}

}  // namespace herald::bench
