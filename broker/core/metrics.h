// Metric cells written by one worker and read by the /metrics handler on any worker, and the
// Prometheus text rendering (exposition format 0.0.4). I/O-free; knows no connection.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

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
// The close codes counted as protocol errors (RFC 6455 violations, bad UTF-8, too big).
inline constexpr std::array<int, 3> kProtocolErrorCodes = {1002, 1007, 1009};

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
};
inline constexpr size_t kRefusalKinds = 16;
// Their label values, in enum order.
[[nodiscard]] std::string_view refusal_name(Refusal refusal);

// One worker's values at one moment, read from its Counters.
struct WorkerMetrics {
  uint64_t connections = 0;
  uint64_t connections_accepted = 0;
  uint64_t subscriptions = 0;
  uint64_t messages_published = 0;  // sequenced by this worker (it owns the topic)
  uint64_t messages_delivered = 0;  // frames queued to this worker's subscribers
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::array<uint64_t, kSlowConsumerActions> slow_consumer = {};
  uint64_t command_errors = 0;
  uint64_t busy_ns = 0;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumptions = 0;
  uint64_t tls_handshake_failures = 0;
  uint64_t replays = 0;            // subscribes that asked for history (section 9)
  uint64_t replayed_messages = 0;  // messages sent from the log (replays and catch-ups)
  uint64_t catchups = 0;           // subscriptions the catchup policy fed from the log
  uint64_t storage_failures = 0;   // history appends that failed
  std::array<uint64_t, kProtocolErrorCodes.size()> protocol_errors = {};
  std::array<uint64_t, kRefusalKinds> refusals = {};
};

// The whole /metrics body: totals summed over `workers`, busy time per worker (labelled by
// index), and the broker-wide topic count. Every family has HELP and TYPE lines.
[[nodiscard]] std::string render_metrics(std::span<const WorkerMetrics> workers, uint64_t topics);

}  // namespace herald::broker::core
