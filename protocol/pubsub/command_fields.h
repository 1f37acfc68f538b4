// What one pass over a command object collects, shared by the command parser (command.cc)
// and its replay options (command_replay.cc). Internal to protocol/pubsub: not for callers.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/pubsub/command.h"
#include "protocol/pubsub/json_text.h"

namespace herald::protocol::pubsub::detail {

namespace ondemand = simdjson::ondemand;

inline constexpr uint64_t kIdNumberLimit = uint64_t{1} << 53;

enum class Status : uint8_t { kOk, kBadJson, kBadRequest };

inline Status validate_value(ondemand::value value) {
  return validate_json_value(value) ? Status::kOk : Status::kBadJson;
}

// A JSON integer token without sign, fraction or exponent, below 2^53.
inline bool is_id_number(std::string_view token) {
  uint64_t value = 0;
  return parse_decimal(token, value) && value < kIdNumberLimit;
}

enum Field : uint8_t {
  kOp,
  kTopic,
  kId,
  kPolicy,
  kEcho,
  kData,
  kFrom,
  kLast,
  kSince,
  kEpoch,
  kSnapshot,
  kToken,
  kFieldCount
};

// The field a key names; kFieldCount for any other key.
inline Field field_of(std::string_view key) {
  static constexpr std::array<std::string_view, kFieldCount> kNames = {
      "op",   "topic", "id",    "policy", "echo",     "data",
      "from", "last",  "since", "epoch",  "snapshot", "token"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (key == kNames[i]) return static_cast<Field>(i);
  }
  return kFieldCount;
}

// What one pass over the command object found; views point into the padded copy.
struct Fields {
  unsigned seen = 0;
  std::string_view op;
  std::string_view topic;
  std::string_view id;
  std::string_view data;
  std::string_view token;  // auth only
  Policy policy = Policy::kDefault;
  bool echo = true;
  // Replay options (section 9). `from` and `epoch` are either scalars or, for a pattern,
  // objects whose entries land in the parser's reusable tables.
  bool from_object = false;
  bool epoch_object = false;
  uint64_t from = 0;
  uint64_t last = 0;
  uint64_t since = 0;
  bool snapshot = false;
  std::string_view epoch;
  std::vector<TopicPosition>* positions = nullptr;
  std::vector<TopicPosition>* epochs = nullptr;
  // The first request-level problem met; reported only when the JSON as a whole is valid.
  Status status = Status::kOk;
  std::string_view text;

  void fail(std::string_view why) {
    if (status != Status::kOk) return;
    status = Status::kBadRequest;
    text = why;
  }
};

// Reads a string field's content as written between the quotes (escapes are not decoded:
// the fields read this way only admit characters that never need escaping).
Status read_string(ondemand::value value, std::string_view& content, std::string_view what,
                   Fields& fields);

// from, last, since, epoch, snapshot: the replay options of a subscribe (section 9).
Status read_replay_field(Field field, ondemand::value value, Fields& fields);

// The replay options' own rules (section 9), filling `command`'s replay fields; returns the
// problem, or empty when they hold.
std::string_view check_replay(const Fields& fields, bool pattern, Command& command);

}  // namespace herald::protocol::pubsub::detail
