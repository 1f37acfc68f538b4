// Parsing of `--history` rules and first-match lookup. Pure: no I/O, no allocation beyond the
// rule being built.
#include "storage/history_rules.h"

#include <array>
#include <charconv>
#include <utility>

#include "protocol/pubsub/topic.h"

namespace herald::storage {
namespace {

namespace pubsub = herald::protocol::pubsub;

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr std::array<Unit, 5> kAgeUnits = {
    {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
constexpr std::array<Unit, 6> kByteUnits = {{{"", 1},
                                             {"B", 1},
                                             {"KiB", uint64_t{1} << 10},
                                             {"MiB", uint64_t{1} << 20},
                                             {"GiB", uint64_t{1} << 30},
                                             {"TiB", uint64_t{1} << 40}}};

// A positive decimal integer followed by one of `units` (an empty unit name allows none).
// Overflow of the product is an error rather than a silently smaller bound.
template <size_t N>
bool parse_quantity(std::string_view text, const std::array<Unit, N>& units, uint64_t& out) {
  uint64_t number = 0;
  const char* end = text.data() + text.size();
  auto [next, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc() || next == text.data() || number == 0) return false;
  std::string_view unit(next, static_cast<size_t>(end - next));
  for (const Unit& candidate : units) {
    if (candidate.name != unit) continue;
    if (number > UINT64_MAX / candidate.factor) return false;
    out = number * candidate.factor;
    return true;
  }
  return false;
}

bool parse_count(std::string_view text, uint64_t& out) {
  constexpr std::array<Unit, 1> kNoUnit = {{{"", 1}}};
  return parse_quantity(text, kNoUnit, out);
}

std::string quoted(std::string_view text) {
  std::string out = "'";
  out.append(text);
  out += '\'';
  return out;
}

// Applies one `key=value` option to `rule`; returns an error line or "".
std::string apply_option(std::string_view option, HistoryRule& rule) {
  size_t equals = option.find('=');
  if (equals == std::string_view::npos) return "option " + quoted(option) + " is not key=value";
  std::string_view key = option.substr(0, equals);
  std::string_view value = option.substr(equals + 1);
  bool good = false;
  if (key == "count") {
    good = parse_count(value, rule.retention.count_max);
  } else if (key == "age") {
    good = parse_quantity(value, kAgeUnits, rule.retention.age_ms_max);
  } else if (key == "bytes") {
    good = parse_quantity(value, kByteUnits, rule.retention.bytes_max);
  } else if (key == "durability") {
    if (rule.backend != Backend::kRocksDb) return "durability applies to rocksdb rules only";
    good = value == "async" || value == "sync";
    rule.durability = value == "sync" ? Durability::kSync : Durability::kAsync;
  } else {
    return "unknown option " + quoted(key) + " (count, age, bytes, durability)";
  }
  if (!good) return "bad value " + quoted(value) + " for " + std::string(key);
  return "";
}

Result<HistoryRule> refuse(std::string message) {
  return {Status::invalid_argument(std::move(message)), {}};
}

}  // namespace

Result<HistoryRule> parse_history_rule(std::string_view text) {
  // The pattern may not contain '=' (not in the topic alphabet), so the first '=' splits.
  size_t equals = text.find('=');
  if (equals == std::string_view::npos) return refuse("expected PATTERN=BACKEND[,KEY=VALUE]...");
  HistoryRule rule;
  std::string_view pattern = text.substr(0, equals);
  if (pubsub::TopicError topic_error = pubsub::check_filter(pattern);
      topic_error != pubsub::TopicError::kNone) {
    return refuse("bad pattern " + quoted(pattern) + ": " +
                  std::string(pubsub::topic_error_text(topic_error)));
  }
  rule.pattern = pattern;
  std::string_view rest = text.substr(equals + 1);
  size_t comma = rest.find(',');
  std::string_view backend = rest.substr(0, comma);
  if (backend == "none") {
    rule.backend = Backend::kNone;
  } else if (backend == "memory") {
    rule.backend = Backend::kMemory;
  } else if (backend == "rocksdb") {
    rule.backend = Backend::kRocksDb;
  } else if (backend == "redis") {
    rule.backend = Backend::kRedis;
  } else {
    return refuse("unknown backend " + quoted(backend) + " (memory, rocksdb, redis, none)");
  }
  while (comma != std::string_view::npos) {
    rest = rest.substr(comma + 1);
    comma = rest.find(',');
    if (std::string error = apply_option(rest.substr(0, comma), rule); !error.empty()) {
      return refuse(std::move(error));
    }
  }
  const Retention& bounds = rule.retention;
  if (rule.backend == Backend::kNone &&
      (bounds.count_max || bounds.age_ms_max || bounds.bytes_max)) {
    return refuse("a none rule takes no options");
  }
  if (rule.backend == Backend::kMemory && bounds.count_max == 0 && bounds.bytes_max == 0) {
    return refuse("a memory rule needs count= or bytes= (memory must stay bounded)");
  }
  if (rule.backend == Backend::kRocksDb && bounds.count_max == 0 && bounds.age_ms_max == 0 &&
      bounds.bytes_max == 0) {
    return refuse("a rocksdb rule needs count=, age= or bytes=");
  }
  if (rule.backend == Backend::kRedis) {
    // A Redis stream is trimmed by count (MAXLEN) and age; Redis memory must stay bounded.
    if (bounds.count_max == 0) return refuse("a redis rule needs count=");
    if (bounds.bytes_max != 0) return refuse("a redis rule takes count= and age= only");
    if (bounds.count_max > UINT32_MAX) return refuse("a redis rule's count= is at most 4294967295");
  }
  return {Status::ok(), std::move(rule)};
}

Result<HistoryRules> HistoryRules::parse(const std::vector<std::string>& flags) {
  std::vector<HistoryRule> rules;
  rules.reserve(flags.size());
  for (const std::string& flag : flags) {
    Result<HistoryRule> rule = parse_history_rule(flag);
    if (!rule.status.is_ok()) {
      return {Status::invalid_argument("--history " + quoted(flag) + ": " + rule.status.message()),
              {}};
    }
    rules.push_back(std::move(rule.value));
  }
  return {Status::ok(), HistoryRules(std::move(rules))};
}

const HistoryRule* HistoryRules::match(std::string_view topic) const {
  for (const HistoryRule& rule : rules_) {
    if (pubsub::filter_matches(rule.pattern, topic)) {
      return rule.backend == Backend::kNone ? nullptr : &rule;
    }
  }
  return nullptr;
}

bool HistoryRules::uses(Backend backend) const {
  for (const HistoryRule& rule : rules_) {
    if (rule.backend == backend) return true;
  }
  return false;
}

}  // namespace herald::storage
