// Per-worker counters: each written only by its worker's thread (relaxed load and store, no
// locked instruction on the hot path) and read by /metrics on any worker. Their fields come
// from broker/core/metric_table.h; snapshot() turns them into the core's plain WorkerMetrics.
#pragma once

#include <cstdint>

#include "broker/core/metrics.h"
#include "broker/net/refusal_log.h"
#include "protocol/websocket/close_code.h"

namespace herald::broker::net {

struct WorkerCounters {
  using Counter = core::Counter;
  static constexpr int kCloseCodeFirst = core::kCloseCodeFirst;
  static constexpr size_t kCloseCodeSlots = core::kCloseCodeSlots;
  static constexpr size_t kSlowConsumerActions = core::kSlowConsumerActions;
  static constexpr size_t kRefusalKinds = core::kRefusalKinds;
  static constexpr size_t kCloseReasons = core::kCloseReasons;

  // One field per table entry, named as in the table: ++counters.io_errors and so on.
  // Arrays: slow_consumer by core::SlowConsumerAction, close_codes by code - 1000 (codes
  // outside 1000..1015 count in close_codes_other), refusals by core::Refusal, close_reasons
  // by core::CloseReason.
#define HERALD_COUNTERS_SCALAR(member, name, kind, help) Counter member;
  HERALD_WORKER_SCALARS(HERALD_COUNTERS_SCALAR)
#undef HERALD_COUNTERS_SCALAR
#define HERALD_COUNTERS_ARRAY(member, size, name, label, label_value, help) Counter member[size];
  HERALD_WORKER_ARRAYS(HERALD_COUNTERS_ARRAY)
#undef HERALD_COUNTERS_ARRAY

  // Counted, and logged at most a few lines a second per reason (refusal_log.h).
  void count_refusal(core::Refusal refusal) {
    ++refusals[static_cast<size_t>(refusal)];
    log_refusal(refusal);
  }
  void count_close_reason(core::CloseReason reason) {
    ++close_reasons[static_cast<size_t>(reason)];
  }

  void count_close(protocol::websocket::CloseCode code) {
    int value = static_cast<int>(code);
    if (value >= kCloseCodeFirst && value < kCloseCodeFirst + static_cast<int>(kCloseCodeSlots)) {
      ++close_codes[value - kCloseCodeFirst];
    } else {
      ++close_codes_other;
    }
  }
  void count_slow(core::SlowConsumerAction action) { ++slow_consumer[static_cast<size_t>(action)]; }

  // Any thread: the values /metrics reports.
  [[nodiscard]] core::WorkerMetrics snapshot() const {
    core::WorkerMetrics m;
#define HERALD_COUNTERS_SCALAR(member, name, kind, help) m.member = member.load();
    HERALD_WORKER_SCALARS(HERALD_COUNTERS_SCALAR)
#undef HERALD_COUNTERS_SCALAR
#define HERALD_COUNTERS_ARRAY(member, size, name, label, label_value, help) \
  for (size_t i = 0; i < (size); ++i) m.member[i] = member[i].load();
    HERALD_WORKER_ARRAYS(HERALD_COUNTERS_ARRAY)
#undef HERALD_COUNTERS_ARRAY
    return m;
  }
};

// Nothing but the table's cells: a field added outside the table would not be exported.
static_assert(sizeof(WorkerCounters) == sizeof(core::WorkerMetrics),
              "every WorkerCounters field comes from broker/core/metric_table.h");

}  // namespace herald::broker::net
