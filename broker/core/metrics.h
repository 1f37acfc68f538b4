// Metric cells written by one worker and read by the /metrics handler on any worker, the
// values of broker/core/metric_table.h, and their Prometheus text rendering (exposition
// format 0.0.4). I/O-free; knows no connection.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "broker/core/close_reason.h"
#include "broker/core/metric_table.h"

namespace herald::broker::core {

// A counter or gauge with a single writer: the writer uses a relaxed load and store (no
// locked read-modify-write on the hot path), readers on other threads a relaxed load.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Writer only.
  void add(uint64_t n) { value_.store(value_.load(std::memory_order_relaxed) + n, kRelaxed); }
  Counter& operator++() {
    add(1);
    return *this;
  }
  Counter& operator+=(uint64_t n) {
    add(n);
    return *this;
  }
  void set(uint64_t value) { value_.store(value, kRelaxed); }
  // Any thread.
  [[nodiscard]] uint64_t load() const { return value_.load(kRelaxed); }

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
  std::atomic<uint64_t> value_{0};
};

enum class SlowConsumerAction : uint8_t { kDisconnect, kDrop, kConflate };
inline constexpr size_t kSlowConsumerActions = 3;
// Close handshakes are counted by code 1000..1015; other codes in close_codes_other.
inline constexpr int kCloseCodeFirst = 1000;
inline constexpr size_t kCloseCodeSlots = 16;
// The close codes counted as protocol errors (RFC 6455 violations, bad UTF-8, too big).
inline constexpr std::array<int, 3> kProtocolErrorCodes = {1002, 1007, 1009};

// Frames queued to connections that negotiated permessage-deflate, by what they got.
enum class DeflateDelivery : uint8_t { kCompressed, kPlain };
inline constexpr size_t kDeflateDeliveryKinds = 2;
// Client messages that failed to inflate, by why: closed 1009, 1007 or 1011.
enum class InflateFailure : uint8_t { kTooBig, kCorrupt, kNoMemory };
inline constexpr size_t kInflateFailureKinds = 3;

// Requests refused or connections closed by a limit or an access check, one label each in
// herald_refusals_total{reason=...}: every limit has a metric (and a documented answer).
enum class Refusal : uint8_t {
  kConnections,       // 503: --max-connections
  kHandshakeTimeout,  // TCP closed: --handshake-timeout-ms (slowloris)
  kHeaderTooLarge,    // 431: request header block or field count
  kBodyTooLarge,      // 413: POST /publish body over --max-message-bytes
  kSubscriptions,     // too_many_subscriptions
  kTopics,            // too_many_topics (error or 503)
  kBadCommands,       // 1008 after 16 bad commands in a row
  kPublishRate,       // rate_limited: --max-publish-rate
  kOrigin,            // 403: --allowed-origins
  kUnauthorized,      // 401 or unauthorized: no or invalid token
  kForbidden,         // 403 or forbidden: the token does not allow the topic
  kAuthTimeout,       // 4001: no valid token within the handshake timeout
  kTokenExpired,      // 4003: the token expired without a refresh
  kConnectionsPerIp,  // 429: --max-connections-per-ip
  kConnectionRate,    // 429: --max-new-connections-per-ip-per-s (or the address table full)
  kProxyHeader,       // TCP closed: an invalid PROXY v2 header from a trusted proxy
  kStorageBusy,       // 503 + Retry-After: POST /publish while the history writer is behind
};
inline constexpr size_t kRefusalKinds = 17;
// Their label values, in enum order.
[[nodiscard]] std::string_view refusal_name(Refusal refusal);

// Label values of the arrays' indices, for HERALD_WORKER_ARRAYS.
[[nodiscard]] std::string slow_consumer_label(size_t index);     // disconnect, drop, conflate
[[nodiscard]] std::string close_code_label(size_t index);        // "1000".."1015"
[[nodiscard]] std::string refusal_label(size_t index);           // refusal_name()
[[nodiscard]] std::string deflate_delivery_label(size_t index);  // compressed, plain
[[nodiscard]] std::string inflate_failure_label(size_t index);   // too_big, corrupt, no_memory

// One worker's values at one moment, read from its WorkerCounters: a field per entry of
// broker/core/metric_table.h.
struct WorkerMetrics {
#define HERALD_METRICS_SCALAR(member, name, kind, help) uint64_t member = 0;
  HERALD_WORKER_SCALARS(HERALD_METRICS_SCALAR)
#undef HERALD_METRICS_SCALAR
#define HERALD_METRICS_ARRAY(member, size, name, label, label_value, help) \
  std::array<uint64_t, size> member = {};
  HERALD_WORKER_ARRAYS(HERALD_METRICS_ARRAY)
#undef HERALD_METRICS_ARRAY
};

enum class MetricKind : uint8_t { kCounter, kGauge, kWorkerSeconds };

// The table as data, for rendering and for the tests that check every entry is exported.
struct ScalarFamily {
  std::string_view name;
  MetricKind kind;
  std::string_view help;
  uint64_t WorkerMetrics::*member;
};
struct ArrayFamily {
  std::string_view name;
  std::string_view label;
  std::string (*label_value)(size_t index);
  std::string_view help;
  std::span<const uint64_t> (*values)(const WorkerMetrics& metrics);
};

inline constexpr ScalarFamily kScalarFamilies[] = {
#define HERALD_METRICS_SCALAR(member, name, kind, help) \
  {name, MetricKind::kind, help, &WorkerMetrics::member},
    HERALD_WORKER_SCALARS(HERALD_METRICS_SCALAR)
#undef HERALD_METRICS_SCALAR
};
inline constexpr ArrayFamily kArrayFamilies[] = {
#define HERALD_METRICS_ARRAY(member, size, name, label, label_value, help) \
  {name, label, label_value, help,                                         \
   [](const WorkerMetrics& m) { return std::span<const uint64_t>(m.member); }},
    HERALD_WORKER_ARRAYS(HERALD_METRICS_ARRAY)
#undef HERALD_METRICS_ARRAY
};

// The whole /metrics body: every family of the table (totals summed over `workers`, busy time
// per worker labelled by index), protocol errors (three of the close codes, by code) and the
// broker-wide topic count. Every family has HELP and TYPE lines.
[[nodiscard]] std::string render_metrics(std::span<const WorkerMetrics> workers, uint64_t topics);

}  // namespace herald::broker::core
