// Prometheus text rendering: one family at a time, HELP and TYPE first (exposition 0.0.4).
#include "broker/core/metrics.h"

#include <cinttypes>
#include <cstdio>
#include <string_view>

namespace herald::broker::core {

namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, uint64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

template <typename Field>
uint64_t sum(std::span<const WorkerMetrics> workers, Field field) {
  uint64_t total = 0;
  for (const WorkerMetrics& worker : workers) total += field(worker);
  return total;
}

struct Scalar {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  uint64_t (*field)(const WorkerMetrics&);
};

constexpr Scalar kScalars[] = {
    {"herald_connections", "gauge", "Open connections (WebSocket and HTTP).",
     [](const WorkerMetrics& m) { return m.connections; }},
    {"herald_connections_accepted_total", "counter", "Connections accepted.",
     [](const WorkerMetrics& m) { return m.connections_accepted; }},
    {"herald_subscriptions", "gauge", "Active subscriptions.",
     [](const WorkerMetrics& m) { return m.subscriptions; }},
    {"herald_messages_published_total", "counter", "Messages given a sequence number.",
     [](const WorkerMetrics& m) { return m.messages_published; }},
    {"herald_messages_delivered_total", "counter", "Messages queued to subscribers.",
     [](const WorkerMetrics& m) { return m.messages_delivered; }},
    {"herald_bytes_in_total", "counter", "Bytes received from clients.",
     [](const WorkerMetrics& m) { return m.bytes_in; }},
    {"herald_bytes_out_total", "counter", "Bytes sent to clients.",
     [](const WorkerMetrics& m) { return m.bytes_out; }},
    {"herald_command_errors_total", "counter", "Commands answered with an error.",
     [](const WorkerMetrics& m) { return m.command_errors; }},
    {"herald_tls_handshakes_total", "counter", "TLS handshakes completed.",
     [](const WorkerMetrics& m) { return m.tls_handshakes; }},
    {"herald_tls_resumptions_total", "counter", "TLS handshakes that resumed a session.",
     [](const WorkerMetrics& m) { return m.tls_resumptions; }},
    {"herald_tls_handshake_failures_total", "counter",
     "TLS handshakes that failed or timed out (closed without a WebSocket close code).",
     [](const WorkerMetrics& m) { return m.tls_handshake_failures; }},
    {"herald_replays_total", "counter",
     "Subscribes that read history: from, last, since or snapshot (one per command).",
     [](const WorkerMetrics& m) { return m.replays; }},
    {"herald_replayed_messages_total", "counter",
     "Messages sent from the history log, by replays and catch-ups.",
     [](const WorkerMetrics& m) { return m.replayed_messages; }},
    {"herald_catchups_total", "counter",
     "Times a slow subscriber was switched to the log by the catchup policy.",
     [](const WorkerMetrics& m) { return m.catchups; }},
    {"herald_storage_failures_total", "counter",
     "History appends the storage worker reported as failed (their publishes are not acked).",
     [](const WorkerMetrics& m) { return m.storage_failures; }},
};

}  // namespace

std::string_view refusal_name(Refusal refusal) {
  static constexpr std::string_view kNames[kRefusalKinds] = {
      "connections",    "handshake_timeout",  "header_too_large",
      "body_too_large", "subscriptions",      "topics",
      "bad_commands",   "publish_rate",       "origin",
      "unauthorized",   "forbidden",          "auth_timeout",
      "token_expired",  "connections_per_ip", "connection_rate_per_ip",
      "proxy_header"};
  return kNames[static_cast<size_t>(refusal)];
}

std::string render_metrics(std::span<const WorkerMetrics> workers, uint64_t topics) {
  std::string out;
  out.reserve(2048 + 64 * workers.size());
  for (const Scalar& scalar : kScalars) {
    family(out, scalar.name, scalar.type, scalar.help);
    if (scalar.name == "herald_subscriptions") {
      sample(out, scalar.name, "", sum(workers, scalar.field));
      family(out, "herald_topics", "gauge", "Distinct topics with a sequence.");
      sample(out, "herald_topics", "", topics);
      continue;
    }
    sample(out, scalar.name, "", sum(workers, scalar.field));
  }

  constexpr std::string_view kSlow = "herald_slow_consumer_total";
  family(out, kSlow, "counter",
         "Slow-consumer events: connections closed, messages dropped, messages replaced.");
  constexpr std::string_view kPolicies[kSlowConsumerActions] = {
      "policy=\"disconnect\"", "policy=\"drop\"", "policy=\"conflate\""};
  for (size_t i = 0; i < kSlowConsumerActions; ++i) {
    sample(out, kSlow, kPolicies[i],
           sum(workers, [i](const WorkerMetrics& m) { return m.slow_consumer[i]; }));
  }

  constexpr std::string_view kProtocol = "herald_protocol_errors_total";
  family(out, kProtocol, "counter", "Connections closed for a protocol error, by close code.");
  for (size_t i = 0; i < kProtocolErrorCodes.size(); ++i) {
    std::string label = "code=\"" + std::to_string(kProtocolErrorCodes[i]) + "\"";
    sample(out, kProtocol, label,
           sum(workers, [i](const WorkerMetrics& m) { return m.protocol_errors[i]; }));
  }

  constexpr std::string_view kRefusals = "herald_refusals_total";
  family(out, kRefusals, "counter",
         "Requests, commands or connections refused by a limit or an access check.");
  for (size_t i = 0; i < kRefusalKinds; ++i) {
    std::string label = "reason=\"" + std::string(refusal_name(static_cast<Refusal>(i))) + "\"";
    sample(out, kRefusals, label,
           sum(workers, [i](const WorkerMetrics& m) { return m.refusals[i]; }));
  }

  constexpr std::string_view kBusy = "herald_worker_busy_seconds_total";
  family(out, kBusy, "counter", "Time each worker spent outside io_uring_enter waits.");
  for (size_t i = 0; i < workers.size(); ++i) {
    char line[96];
    uint64_t ns = workers[i].busy_ns;
    std::snprintf(line, sizeof(line), "%s{worker=\"%zu\"} %" PRIu64 ".%09" PRIu64 "\n",
                  kBusy.data(), i, ns / 1000000000, ns % 1000000000);
    out.append(line);
  }
  return out;
}

}  // namespace herald::broker::core
