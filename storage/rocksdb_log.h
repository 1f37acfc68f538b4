// History kept on disk in one RocksDB database under the data directory. The layout is
// documented in rocksdb_log.cc; no RocksDB type appears in this header.
#pragma once

#include <memory>
#include <string>

#include "storage/log.h"

namespace herald::storage {

struct RocksDbOptions {
  std::string path = "./data/history";     // created, with its parents, when missing
  uint64_t write_buffer_bytes = 64 << 20;  // one memtable; two may be in memory at once
  uint64_t block_cache_bytes = 32 << 20;   // serves replays of recent, flushed messages
  // Opened after a crash (no mark_clean() since the last open), every topic's last_seq moves
  // on by this much: the writer's bound on messages that were delivered live but not yet
  // written, so that none of their sequence numbers is handed out again.
  uint64_t crash_seq_skip = 0;
};

class RocksDbLog final : public Log {
 public:
  // Opens (or creates) the database and loads every topic's metadata. A failure says what
  // and where in status.message(), for main's one log line.
  [[nodiscard]] static Result<std::unique_ptr<RocksDbLog>> open(const RocksDbOptions& options,
                                                                RetentionFor retention_for);
  ~RocksDbLog() override;
  RocksDbLog(const RocksDbLog&) = delete;
  RocksDbLog& operator=(const RocksDbLog&) = delete;

  Status append(std::span<const AppendEntry> entries, bool sync) override;
  Result<TopicState> state(std::string_view topic) override;
  Result<MessagePage> read(std::string_view topic, uint64_t from_seq, ReadLimits limits) override;
  Result<uint64_t> find_seq_at_or_after_time(std::string_view topic, int64_t time_ms) override;
  Result<uint64_t> first_of_last(std::string_view topic, uint64_t count) override;
  Result<std::vector<TopicState>> topics() override;
  Status enforce_retention(int64_t now_ms) override;

  // Records a clean shutdown (synced): call last, once every append has been written. The
  // next open then continues sequences exactly; without it, it skips crash_seq_skip.
  Status mark_clean();
  // Whether this open followed a crash, and so skipped sequences.
  [[nodiscard]] bool opened_after_crash() const;

  // Flushes memtables and compacts everything: for the disk-use benchmark and tests.
  Status compact();

 private:
  struct Impl;
  explicit RocksDbLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald::storage
