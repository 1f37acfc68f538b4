// WorkerCounters: every field of the metric table reaches the snapshot, each with its own
// value, and close codes land in their slot or in close_codes_other.
#include "broker/net/counters.h"

#include <gtest/gtest.h>

#include <iterator>

namespace herald::broker::net {
namespace {

TEST(WorkerCountersTest, SnapshotCarriesEveryTableField) {
  WorkerCounters counters;
  core::WorkerMetrics expected;
  uint64_t value = 1;
#define HERALD_TEST_SCALAR(member, name, kind, help) \
  counters.member += value;                          \
  expected.member = value++;
  HERALD_WORKER_SCALARS(HERALD_TEST_SCALAR)
#undef HERALD_TEST_SCALAR
#define HERALD_TEST_ARRAY(member, count, name, label, label_value, help) \
  for (size_t i = 0; i < std::size(counters.member); ++i) {              \
    counters.member[i].set(value);                                       \
    expected.member[i] = value++;                                        \
  }
  HERALD_WORKER_ARRAYS(HERALD_TEST_ARRAY)
#undef HERALD_TEST_ARRAY
  const core::WorkerMetrics m = counters.snapshot();
#define HERALD_TEST_SCALAR(member, name, kind, help) EXPECT_EQ(m.member, expected.member) << name;
  HERALD_WORKER_SCALARS(HERALD_TEST_SCALAR)
#undef HERALD_TEST_SCALAR
#define HERALD_TEST_ARRAY(member, count, name, label, label_value, help) \
  EXPECT_EQ(m.member, expected.member) << name;
  HERALD_WORKER_ARRAYS(HERALD_TEST_ARRAY)
#undef HERALD_TEST_ARRAY
}

TEST(WorkerCountersTest, CloseCodesBySlotAndOther) {
  namespace ws = protocol::websocket;
  WorkerCounters counters;
  counters.count_close(ws::CloseCode::kNormal);
  counters.count_close(ws::CloseCode::kProtocolError);
  counters.count_close(static_cast<ws::CloseCode>(4000));
  const core::WorkerMetrics m = counters.snapshot();
  EXPECT_EQ(m.close_codes[0], 1u);
  EXPECT_EQ(m.close_codes[2], 1u);
  EXPECT_EQ(m.close_codes_other, 1u);
}

}  // namespace
}  // namespace herald::broker::net
