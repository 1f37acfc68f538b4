// Persisted append rate through the storage writer: one producer thread pushing as an I/O
// thread would (one copy of the payload into the request), the worker group-committing to
// RocksDB. The clock stops when the last message is settled (durable in the rule's mode).
#include <benchmark/benchmark.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/bench/storage_bench_util.h"

namespace herald::storage::bench {
namespace {

constexpr uint64_t kTopics = 64;

void append(benchmark::State& state, const std::string& rule) {
  const size_t payload_bytes = static_cast<size_t>(state.range(0));
  ScratchDir dir;
  auto writer = open_writer(dir.path(), rule);
  writer->start();
  StorageProducer& producer = writer->producer(0);
  std::vector<std::string> topics;
  for (uint64_t i = 0; i < kTopics; ++i) topics.push_back("bench.topic" + std::to_string(i));
  std::vector<uint64_t> next_seq(kTopics, 1);
  const std::string payload(payload_bytes, 'x');
  uint64_t ticket = 0;
  uint64_t pushed = 0;
  for (auto _ : state) {
    uint64_t topic = pushed++ % kTopics;
    AppendRequest request{topics[topic], next_seq[topic]++, 1, false, payload};
    while ((ticket = producer.try_append(std::move(request))) == 0) {
      producer.submit();
      std::this_thread::yield();
    }
    if ((pushed & 255) == 0) producer.submit();
  }
  producer.submit();
  while (producer.done_upto() < ticket) std::this_thread::yield();
  if (producer.failed_from() != UINT64_MAX) state.SkipWithError("write failed");
  state.SetItemsProcessed(static_cast<int64_t>(pushed));
  state.SetBytesProcessed(static_cast<int64_t>(pushed * payload_bytes));
  state.counters["batches"] = static_cast<double>(writer->batches_written());
  state.counters["msgs_per_batch"] =
      static_cast<double>(writer->messages_written()) /
      static_cast<double>(std::max<uint64_t>(writer->batches_written(), 1));
}

void BM_AppendAsync(benchmark::State& state) { append(state, "bench.>=rocksdb,count=100000000"); }
void BM_AppendSync(benchmark::State& state) {
  append(state, "bench.>=rocksdb,count=100000000,durability=sync");
}
void BM_AppendMemory(benchmark::State& state) { append(state, "bench.>=memory,count=1000"); }

BENCHMARK(BM_AppendAsync)->Arg(64)->Arg(1024)->MinTime(3)->UseRealTime();
BENCHMARK(BM_AppendSync)->Arg(64)->Arg(1024)->MinTime(3)->UseRealTime();
BENCHMARK(BM_AppendMemory)->Arg(64)->Arg(1024)->MinTime(1)->UseRealTime();

}  // namespace
}  // namespace herald::storage::bench
