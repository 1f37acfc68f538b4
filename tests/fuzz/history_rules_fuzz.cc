// libFuzzer target for the `--history` rule parser: any bytes give a rule or an error line,
// never a crash; an accepted rule is internally consistent and matches like its pattern says.
// Built with replay_main.cc it replays the corpus in the ordinary test run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/pubsub/topic.h"
#include "storage/history_rules.h"

namespace {

namespace pubsub = herald::protocol::pubsub;
using herald::storage::Backend;
using herald::storage::HistoryRule;
using herald::storage::HistoryRules;

// Not assert(): a fuzz check must hold in every build, NDEBUG or not.
void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  herald::storage::Result<HistoryRule> parsed = herald::storage::parse_history_rule(text);
  if (!parsed.status.is_ok()) {
    require(!parsed.status.message().empty());
    return 0;
  }
  const HistoryRule* rule = &parsed.value;
  require(pubsub::check_filter(rule->pattern) == pubsub::TopicError::kNone);
  require(text.substr(0, rule->pattern.size()) == rule->pattern);
  const auto& bounds = rule->retention;
  if (rule->backend == Backend::kMemory) require(bounds.count_max || bounds.bytes_max);
  if (rule->backend == Backend::kRocksDb) {
    require(bounds.count_max || bounds.age_ms_max || bounds.bytes_max);
  }
  // A concrete pattern matches itself; the rule set answers with the rule or, for none, null.
  HistoryRules rules({*rule});
  if (!pubsub::is_pattern(rule->pattern)) {
    const HistoryRule* matched = rules.match(rule->pattern);
    require(rule->backend == Backend::kNone ? matched == nullptr : matched == &rules.rules()[0]);
  }
  return 0;
}
