// The pub/sub scenarios' JSON: parameters, delivery figures, checks and broker resources.
#include "clients/cpp/bench/pubsub_report.h"

#include "clients/cpp/bench/loop_setup.h"
#include "clients/cpp/bench/proc_stats.h"

namespace herald::bench {

namespace {

constexpr int64_t kCloseTimeoutNs = 2'000'000'000;

double whole(double value) { return static_cast<double>(static_cast<int64_t>(value)); }

}  // namespace

ResourceSample sample_resources(const Options& options) {
  ResourceSample sample;
  if (options.server_pid != 0) {
    sample.server_cpu_s = read_cpu_s(options.server_pid);
    sample.server_rss_kib = read_rss_kib(options.server_pid);
  }
  sample.client_cpu_s = self_cpu_s();
  return sample;
}

int64_t close_timeout_ns(const Options& options, uint32_t connections) {
  return kCloseTimeoutNs + static_cast<int64_t>(2e9 * connections / options.connect_rate);
}

void write_pubsub_params(const Options& options, const PubSubPlan& plan, JsonWriter& out) {
  out.begin_object("params");
  write_common_params(options, out);
  out.field("subscribers", plan.subscribers);
  out.field("topics", static_cast<uint64_t>(plan.topics.size()));
  if (plan.topics.size() == 1) out.field("topic", plan.topics.front());
  out.field("rate", options.rate);
  if (options.rate == 0) out.field("publish_window", options.publish_window);
  if (!options.publish_window_sweep.empty()) {
    out.field("publish_window_sweep", options.publish_window_sweep);
  }
  out.field("payload", options.payload);
  if (options.payload == "binary") out.field("payload_bytes", options.payload_bytes);
  out.field("policy", options.policy.empty() ? "default" : options.policy);
  out.field("warmup_s", options.warmup_s);
  out.field("duration_s", options.duration_s);
  out.field("messages", options.messages);
  out.end_object();
}

void write_latency_us(const LatencyHistogram& latency, JsonWriter& out) {
  const auto us = [](uint64_t ns) { return whole(static_cast<double>(ns)) / 1e3; };
  out.begin_object("latency_us");
  out.field("p50", us(latency.percentile_ns(0.5)));
  out.field("p90", us(latency.percentile_ns(0.9)));
  out.field("p99", us(latency.percentile_ns(0.99)));
  out.field("p999", us(latency.percentile_ns(0.999)));
  out.field("max", us(latency.max_ns()));
  out.field("mean", whole(latency.mean_ns()) / 1e3);
  out.end_object();
}

void write_pubsub_results(const PubSubCounters& counters, const LatencyHistogram& latency,
                          double measured_s, uint32_t subscribers_open, JsonWriter& out) {
  const auto per_s = [measured_s](uint64_t count) {
    return measured_s > 0 ? whole(static_cast<double>(count) / measured_s) : 0.0;
  };
  out.field("subscribed", counters.subscribed);
  out.field("subscribe_errors", counters.subscribe_errors);
  if (!counters.first_error.empty()) out.field("first_error", counters.first_error);
  out.field("subscribers_open", subscribers_open);
  out.field("measured_s", measured_s);
  out.field("deliveries", counters.delivered_measured);
  out.field("deliveries_per_s", per_s(counters.delivered_measured));
  out.field("published", counters.published_measured);
  out.field("publish_per_s", per_s(counters.published_measured));
  write_latency_us(latency, out);
  out.field("published_total", counters.published);
  out.field("delivered_total", counters.delivered);
  out.field("expected_deliveries", counters.expected_deliveries);
  out.field("undelivered", counters.expected_deliveries - counters.accounted);
  out.field("lost", counters.lost);
  out.field("reordered", counters.reordered);
  out.field("corrupt", counters.corrupt);
  out.field("gaps", counters.gaps);
  out.field("gap_missed", counters.gap_missed);
  out.field("unexpected", counters.unexpected);
  out.field("stall_probes", counters.stall_probes);
  out.field("connections_lost", counters.connections_lost);
}

void write_resource_results(const ResourceSample& before, const ResourceSample& after,
                            double measured_s, JsonWriter& out) {
  out.field("client_cpu_util",
            measured_s > 0 ? (after.client_cpu_s - before.client_cpu_s) / measured_s : 0.0);
  if (before.server_cpu_s && after.server_cpu_s) {
    const double cpu_s = *after.server_cpu_s - *before.server_cpu_s;
    out.field("server_cpu_s", cpu_s);
    out.field("server_cpu_util", measured_s > 0 ? cpu_s / measured_s : 0.0);
  }
  if (after.server_rss_kib) {
    out.field("server_rss_kib", static_cast<int64_t>(*after.server_rss_kib));
  }
}

}  // namespace herald::bench
