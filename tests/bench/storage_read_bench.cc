// Replay rate: reading one topic's history forward in pages, as the broker's replay does,
// from RocksDB (memtable and SST files after a compaction) and from the memory log.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/memory_log.h"
#include "storage/rocksdb_log.h"
#include "tests/bench/storage_bench_util.h"

namespace herald::storage::bench {
namespace {

constexpr uint64_t kMessages = 1'000'000;
constexpr uint64_t kPage = 1000;

void fill(Log& log, size_t payload_bytes) {
  const std::string payload(payload_bytes, 'x');
  std::vector<AppendEntry> entries;
  for (uint64_t seq = 1; seq <= kMessages; ++seq) {
    entries.push_back({"replay.t", seq, static_cast<int64_t>(seq), false, payload});
    if (entries.size() == 10'000) {
      if (!log.append(entries, false).is_ok()) throw std::runtime_error("fill failed");
      entries.clear();
    }
  }
}

void read_all(benchmark::State& state, Log& log) {
  uint64_t messages = 0;
  for (auto _ : state) {
    for (uint64_t from = 1; from <= kMessages;) {
      auto page = log.read("replay.t", from, {kPage, UINT64_MAX});
      if (!page.status.is_ok() || page.value.empty()) {
        state.SkipWithError("read failed");
        return;
      }
      from = page.value.back().seq + 1;
      messages += page.value.size();
      benchmark::DoNotOptimize(page.value.front().payload.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(messages));
}

void BM_ReadRocksDb(benchmark::State& state) {
  ScratchDir dir;
  RocksDbOptions options;
  options.path = dir.path() + "/history";
  options.block_cache_bytes = 256 << 20;
  auto log = RocksDbLog::open(options, [](std::string_view) { return Retention{}; });
  if (!log.status.is_ok()) throw std::runtime_error(log.status.message());
  fill(*log.value, static_cast<size_t>(state.range(0)));
  if (state.range(1) && !log.value->compact().is_ok()) throw std::runtime_error("compact");
  read_all(state, *log.value);
}

void BM_ReadMemory(benchmark::State& state) {
  MemoryLog log([](std::string_view) { return Retention{kMessages, 0, 0}; });
  fill(log, static_cast<size_t>(state.range(0)));
  read_all(state, log);
}

// Args: payload bytes, compacted into SST files first (1) or still in memtables (0).
BENCHMARK(BM_ReadRocksDb)->Args({64, 1})->Args({64, 0})->Args({1024, 1})->UseRealTime();
BENCHMARK(BM_ReadMemory)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace herald::storage::bench
