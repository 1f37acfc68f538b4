// The storage worker: one thread that owns the logs, takes appends from the I/O threads in
// batches (group commit), reports durability back without making them wait, and serves
// history reads in order with the appends. The only way the broker touches storage at run time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "protocol/common/spsc_queue.h"
#include "storage/history_rules.h"
#include "storage/log.h"
#include "storage/rocksdb_log.h"
#include "storage/status.h"

namespace herald::storage {

struct StorageConfig {
  std::string data_dir = "./data";  // created at the first run; RocksDB lives in data_dir/history
  HistoryRules rules;
  uint32_t producer_count = 1;               // I/O threads that will push
  uint32_t append_queue_capacity = 1 << 16;  // per producer; a power of two
  uint32_t read_queue_capacity = 256;        // per producer; a power of two
  uint64_t retention_interval_ms = 1000;     // how often the worker enforces retention
  uint64_t rocksdb_write_buffer_bytes = 64 << 20;
  uint64_t rocksdb_block_cache_bytes = 32 << 20;
  // Unix milliseconds for age retention; tests may replace it.
  std::function<int64_t()> clock_ms;
  // Called on the writer's thread before each group commit, when set: tests hold the writer
  // with it, as a slow disk would, to fill the append queues.
  std::function<void()> before_write;
};

// One message to store. The producer fills it (copying the topic and payload once, or moving
// strings it already owns) and gives it to the writer, which owns it from then on.
struct AppendRequest {
  std::string topic;  // a valid concrete topic; push only topics that rules.match()
  uint64_t seq = 0;
  int64_t time_ms = 0;
  bool binary = false;
  std::string payload;
};

// A history read, answered asynchronously after every append pushed before it (by any
// producer, where the push happens-before this request's push) is in the log.
struct ReadRequest {
  enum class Start : unsigned char {
    kSeq,   // from seq `value` (clamped up to the first retained)
    kLast,  // the last `value` retained messages (1: the latest, the last-value cache)
    kTime,  // from the first message published at or after Unix ms `value`
  };
  std::string topic;
  Start start = Start::kSeq;
  uint64_t value = 0;
  ReadLimits limits;   // count_max 0 asks for the state only
  uint64_t token = 0;  // the producer's, returned as is
};

struct ReadResult {
  uint64_t token = 0;
  Status status;
  bool has_history = false;  // the topic matches a rule with a backend
  TopicState state;          // as of the read; epoch 0 when the topic has no history yet
  MessagePage messages;
};

class StorageWriter;

// One I/O thread's handle on the writer. Thread: every call but done_upto()/failed_from() is
// made by the one producer thread that owns this handle; the writer's thread owns the rest.
class StorageProducer {
 public:
  // Queues one append without blocking. Returns its ticket (1, 2, 3... per producer), or 0
  // when the queue is full, in which case `request` is left untouched. The append is only
  // picked up after the next submit().
  [[nodiscard]] uint64_t try_append(AppendRequest&& request);
  // Whether try_append() would queue one now. A publisher checks first: a message must not
  // take a sequence number it cannot append.
  [[nodiscard]] bool can_append() { return appends_.writable(); }
  // Queues one read; false (request untouched) when read_queue_capacity reads are already
  // waiting to be answered or taken.
  [[nodiscard]] bool try_read(ReadRequest&& request);
  // Wakes the worker for everything queued since the last submit. Never waits on storage:
  // one atomic exchange, plus (only when the worker sleeps) an uncontended mutex touch and a
  // condition-variable notify. Call once per I/O loop tick.
  void submit();

  // Every ticket <= done_upto() is settled: durable in its topic's mode (async: in the WAL;
  // sync: fsynced; memory: in the ring; no history: dropped), unless it is >= failed_from().
  // Any thread; acquire.
  [[nodiscard]] uint64_t done_upto() const { return done_upto_.load(std::memory_order_acquire); }
  // The first ticket whose write failed, UINT64_MAX while none has. A write failure is sticky
  // (as RocksDB's own background errors are): every later ticket fails too; see
  // StorageWriter::failure().
  [[nodiscard]] uint64_t failed_from() const {
    return failed_from_.load(std::memory_order_acquire);
  }
  // Takes one answered read, oldest first; false when none is waiting.
  [[nodiscard]] bool try_take_read_result(ReadResult& out);

