// StatsBoard and StatsPublisher: merging the workers' busiest topics and writing the two
// $sys JSON messages. Field names and meanings are specified in PROTOCOL.md section 11.
#include "broker/net/stats_publisher.h"

#include <algorithm>
#include <cstdio>

#include "broker/net/readiness.h"

#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown"
#endif

namespace herald::broker::net {

namespace {

void append_number(std::string& out, double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", value);
  out += text;
}

void append_fraction(std::string& out, double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", std::clamp(value, 0.0, 1.0));
  out += text;
}

// Topics and labels use only [A-Za-z0-9_-:@~+=#.$]: nothing to escape in a JSON string.
void append_field(std::string& out, std::string_view name, uint64_t value) {
  out.append("\"").append(name).append("\":").append(std::to_string(value));
}

const char* storage_health(const StatsState& state) {
  if (!state.history) return "off";
  if ((state.not_ready & static_cast<uint32_t>(NotReady::kStorageFailed)) != 0) return "failing";
  if ((state.not_ready & static_cast<uint32_t>(NotReady::kStorageBusy)) != 0) return "busy";
  return "ok";
}

}  // namespace

void StatsBoard::post(uint32_t index, std::vector<core::TopicRate> busiest,
                      std::vector<std::string> counted, std::vector<uint64_t> subscribers) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[index];
  slot.busiest = std::move(busiest);
  slot.counted = std::move(counted);
  slot.subscribers = std::move(subscribers);
}

std::vector<std::string> StatsBoard::watched() const {
  std::lock_guard lock(mutex_);
  return watched_;
}

std::vector<BusyTopic> StatsBoard::merge(size_t count) {
  std::lock_guard lock(mutex_);
  std::vector<BusyTopic> merged;
  for (const Slot& slot : slots_) {
    for (const core::TopicRate& rate : slot.busiest) {
      merged.push_back(BusyTopic{rate.topic, rate.publishes, -1});
    }
  }
  std::sort(merged.begin(), merged.end(), [](const BusyTopic& a, const BusyTopic& b) {
    return a.publishes != b.publishes ? a.publishes > b.publishes : a.topic < b.topic;
  });
  if (merged.size() > count) merged.resize(count);
  watched_.clear();
  for (BusyTopic& row : merged) {
    watched_.push_back(row.topic);
    uint64_t sum = 0;
    size_t counted_by = 0;
    for (const Slot& slot : slots_) {
      auto it = std::find(slot.counted.begin(), slot.counted.end(), row.topic);
      if (it == slot.counted.end()) continue;
      sum += slot.subscribers[static_cast<size_t>(it - slot.counted.begin())];
      ++counted_by;
    }
    if (counted_by == slots_.size()) row.subscribers = static_cast<int64_t>(sum);
  }
  return merged;
}

std::string StatsPublisher::stats_json(const std::vector<core::WorkerMetrics>& workers,
                                       const StatsState& state, uint64_t now_ms, int64_t unix_ms) {
  interval_ms_ = std::max<uint64_t>(now_ms - last_ms_, 1);
  const double seconds = static_cast<double>(interval_ms_) / 1000.0;
  if (last_.size() != workers.size()) last_.assign(workers.size(), core::WorkerMetrics{});
  core::WorkerMetrics total;
  core::WorkerMetrics delta;
  std::string per_worker;
  for (size_t i = 0; i < workers.size(); ++i) {
    const core::WorkerMetrics& now = workers[i];
    const core::WorkerMetrics& before = last_[i];
    total.connections += now.connections;
    total.subscriptions += now.subscriptions;
    total.messages_published += now.messages_published;
    total.messages_delivered += now.messages_delivered;
    delta.messages_published += now.messages_published - before.messages_published;
    delta.messages_delivered += now.messages_delivered - before.messages_delivered;
    delta.bytes_in += now.bytes_in - before.bytes_in;
    delta.bytes_out += now.bytes_out - before.bytes_out;
    for (size_t k = 0; k < core::kSlowConsumerActions; ++k) {
      total.slow_consumer[k] += now.slow_consumer[k];
    }
    for (size_t k = 0; k < core::kRefusalKinds; ++k) total.refusals[k] += now.refusals[k];
    per_worker += i == 0 ? "{" : ",{";
    append_field(per_worker, "connections", now.connections);
    per_worker += ",\"busy\":";
    append_fraction(per_worker,
                    static_cast<double>(now.busy_ns - before.busy_ns) / (seconds * 1e9));
    per_worker += "}";
  }
  std::string out = "{";
  append_field(out, "time_ms", static_cast<uint64_t>(unix_ms));
  out += ",";
  append_field(out, "interval_ms", interval_ms_);
  out += ",";
  append_field(out, "uptime_s", (now_ms - start_ms_) / 1000);
  out += ",\"version\":\"" HERALD_VERSION "\",";
  append_field(out, "connections", total.connections);
  out += ",";
  append_field(out, "subscriptions", total.subscriptions);
  out += ",";
  append_field(out, "topics", state.topics);
  out += ",\"publishes_per_s\":";
  append_number(out, static_cast<double>(delta.messages_published) / seconds);
  out += ",\"deliveries_per_s\":";
  append_number(out, static_cast<double>(delta.messages_delivered) / seconds);
  out += ",\"bytes_in_per_s\":";
  append_number(out, static_cast<double>(delta.bytes_in) / seconds);
  out += ",\"bytes_out_per_s\":";
  append_number(out, static_cast<double>(delta.bytes_out) / seconds);
  out += ",";
  append_field(out, "publishes_total", total.messages_published);
  out += ",";
  append_field(out, "deliveries_total", total.messages_delivered);
  out += ",\"slow_consumers\":{";
  for (size_t k = 0; k < core::kSlowConsumerActions; ++k) {
    if (k != 0) out += ",";
    append_field(out, core::slow_consumer_label(k), total.slow_consumer[k]);
  }
  out += "},\"refusals\":{";
  for (size_t k = 0; k < core::kRefusalKinds; ++k) {
    if (k != 0) out += ",";
    append_field(out, core::refusal_label(k), total.refusals[k]);
  }
  out += "},\"workers\":[" + per_worker + "],\"storage\":\"";
  out += storage_health(state);
  // Scale-out over Redis is not built yet: the field is there for it, null meaning not
  // configured.
  out += "\",\"redis\":null}";
  last_ = workers;
  last_ms_ = now_ms;
  return out;
}

std::string StatsPublisher::topics_json(const std::vector<BusyTopic>& topics,
                                        int64_t unix_ms) const {
  const double seconds = static_cast<double>(interval_ms_) / 1000.0;
  std::string out = "{";
  append_field(out, "time_ms", static_cast<uint64_t>(unix_ms));
  out += ",\"topics\":[";
  for (size_t i = 0; i < topics.size(); ++i) {
    const BusyTopic& row = topics[i];
    out += i == 0 ? "{\"topic\":\"" : ",{\"topic\":\"";
    out += row.topic;
    out += "\",";
    append_field(out, "publishes", row.publishes);
    out += ",\"publishes_per_s\":";
    append_number(out, static_cast<double>(row.publishes) / seconds);
    out += ",\"subscribers\":";
    out += row.subscribers < 0 ? "null" : std::to_string(row.subscribers);
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace herald::broker::net
