// `herald-cli stats` and `herald-cli topics`: the broker's $sys statistics (PROTOCOL.md section
// 11), read with the admin token, printed as one block per message.
#include <simdjson.h>

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <string>

#include "clients/cpp/cli/commands.h"

namespace herald::cli {

namespace {

constexpr std::chrono::seconds kReceiveWait(10);

// The member `name` of `object` as a T, or `fallback` when absent or of another type (the
// broker writes every field; a different version may not).
template <typename T>
T field(simdjson::dom::element object, std::string_view name, T fallback) {
  T value{};
  return object[name].get(value) == simdjson::SUCCESS ? value : fallback;
}

uint64_t field_uint(simdjson::dom::element object, std::string_view name) {
  return field<uint64_t>(object, name, 0);
}

double field_double(simdjson::dom::element object, std::string_view name) {
  return field<double>(object, name, 0.0);
}

// "name N, name N" for the members of the object of counts `name`; all, or the non-zero ones.
std::string counts(simdjson::dom::element parent, std::string_view name, bool nonzero_only) {
  std::string out;
  simdjson::dom::object members;
  if (parent[name].get(members) != simdjson::SUCCESS) return "?";
  for (simdjson::dom::key_value_pair member : members) {
    uint64_t value = 0;
    if (member.value.get(value) != simdjson::SUCCESS || (nonzero_only && value == 0)) continue;
    if (!out.empty()) out += ", ";
    out.append(member.key).append(" ").append(std::to_string(value));
  }
  return out.empty() ? "none" : out;
}

std::string format_stats(simdjson::dom::element s) {
  char line[256];
  std::string out;
  const std::string_view version = field<std::string_view>(s, "version", "?");
  std::snprintf(line, sizeof(line), "herald %.*s, up %" PRIu64 " s\n",
                static_cast<int>(version.size()), version.data(), field_uint(s, "uptime_s"));
  out += line;
  std::snprintf(line, sizeof(line),
                "  connections %" PRIu64 "  subscriptions %" PRIu64 "  topics %" PRIu64 "\n",
                field_uint(s, "connections"), field_uint(s, "subscriptions"),
                field_uint(s, "topics"));
  out += line;
  std::snprintf(line, sizeof(line), "  publishes/s %.1f  deliveries/s %.1f\n",
                field_double(s, "publishes_per_s"), field_double(s, "deliveries_per_s"));
  out += line;
  out += "  workers busy";
  simdjson::dom::array workers;
  if (s["workers"].get(workers) == simdjson::SUCCESS) {
    size_t index = 0;
    for (simdjson::dom::element worker : workers) {
      std::snprintf(line, sizeof(line), " %zu:%.0f%%", index++, field_double(worker, "busy") * 100);
      out += line;
    }
  }
  out += "\n  slow consumers: " + counts(s, "slow_consumers", false) + "\n";
  out += "  refusals: " + counts(s, "refusals", true) + "\n";
  const std::string_view storage = field<std::string_view>(s, "storage", "?");
  const std::string_view redis = field<std::string_view>(s, "redis", "not configured");
  out.append("  storage ").append(storage).append("  redis ").append(redis).append("\n");
  return out;
}

std::string format_topics(simdjson::dom::element t) {
  char line[384];
  std::snprintf(line, sizeof(line), "%-40s %12s %12s\n", "TOPIC", "PUBLISHES/S", "SUBSCRIBERS");
  std::string out = line;
  simdjson::dom::array topics;
  if (t["topics"].get(topics) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element row : topics) {
    const std::string_view topic = field<std::string_view>(row, "topic", "?");
    const int64_t subscribers = field<int64_t>(row, "subscribers", -1);
    const std::string count = subscribers < 0 ? "-" : std::to_string(subscribers);
    std::snprintf(line, sizeof(line), "%-40.*s %12.1f %12s\n", static_cast<int>(topic.size()),
                  topic.data(), field_double(row, "publishes_per_s"), count.c_str());
    out += line;
  }
  return out;
}

}  // namespace

int run_stats(const CliOptions& options) {
  const bool stats = options.command == CliOptions::Command::kStats;
  const std::string topic = stats ? "$sys.stats" : "$sys.topics";
  client::PubSubClient client;
  if (!connect_client(options, client)) return kExitFailed;
  if (const client::PubSubError error = client.subscribe(
          topic, protocol::pubsub::Policy::kDefault, std::chrono::milliseconds(options.timeout_ms));
      error != client::PubSubError::kNone) {
    return report_failure("subscribe " + topic, error, client);
  }
  const uint64_t wanted = options.once ? 1 : options.count;
  simdjson::dom::parser parser;
  uint64_t printed = 0;
  while (wanted == 0 || printed < wanted) {
    const client::Incoming incoming = client.receive(kReceiveWait);
    if (incoming.error != client::PubSubError::kNone) {
      // The broker publishes every second: ten silent seconds mean it does not (or is gone).
      return report_failure("receive " + topic, incoming.error, client);
    }
    const protocol::pubsub::ServerMessage& message = incoming.message;
    if (message.kind != protocol::pubsub::ServerMessage::Kind::kMessage || message.binary) {
      continue;
    }
    simdjson::dom::element root;
    if (parser.parse(message.data.data(), message.data.size()).get(root) != simdjson::SUCCESS) {
      continue;
    }
    const std::string block = (stats ? format_stats(root) : format_topics(root)) + "\n";
    std::fwrite(block.data(), 1, block.size(), stdout);
    std::fflush(stdout);
    ++printed;
  }
  client.close();
  return kExitOk;
}

}  // namespace herald::cli
