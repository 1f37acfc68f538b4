// Prometheus text rendering of the metric table: one family at a time, HELP and TYPE first
// (exposition 0.0.4).
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

std::string label(std::string_view name, std::string_view value) {
  return std::string(name).append("=\"").append(value).append("\"");
}

void render_scalar(std::string& out, const ScalarFamily& scalar,
                   std::span<const WorkerMetrics> workers) {
  if (scalar.kind != MetricKind::kWorkerSeconds) {
    family(out, scalar.name, scalar.kind == MetricKind::kGauge ? "gauge" : "counter", scalar.help);
    sample(out, scalar.name, "",
           sum(workers, [&](const WorkerMetrics& m) { return m.*scalar.member; }));
    return;
  }
  // Nanoseconds shown as seconds with every digit: a float would round long uptimes.
  family(out, scalar.name, "counter", scalar.help);
  for (size_t i = 0; i < workers.size(); ++i) {
    char line[128];
    uint64_t ns = workers[i].*scalar.member;
    std::snprintf(line, sizeof(line), "{worker=\"%zu\"} %" PRIu64 ".%09" PRIu64 "\n", i,
                  ns / 1000000000, ns % 1000000000);
    out.append(scalar.name).append(line);
  }
}

void render_array(std::string& out, const ArrayFamily& array,
                  std::span<const WorkerMetrics> workers) {
  family(out, array.name, "counter", array.help);
  const size_t size = array.values(WorkerMetrics{}).size();
  for (size_t i = 0; i < size; ++i) {
    sample(out, array.name, label(array.label, array.label_value(i)),
           sum(workers, [&](const WorkerMetrics& m) { return array.values(m)[i]; }));
  }
}

}  // namespace

std::string_view refusal_name(Refusal refusal) {
  static constexpr std::string_view kNames[kRefusalKinds] = {
      "connections",    "handshake_timeout",  "header_too_large",
      "body_too_large", "subscriptions",      "topics",
      "bad_commands",   "publish_rate",       "origin",
      "unauthorized",   "forbidden",          "auth_timeout",
      "token_expired",  "connections_per_ip", "connection_rate_per_ip",
      "proxy_header",   "storage_busy"};
  return kNames[static_cast<size_t>(refusal)];
}

std::string slow_consumer_label(size_t index) {
  static constexpr std::string_view kNames[kSlowConsumerActions] = {"disconnect", "drop",
                                                                    "conflate"};
  return std::string(kNames[index]);
}

std::string close_code_label(size_t index) { return std::to_string(kCloseCodeFirst + index); }

std::string refusal_label(size_t index) {
  return std::string(refusal_name(static_cast<Refusal>(index)));
}

std::string deflate_delivery_label(size_t index) {
  static constexpr std::string_view kNames[kDeflateDeliveryKinds] = {"compressed", "plain"};
  return std::string(kNames[index]);
}

std::string inflate_failure_label(size_t index) {
  static constexpr std::string_view kNames[kInflateFailureKinds] = {"too_big", "corrupt",
                                                                    "no_memory"};
  return std::string(kNames[index]);
}

std::string render_metrics(std::span<const WorkerMetrics> workers, uint64_t topics) {
  std::string out;
  out.reserve(8192 + 64 * workers.size());
  for (const ScalarFamily& scalar : kScalarFamilies) render_scalar(out, scalar, workers);
  for (const ArrayFamily& array : kArrayFamilies) render_array(out, array, workers);

  // A view of three close codes, kept under its own name for the dashboards that use it.
  constexpr std::string_view kProtocol = "herald_protocol_errors_total";
  family(out, kProtocol, "counter", "Connections closed for a protocol error, by close code.");
  for (int code : kProtocolErrorCodes) {
    size_t slot = static_cast<size_t>(code - kCloseCodeFirst);
    sample(out, kProtocol, label("code", std::to_string(code)),
           sum(workers, [slot](const WorkerMetrics& m) { return m.close_codes[slot]; }));
  }

  family(out, "herald_topics", "gauge", "Distinct topics with a sequence.");
  sample(out, "herald_topics", "", topics);
  return out;
}

}  // namespace herald::broker::core
