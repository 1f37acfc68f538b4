// The broker's own counters, read from its Prometheus endpoint (GET /metrics on the WebSocket
// port, PROTOCOL.md section 7) before and after a measured window: how many sends it submitted
// and how many frames they gathered, the regime a fan-out figure was measured in. A server
// without /metrics (the bare corking server) gives none, and the report says null.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "clients/cpp/bench/json_writer.h"
#include "clients/cpp/bench/options.h"

namespace herald::bench {

struct BrokerCounters {
  int64_t taken_ns = 0;             // when the answer arrived (now_ns())
  uint64_t sends = 0;               // herald_sends_total
  uint64_t send_buffers = 0;        // herald_send_buffers_total
  uint64_t messages_delivered = 0;  // herald_messages_delivered_total
};

// One blocking GET /metrics over plain TCP, bounded by a 2 s timeout. nullopt when the server
// does not answer 200 with all three counters, or with --tls (not scraped).
[[nodiscard]] std::optional<BrokerCounters> scrape_broker_counters(const Options& options);

// The sum of every sample of `name` (with or without labels) in Prometheus text; nullopt when
// there is none. For scrape_broker_counters() and its tests.
[[nodiscard]] std::optional<uint64_t> prometheus_sum(std::string_view text, std::string_view name);

// The "regime" object of a fan-out result: deliveries in flight (publish window x subscribers,
// null with --rate), and the broker's sends per second, frames per send and deliveries over
// the interval between the two scrapes (null without them).
void write_regime(const Options& options, uint32_t subscribers,
                  const std::optional<BrokerCounters>& before,
                  const std::optional<BrokerCounters>& after, JsonWriter& out);

// The same figures, for the text line on stderr and the sweep's rows.
struct Regime {
  std::optional<uint64_t> in_flight;
  std::optional<double> sends_per_s;
  std::optional<double> frames_per_send;
  std::optional<double> broker_deliveries_per_s;
};
[[nodiscard]] Regime compute_regime(const Options& options, uint32_t subscribers,
                                    const std::optional<BrokerCounters>& before,
                                    const std::optional<BrokerCounters>& after);

}  // namespace herald::bench