  // Called by the worker's thread after done_upto() advanced or a read result is waiting.
  // Set before StorageWriter::start(); it must not block (poke an eventfd, send a MSG_RING).
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }

 private:
  friend class StorageWriter;
  StorageProducer(uint32_t append_capacity, uint32_t read_capacity, StorageWriter& writer);

  StorageWriter& writer_;
  common::SpscQueue<AppendRequest> appends_;
  common::SpscQueue<ReadRequest> reads_;
  common::SpscQueue<ReadResult> results_;
  std::function<void()> wake_;
  uint64_t tickets_ = 0;            // producer thread: the last ticket handed out
  uint64_t reads_outstanding_ = 0;  // producer thread: pushed minus taken
  std::atomic<uint64_t> done_upto_{0};
  std::atomic<uint64_t> failed_from_{UINT64_MAX};
  uint64_t popped_ = 0;  // worker thread: appends taken off `appends_`
};

// Thread: open(), recovered_topics(), producer() and start() on the starting thread; stop() or
// the destructor on that thread too. Between start() and stop() only producers are used.
class StorageWriter {
 public:
  // Creates config.data_dir when missing and opens the RocksDB log if any rule uses it.
  [[nodiscard]] static Result<std::unique_ptr<StorageWriter>> open(StorageConfig config);
  ~StorageWriter();  // stop()s
  StorageWriter(const StorageWriter&) = delete;
  StorageWriter& operator=(const StorageWriter&) = delete;

  // Topics with durable history found at open, each with its last_seq: the broker continues
  // every such topic's sequence from last_seq + 1, so no number is reused after a restart.
  [[nodiscard]] const std::vector<TopicState>& recovered_topics() const { return recovered_; }
  // Nonzero when the RocksDB log was not closed cleanly (a crash, kill -9, or a failed write):
  // how far every recovered last_seq was moved on, past the messages that may have been
  // delivered live but not written. Their numbers are skipped, never reused.
  [[nodiscard]] uint64_t crash_seq_skip() const { return crash_seq_skip_; }

  [[nodiscard]] StorageProducer& producer(uint32_t index) { return *producers_.at(index); }
  [[nodiscard]] const HistoryRules& rules() const { return config_.rules; }

  void start();
  // Writes every append already submitted, answers every read already queued, joins, and
  // marks the RocksDB log clean unless a write failed.
  void stop();

  // The first write failure, ok while none. Any thread.
  [[nodiscard]] Status failure() const;

  // Counters for metrics; any thread, relaxed.
  [[nodiscard]] uint64_t batches_written() const {
    return batches_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t messages_written() const {
    return messages_.load(std::memory_order_relaxed);
  }
  // Appends dropped because their seq was not above the topic's last (a broker bug); their
  // tickets settle as done.
  [[nodiscard]] uint64_t rejected_appends() const {
    return rejected_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] uint64_t retention_failures() const {
    return retention_failures_.load(std::memory_order_relaxed);
  }

 private:
  friend class StorageProducer;
  explicit StorageWriter(StorageConfig config);

  void run();
  void wake_worker();
  bool pending();
  bool do_round();  // one batch and the reads before it; false when there was nothing to do
  void write_appends();
  Status append_to(Log& log, std::span<const AppendEntry> entries, bool sync);
  ReadResult serve(ReadRequest& request);
  void enforce_retention(int64_t now_ms);
  const HistoryRule* rule_of(std::string_view topic);
  Log* log_for(const HistoryRule* rule);

  StorageConfig config_;
  std::unique_ptr<Log> memory_;
  std::unique_ptr<RocksDbLog> rocksdb_;
  std::vector<std::unique_ptr<StorageProducer>> producers_;
  std::vector<TopicState> recovered_;
  uint64_t crash_seq_skip_ = 0;
  bool marked_clean_ = false;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sleeping_{false};
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  mutable std::mutex failure_mutex_;
  Status failure_;
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> retention_failures_{0};

  struct Batch;  // the worker's reusable buffers (storage_writer.cc)
  std::unique_ptr<Batch> batch_;
  int64_t last_retention_ms_ = 0;
};

}  // namespace herald::storage
