// Disk use and memory with 10 million stored 64-byte messages: appended through the writer
// (async), then measured as written and again after a full compaction. Reports bytes on disk
// per message and the process's resident memory.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/rocksdb_log.h"
#include "tests/bench/storage_bench_util.h"

namespace herald::storage::bench {
namespace {

constexpr uint64_t kMessages = 10'000'000;
constexpr uint64_t kTopics = 100;
constexpr size_t kPayloadBytes = 64;

// A field of /proc/self/status in bytes (VmRSS, VmHWM), 0 when missing.
double proc_status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

void BM_DiskUse10M(benchmark::State& state) {
  for (auto _ : state) {
    ScratchDir dir;
    {
      auto writer = open_writer(dir.path(), "disk.>=rocksdb,count=100000000");
      writer->start();
      StorageProducer& producer = writer->producer(0);
      std::vector<std::string> topics;
      for (uint64_t i = 0; i < kTopics; ++i) topics.push_back("disk.t" + std::to_string(i));
      // Payloads differ like real ones do (a counter inside), so compression is not flattered
      // by identical bytes.
      std::string payload(kPayloadBytes, 'x');
      uint64_t ticket = 0;
      for (uint64_t i = 0; i < kMessages; ++i) {
        std::string number = std::to_string(i * 2654435761u);
        payload.replace(0, number.size(), number);
        AppendRequest request{topics[i % kTopics], i / kTopics + 1,
                              static_cast<int64_t>(1'700'000'000'000 + i / 1000), false, payload};
        while ((ticket = producer.try_append(std::move(request))) == 0) {
          producer.submit();
          std::this_thread::yield();
        }
        if ((i & 255) == 0) producer.submit();
      }
      producer.submit();
      while (producer.done_upto() < ticket) std::this_thread::yield();
      writer->stop();
      state.counters["rss_after_append_MiB"] = proc_status_bytes("VmRSS") / (1 << 20);
      state.counters["disk_as_written_MiB"] =
          static_cast<double>(bytes_under(dir.path())) / (1 << 20);
    }
    RocksDbOptions options;
    options.path = dir.path() + "/history";
    auto log = RocksDbLog::open(options, [](std::string_view) { return Retention{}; });
    if (!log.status.is_ok() || !log.value->compact().is_ok()) {
      state.SkipWithError("reopen or compaction failed");
      return;
    }
    log.value.reset();
    double disk = static_cast<double>(bytes_under(dir.path()));
    state.counters["disk_compacted_MiB"] = disk / (1 << 20);
    state.counters["disk_bytes_per_msg"] = disk / kMessages;
    state.counters["peak_rss_MiB"] = proc_status_bytes("VmHWM") / (1 << 20);
  }
}

BENCHMARK(BM_DiskUse10M)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace herald::storage::bench
