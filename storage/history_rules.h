// Which topics keep history, in which log, for how long, and how durably: one rule per
// `--history` flag, first match wins. Parsing is pure (no I/O); matching uses the protocol's
// reference matcher. Immutable once built, so any thread may call match().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace herald::storage {

enum class Backend : unsigned char {
  kNone,     // an explicit exclusion: `tmp.>=none` before a wider rule keeps tmp.* out
  kMemory,   // a bounded ring per topic, lost on restart
  kRocksDb,  // on disk under the data directory
  kRedis,    // in Redis, shared by every node (--redis); the broker's cluster link keeps it,
             // never the storage writer
};

enum class Durability : unsigned char {
  kAsync,  // acked once in RocksDB's write-ahead log (survives a crash of the process)
  kSync,   // acked once the write-ahead log is fsynced (survives a crash of the machine)
};

// Bounds on one topic's history; whichever is reached first trims the oldest messages.
// Zero means "no bound of this kind".
struct Retention {
  uint64_t count_max = 0;
  uint64_t age_ms_max = 0;
  uint64_t bytes_max = 0;  // payload bytes
};

struct HistoryRule {
  std::string pattern;  // passes protocol::pubsub::check_filter
  Backend backend = Backend::kNone;
  Retention retention;
  Durability durability = Durability::kAsync;  // meaningful for kRocksDb only
};

// Parses one flag value: `PATTERN=BACKEND[,KEY=VALUE]...`, for example
//   prices.>=rocksdb,count=1000000,age=7d,bytes=1GiB,durability=sync
//   game.>=memory,count=100
//   tmp.>=none
// Keys: count (an integer), age (an integer with unit ms, s, m, h or d), bytes (an integer
// with unit B, KiB, MiB, GiB or TiB, or none for bytes), durability (async or sync, rocksdb
// only). A memory rule needs count or bytes (memory must be bounded); a rocksdb rule needs at
// least one bound, a redis rule count= (and optionally age=). Returns the rule, or an
// invalid_argument status with one line saying what is wrong.
[[nodiscard]] Result<HistoryRule> parse_history_rule(std::string_view text);

class HistoryRules {
 public:
  HistoryRules() = default;
  explicit HistoryRules(std::vector<HistoryRule> rules) : rules_(std::move(rules)) {}

  // Parses every flag value in order; the first bad one fails it with a line that quotes the
  // flag.
  [[nodiscard]] static Result<HistoryRules> parse(const std::vector<std::string>& flags);

  // The first rule whose pattern matches `topic` (a valid concrete topic), or nullptr when
  // none does or the first match is a kNone rule: that topic keeps no history.
  [[nodiscard]] const HistoryRule* match(std::string_view topic) const;

  [[nodiscard]] bool uses(Backend backend) const;
  [[nodiscard]] const std::vector<HistoryRule>& rules() const { return rules_; }

 private:
  std::vector<HistoryRule> rules_;
};

}  // namespace herald::storage
