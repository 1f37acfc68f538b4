// The storage worker's loop: take the queued reads, then every queued append, write the
// appends as one batch per log (group commit), publish each producer's settled ticket, answer
// the reads, enforce retention now and then, and sleep when there is nothing to do.
#include "storage/storage_writer.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <filesystem>

#include "protocol/common/string_hash.h"
#include "storage/memory_log.h"
#include "storage/rocksdb_log.h"

namespace herald::storage {
namespace {

bool power_of_two(uint32_t n) { return n >= 2 && (n & (n - 1)) == 0; }

int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct StorageWriter::Batch {
  std::vector<AppendRequest> appends;
  std::vector<AppendEntry> memory_entries;
  std::vector<AppendEntry> rocksdb_entries;
  std::vector<std::pair<uint32_t, ReadRequest>> reads;  // producer index, request
  std::vector<uint64_t> first_ticket;                   // per producer, this round's first
  std::vector<bool> wake;                               // per producer
  // Each topic's rule, looked up once: topics are bounded by the broker's topics_max.
  common::StringMap<const HistoryRule*> rules;
};

StorageProducer::StorageProducer(uint32_t append_capacity, uint32_t read_capacity,
                                 StorageWriter& writer)
    : writer_(writer), appends_(append_capacity), reads_(read_capacity), results_(read_capacity) {}

uint64_t StorageProducer::try_append(AppendRequest&& request) {
  if (!appends_.try_push(std::move(request))) return 0;
  return ++tickets_;
}

bool StorageProducer::try_read(ReadRequest&& request) {
  // Results live in a ring as large as the request ring; counting requests until their
  // result is taken guarantees the worker always finds room for a result.
  if (reads_outstanding_ >= results_.capacity()) return false;
  if (!reads_.try_push(std::move(request))) return false;
  ++reads_outstanding_;
  return true;
}

bool StorageProducer::try_take_read_result(ReadResult& out) {
  if (!results_.try_pop(out)) return false;
  --reads_outstanding_;
  return true;
}

void StorageProducer::submit() { writer_.wake_worker(); }

StorageWriter::StorageWriter(StorageConfig config)
    : config_(std::move(config)), batch_(std::make_unique<Batch>()) {
  if (!config_.clock_ms) config_.clock_ms = system_ms;
}

Result<std::unique_ptr<StorageWriter>> StorageWriter::open(StorageConfig config) {
  if (config.producer_count == 0 || !power_of_two(config.append_queue_capacity) ||
      !power_of_two(config.read_queue_capacity)) {
    return {Status::invalid_argument(
                "storage: need producers, and queue capacities that are powers of two"),
            {}};
  }
  std::unique_ptr<StorageWriter> writer(new StorageWriter(std::move(config)));
  const HistoryRules* rules = &writer->config_.rules;
  Log::RetentionFor retention_for = [rules](std::string_view topic) {
    const HistoryRule* rule = rules->match(topic);
    return rule ? rule->retention : Retention{};
  };
  writer->memory_ = std::make_unique<MemoryLog>(retention_for);
  if (rules->uses(Backend::kRocksDb)) {
    const std::string& dir = writer->config_.data_dir;
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) return {Status::io_error("cannot create " + dir + ": " + error.message()), {}};
    RocksDbOptions options;
    options.path = (std::filesystem::path(dir) / "history").string();
    options.write_buffer_bytes = writer->config_.rocksdb_write_buffer_bytes;
    options.block_cache_bytes = writer->config_.rocksdb_block_cache_bytes;
    // Delivered live but not yet written: at most a full ring per producer, plus as many
    // again in the batch being written when the crash came.
    options.crash_seq_skip =
        2 * uint64_t{writer->config_.producer_count} * writer->config_.append_queue_capacity;
    auto opened = RocksDbLog::open(options, retention_for);
    if (!opened.status.is_ok()) return {std::move(opened.status), {}};
    auto topics = opened.value->topics();
    if (!topics.status.is_ok()) return {std::move(topics.status), {}};
    writer->recovered_ = std::move(topics.value);
    writer->crash_seq_skip_ = opened.value->opened_after_crash() ? options.crash_seq_skip : 0;
    writer->rocksdb_ = std::move(opened.value);
  }
  for (uint32_t i = 0; i < writer->config_.producer_count; ++i) {
    writer->producers_.emplace_back(new StorageProducer(
        writer->config_.append_queue_capacity, writer->config_.read_queue_capacity, *writer));
  }
  writer->batch_->first_ticket.resize(writer->config_.producer_count);
  writer->batch_->wake.resize(writer->config_.producer_count);
  return {Status::ok(), std::move(writer)};
}

StorageWriter::~StorageWriter() { stop(); }

void StorageWriter::start() {
  assert(!thread_.joinable());
  thread_ = std::thread([this] { run(); });
}

void StorageWriter::stop() {
  if (thread_.joinable()) {
    stopping_.store(true, std::memory_order_seq_cst);
    {
      std::lock_guard lock(sleep_mutex_);
      sleeping_.store(false, std::memory_order_relaxed);
    }
    sleep_cv_.notify_one();
    thread_.join();
  }
  // Every submitted append is written: the next open may continue sequences exactly. Not
  // after a failed write, since the messages delivered live since then are not in the log.
  if (rocksdb_ && !marked_clean_ && failure().is_ok()) {
    marked_clean_ = rocksdb_->mark_clean().is_ok();
  }
}

Status StorageWriter::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

// Producer side of the sleep handshake. Both sides flip sleeping_ with a read-modify-write:
// RMWs on one atomic are totally ordered and each reads the one before, so either the worker's
// exchange(true) reads our false (it synchronizes with us and then sees our push in pending()),
// or ours reads its true and we wake it. No wake-up is lost, and no fence is needed (which
// ThreadSanitizer could not check).
void StorageWriter::wake_worker() {
  if (!sleeping_.exchange(false, std::memory_order_acq_rel)) return;
  { std::lock_guard lock(sleep_mutex_); }  // the worker is in wait() or will see false first
  sleep_cv_.notify_one();
}

bool StorageWriter::pending() {
  for (auto& producer : producers_) {
    if (producer->appends_.readable() > 0 || producer->reads_.readable() > 0) return true;
  }
  return false;
}

void StorageWriter::run() {
  constexpr int kIdleYields = 32;
  int idle_yields = 0;
  for (;;) {
    int64_t now = config_.clock_ms();
    // A clock stepped backwards also triggers a run, rather than none until it catches up.
    if (now < last_retention_ms_ ||
        now - last_retention_ms_ >= static_cast<int64_t>(config_.retention_interval_ms)) {
      last_retention_ms_ = now;
      enforce_retention(now);
    }
    if (do_round()) {
      idle_yields = 0;
      continue;
    }
    if (stopping_.load(std::memory_order_acquire)) {
      while (do_round()) {
      }
      return;
    }
    // Yield a few times before sleeping. When this thread shares a core with an I/O thread
    // that is busy publishing, the yield lets it run on and queue a larger batch, and saves
    // both a futex wake and two context switches per loop tick; when the core is otherwise
    // idle, a few yields cost microseconds.
    if (idle_yields++ < kIdleYields) {
      std::this_thread::yield();
      continue;
    }
    idle_yields = 0;
    sleeping_.exchange(true, std::memory_order_acq_rel);
    if (pending()) {
      sleeping_.store(false, std::memory_order_relaxed);
      continue;
    }
    std::unique_lock lock(sleep_mutex_);
    // Bounded, so that retention still runs on an idle broker.
    auto idle = std::chrono::milliseconds(std::max<uint64_t>(config_.retention_interval_ms, 1));
    sleep_cv_.wait_for(lock, idle, [this] {
      return !sleeping_.load(std::memory_order_relaxed) ||
             stopping_.load(std::memory_order_relaxed);
    });
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

const HistoryRule* StorageWriter::rule_of(std::string_view topic) {
  auto it = batch_->rules.find(topic);
  if (it == batch_->rules.end()) {
    it = batch_->rules.emplace(std::string(topic), config_.rules.match(topic)).first;
  }
  return it->second;
}

Log* StorageWriter::log_for(const HistoryRule* rule) {
  if (!rule) return nullptr;
  return rule->backend == Backend::kRocksDb ? rocksdb_.get() : memory_.get();
}

// Appends `entries` to `log`. A seq that is not above its topic's last is the broker's bug,
// not the disk's: rather than fail every other message of the batch, retry one by one and
// drop (and count) only the offenders.
Status StorageWriter::append_to(Log& log, std::span<const AppendEntry> entries, bool sync) {
  if (entries.empty()) return Status::ok();
  Status status = log.append(entries, sync);
  if (status.code() != Status::Code::kInvalidArgument) return status;
  for (const AppendEntry& entry : entries) {
    status = log.append(std::span(&entry, 1), sync);
    if (status.code() == Status::Code::kInvalidArgument) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
    } else if (!status.is_ok()) {
      return status;
    }
  }
  return Status::ok();
}

// Drains every producer's reads, then every append (so that an append pushed before a read,
// by whichever producer, is written before that read is answered), writes, settles tickets,
// answers the reads. Returns false when there was nothing at all.
bool StorageWriter::do_round() {
  Batch& batch = *batch_;
  batch.reads.clear();
  batch.appends.clear();
  for (uint32_t i = 0; i < producers_.size(); ++i) {
    ReadRequest read;
    while (producers_[i]->reads_.try_pop(read)) batch.reads.emplace_back(i, std::move(read));
  }
  for (uint32_t i = 0; i < producers_.size(); ++i) {
    StorageProducer& producer = *producers_[i];
    batch.first_ticket[i] = producer.popped_ + 1;
    for (size_t n = producer.appends_.readable(); n > 0; --n) {
      AppendRequest& append = batch.appends.emplace_back();
      bool popped = producer.appends_.try_pop(append);
      assert(popped);
      (void)popped;
      ++producer.popped_;
    }
  }
  if (batch.reads.empty() && batch.appends.empty()) return false;
  if (!batch.appends.empty()) write_appends();

  for (uint32_t i = 0; i < producers_.size(); ++i) {
    StorageProducer& producer = *producers_[i];
    batch.wake[i] = producer.popped_ >= batch.first_ticket[i];
    if (batch.wake[i]) producer.done_upto_.store(producer.popped_, std::memory_order_release);
  }
  for (auto& [index, request] : batch.reads) {
    bool pushed = producers_[index]->results_.try_push(serve(request));
    assert(pushed);  // try_read() keeps a result slot for every request
    (void)pushed;
    batch.wake[index] = true;
  }
  for (uint32_t i = 0; i < producers_.size(); ++i) {
    if (batch.wake[i] && producers_[i]->wake_) producers_[i]->wake_();
  }
  return true;
}

// One group commit: one append per log, fsynced when any rocksdb message of the batch asked
// for sync (the others become durable sooner than they needed to, never later).
void StorageWriter::write_appends() {
  if (config_.before_write) config_.before_write();
  Batch& batch = *batch_;
  batch.memory_entries.clear();
  batch.rocksdb_entries.clear();
  bool sync = false;
  for (const AppendRequest& append : batch.appends) {
    const HistoryRule* rule = rule_of(append.topic);
    if (!rule) continue;
    AppendEntry entry{append.topic, append.seq, append.time_ms, append.binary, append.payload};
    if (rule->backend == Backend::kRocksDb) {
      sync = sync || rule->durability == Durability::kSync;
      batch.rocksdb_entries.push_back(entry);
    } else {
      batch.memory_entries.push_back(entry);
    }
  }
  Status status;
  {
    std::lock_guard lock(failure_mutex_);
    status = failure_;
  }
  if (status.is_ok()) status = append_to(*memory_, batch.memory_entries, false);
  if (status.is_ok() && rocksdb_) status = append_to(*rocksdb_, batch.rocksdb_entries, sync);
  batches_.fetch_add(1, std::memory_order_relaxed);
  if (status.is_ok()) {
    messages_.fetch_add(batch.appends.size(), std::memory_order_relaxed);
    return;
  }
  // Sticky: once a write failed, every ticket from this batch on fails (failure() says why).
  {
    std::lock_guard lock(failure_mutex_);
    if (failure_.is_ok()) failure_ = status;
  }
  for (uint32_t i = 0; i < producers_.size(); ++i) {
    StorageProducer& producer = *producers_[i];
    if (producer.failed_from_.load(std::memory_order_relaxed) == UINT64_MAX &&
        producer.popped_ >= batch.first_ticket[i]) {
      producer.failed_from_.store(batch.first_ticket[i], std::memory_order_release);
    }
  }
}

ReadResult StorageWriter::serve(ReadRequest& request) {
  ReadResult result;
  result.token = request.token;
  result.state.topic = request.topic;
  const HistoryRule* rule = rule_of(request.topic);
  Log* log = log_for(rule);
  if (!log) return result;
  result.has_history = true;
  Result<TopicState> state = log->state(request.topic);
  if (!state.status.is_ok() || state.value.epoch == 0) {
    result.status = std::move(state.status);
    return result;
  }
  result.state = std::move(state.value);
  const TopicState& now = result.state;
  uint64_t from = now.last_seq + 1;
  ReadLimits limits = request.limits;
  switch (request.start) {
    case ReadRequest::Start::kSeq:
      from = request.value;
      break;
    case ReadRequest::Start::kLast: {
      auto found = log->first_of_last(request.topic, request.value);
      if (!found.status.is_ok()) {
        result.status = std::move(found.status);
        return result;
      }
      from = found.value;
      limits.count_max = std::min(limits.count_max, request.value);
      break;
    }
    case ReadRequest::Start::kTime: {
      auto found = log->find_seq_at_or_after_time(
          request.topic, static_cast<int64_t>(std::min<uint64_t>(request.value, INT64_MAX)));
      if (!found.status.is_ok()) {
        result.status = std::move(found.status);
        return result;
      }
      from = found.value;
      break;
    }
  }
  if (limits.count_max == 0 || from > now.last_seq) return result;
  auto messages = log->read(request.topic, from, limits);
  result.status = std::move(messages.status);
  result.messages = std::move(messages.value);
  return result;
}

void StorageWriter::enforce_retention(int64_t now_ms) {
  for (Log* log : {memory_.get(), static_cast<Log*>(rocksdb_.get())}) {
    if (log && !log->enforce_retention(now_ms).is_ok()) {
      retention_failures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace herald::storage
