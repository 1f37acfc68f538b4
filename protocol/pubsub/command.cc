// Parses client commands (PROTOCOL.md sections 3 and 5): one pass of simdjson on-demand over a
// padded copy of the frame. Every value is checked against the JSON grammar, so what is
// forwarded as `data` is always one valid JSON value. No allocation once the buffers are warm.
#include "protocol/pubsub/command.h"

#include <simdjson.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "protocol/pubsub/json_text.h"
#include "protocol/pubsub/topic.h"

namespace herald::protocol::pubsub {

namespace ondemand = simdjson::ondemand;

namespace {

constexpr uint64_t kIdNumberLimit = uint64_t{1} << 53;

enum class Status : uint8_t { kOk, kBadJson, kBadRequest };

Status validate_value(ondemand::value value) {
  return validate_json_value(value) ? Status::kOk : Status::kBadJson;
}

// A JSON integer token without sign, fraction or exponent, below 2^53.
bool is_id_number(std::string_view token) {
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
  kFieldCount
};

// The field a key names; kFieldCount for any other key.
Field field_of(std::string_view key) {
  static constexpr std::array<std::string_view, kFieldCount> kNames = {
      "op", "topic", "id", "policy", "echo", "data", "from", "last", "since", "epoch", "snapshot"};
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

}  // namespace

struct CommandParser::State {
  std::string padded;  // the frame, then SIMDJSON_PADDING bytes that simdjson may read
  ondemand::parser parser;
  std::array<char, kDecimalBytesMax> binary_id{};  // a binary publish's id, in decimal
  // A pattern's `from` and `epoch` objects; capacity reserved once, so parsing never grows them.
  std::vector<TopicPosition> positions;
  std::vector<TopicPosition> epochs;
};

namespace {

ParseResult failure(ErrorCode code, std::string_view text, std::string_view id = {}) {
  ParseResult result;
  result.error = code;
  result.error_text = text;
  result.error_id = id;
  return result;
}

// Reads a string field's content as written between the quotes (escapes are not decoded:
// the fields read this way only admit characters that never need escaping).
Status read_string(ondemand::value value, std::string_view& content, std::string_view what,
                   Fields& fields) {
  ondemand::json_type type;
  if (value.type().get(type)) return Status::kBadJson;
  if (type != ondemand::json_type::string) {
    fields.fail(what);
    return validate_value(value);
  }
  const std::string_view token = trim_json_whitespace(value.raw_json_token());
  if (!is_json_string(token)) return Status::kBadJson;
  content = token.substr(1, token.size() - 2);
  return Status::kOk;
}

Status read_id(ondemand::value value, Fields& fields) {
  ondemand::json_type type;
  if (value.type().get(type)) return Status::kBadJson;
  const std::string_view token = trim_json_whitespace(value.raw_json_token());
  if (type == ondemand::json_type::string) {
    if (!is_json_string(token)) return Status::kBadJson;
    if (token.size() - 2 > kIdBytesMax) {
      fields.fail("id longer than 64 bytes");
    } else {
      fields.id = token;
    }
    return Status::kOk;
  }
  if (type == ondemand::json_type::number) {
    if (!is_json_number(token)) return Status::kBadJson;
    if (!is_id_number(token)) {
      fields.fail("id must be an integer from 0 to 2^53-1 or a string");
    } else {
      fields.id = token;
    }
    return Status::kOk;
  }
  fields.fail("id must be a string or a number");
  return validate_value(value);
}

// A JSON integer below 2^53, as sequences, counts and times are on the wire.
Status read_count(ondemand::value value, uint64_t& out, std::string_view what, Fields& fields) {
  ondemand::json_type type;
  if (value.type().get(type)) return Status::kBadJson;
  if (type != ondemand::json_type::number) {
    fields.fail(what);
    return validate_value(value);
  }
  const std::string_view token = trim_json_whitespace(value.raw_json_token());
  if (!is_json_number(token)) return Status::kBadJson;
  if (!parse_decimal(token, out) || out >= kIdNumberLimit) fields.fail(what);
  return Status::kOk;
}

bool is_epoch(std::string_view text) {
  if (text.size() != kEpochChars) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status read_epoch(ondemand::value value, std::string_view& out, Fields& fields) {
  constexpr std::string_view kWhy = "epoch must be 16 lowercase hex digits";
  const Status status = read_string(value, out, kWhy, fields);
  if (status == Status::kOk && !is_epoch(out)) fields.fail(kWhy);
  return status;
}

// A pattern's `from` (topic -> sequence) or `epoch` (topic -> epoch) object, into `table`.
// Every value is read even after a request-level problem, so bad JSON is still reported.
Status read_topic_object(ondemand::value value, bool epochs, Fields& fields) {
  std::vector<TopicPosition>& table = epochs ? *fields.epochs : *fields.positions;
  ondemand::object object;
  if (value.get_object().get(object)) return Status::kBadJson;
  for (auto entry_result : object) {
    ondemand::field entry;
    std::string_view topic;
    if (std::move(entry_result).get(entry) || entry.unescaped_key().get(topic)) {
      return Status::kBadJson;
    }
    TopicPosition position;
    position.topic = topic;
    const Status status = epochs ? read_epoch(entry.value(), position.epoch, fields)
                                 : read_count(entry.value(), position.seq,
                                              "from must map topics to integers", fields);
    if (status != Status::kOk) return status;
    if (fields.status != Status::kOk) continue;
    if (check_topic(topic) != TopicError::kNone) {
      fields.fail(epochs ? "epoch names an invalid topic" : "from names an invalid topic");
    } else if (table.size() == kReplayTopicsMax) {
      fields.fail("more than 256 topics in from or epoch");
    } else {
      for (const TopicPosition& seen : table) {
        if (seen.topic == topic) fields.fail("a topic named twice in from or epoch");
      }
      table.push_back(position);
    }
  }
  return Status::kOk;
}

// from, last, since, epoch, snapshot: the replay options of a subscribe (section 9).
Status read_replay_field(Field field, ondemand::value value, Fields& fields) {
  ondemand::json_type type;
  if (value.type().get(type)) return Status::kBadJson;
  const bool object = type == ondemand::json_type::object;
  switch (field) {
    case kFrom:
      fields.from_object = object;
      if (object) return read_topic_object(value, false, fields);
      return read_count(value, fields.from, "from must be an integer or an object", fields);
    case kEpoch:
      fields.epoch_object = object;
      if (object) return read_topic_object(value, true, fields);
      return read_epoch(value, fields.epoch, fields);
    case kLast:
      return read_count(value, fields.last, "last must be an integer from 0 to 2^53-1", fields);
    case kSince:
      return read_count(value, fields.since, "since must be Unix milliseconds", fields);
    case kSnapshot: {
      if (type != ondemand::json_type::boolean) {
        fields.fail("snapshot must be true or false");
        return validate_value(value);
      }
      const std::string_view token = trim_json_whitespace(value.raw_json_token());
      if (token != "true" && token != "false") return Status::kBadJson;
      fields.snapshot = token == "true";
      return Status::kOk;
    }
    default:
      break;
  }
  return Status::kBadJson;
}

Status read_field(std::string_view key, ondemand::value value, Fields& fields) {
  const Field field = field_of(key);
  if (field == kFieldCount) {
    fields.fail("unknown field");
    return validate_value(value);
  }
  if (fields.seen & (1u << field)) {
    fields.fail("duplicate field");
    return validate_value(value);
  }
  fields.seen |= 1u << field;
  switch (field) {
    case kOp:
      return read_string(value, fields.op, "op must be a string", fields);
    case kTopic:
      return read_string(value, fields.topic, "topic must be a string", fields);
    case kId:
      return read_id(value, fields);
    case kPolicy: {
      std::string_view name;
      const Status status = read_string(value, name, "policy must be a string", fields);
      if (status == Status::kOk && !parse_policy(name, fields.policy)) {
        fields.fail("policy must be disconnect, drop, conflate or catchup");
      }
      return status;
    }
    case kEcho: {
      ondemand::json_type type;
      if (value.type().get(type)) return Status::kBadJson;
      if (type != ondemand::json_type::boolean) {
        fields.fail("echo must be true or false");
        return validate_value(value);
      }
      const std::string_view token = trim_json_whitespace(value.raw_json_token());
      if (token != "true" && token != "false") return Status::kBadJson;
      fields.echo = token == "true";
      return Status::kOk;
    }
    case kData:
      return read_raw_json_value(value, fields.data) ? Status::kOk : Status::kBadJson;
    case kFrom:
    case kLast:
    case kSince:
    case kEpoch:
    case kSnapshot:
      return read_replay_field(field, value, fields);
    case kFieldCount:
      break;
  }
  return Status::kBadJson;
}

// The replay options' own rules (section 9); returns the problem, or empty when they hold.
std::string_view check_replay(const Fields& fields, bool pattern, Command& command) {
  const auto has = [&](Field field) { return (fields.seen & (1u << field)) != 0; };
  const int starts = int{has(kFrom)} + int{has(kLast)} + int{has(kSince)} + int{fields.snapshot};
  if (starts > 1) return "at most one of from, last, since and snapshot";
  if (has(kEpoch) && !has(kFrom)) return "epoch is only allowed with from";
  if (has(kFrom)) {
    if (fields.from_object != pattern) {
      return pattern ? "from for a pattern is an object of topics" : "from for a topic is a number";
    }
    if (has(kEpoch) && fields.epoch_object != pattern) {
      return pattern ? "epoch for a pattern is an object of topics"
                     : "epoch for a topic is a string";
    }
    command.replay = Replay::kFrom;
    command.replay_value = fields.from;
    command.epoch = fields.epoch;
  } else if (has(kLast)) {
    command.replay = Replay::kLast;
    command.replay_value = fields.last;
  } else if (has(kSince)) {
    command.replay = Replay::kSince;
    command.replay_value = fields.since;
  } else if (fields.snapshot) {
    command.replay = Replay::kSnapshot;
  }
  if (!pattern || command.replay != Replay::kFrom) return {};
  for (const TopicPosition& position : *fields.positions) {
    if (!filter_matches(command.topic, position.topic)) {
      return "from names a topic the pattern does not match";
    }
  }
  // Each epoch joins the position of its topic; an epoch for a topic not in from is a mistake.
  for (const TopicPosition& epoch : *fields.epochs) {
    bool found = false;
    for (TopicPosition& position : *fields.positions) {
      if (position.topic == epoch.topic) {
        position.epoch = epoch.epoch;
        found = true;
      }
    }
    if (!found) return "epoch names a topic not in from";
  }
  command.positions = *fields.positions;
  return {};
}

// Turns what the pass found into a command, or the error to answer.
ParseResult finish(const Fields& fields) {
  const auto has = [&](Field field) { return (fields.seen & (1u << field)) != 0; };
  if (fields.status == Status::kBadRequest) {
    return failure(ErrorCode::kBadRequest, fields.text, fields.id);
  }
  if (!has(kOp)) return failure(ErrorCode::kBadRequest, "missing op", fields.id);
  ParseResult result;
  Command& command = result.command;
  if (fields.op == "sub") {
    command.op = Op::kSubscribe;
  } else if (fields.op == "unsub") {
    command.op = Op::kUnsubscribe;
  } else if (fields.op == "pub") {
    command.op = Op::kPublish;
  } else {
    return failure(ErrorCode::kUnknownOp, "op must be sub, unsub or pub", fields.id);
  }
  const bool publish = command.op == Op::kPublish;
  if (has(kPolicy) && command.op != Op::kSubscribe) {
    return failure(ErrorCode::kBadRequest, "policy is only allowed in sub", fields.id);
  }
  if (has(kEcho) && !publish) {
    return failure(ErrorCode::kBadRequest, "echo is only allowed in pub", fields.id);
  }
  if (has(kData) && !publish) {
    return failure(ErrorCode::kBadRequest, "data is only allowed in pub", fields.id);
  }
  constexpr unsigned kReplayFields =
      (1u << kFrom) | (1u << kLast) | (1u << kSince) | (1u << kEpoch) | (1u << kSnapshot);
  if ((fields.seen & kReplayFields) != 0 && command.op != Op::kSubscribe) {
    return failure(ErrorCode::kBadRequest, "replay options are only allowed in sub", fields.id);
  }
  if (!has(kTopic)) return failure(ErrorCode::kBadRequest, "missing topic", fields.id);
  if (publish && !has(kData)) return failure(ErrorCode::kBadRequest, "missing data", fields.id);
  const TopicError topic_error = publish ? check_topic(fields.topic) : check_filter(fields.topic);
  if (topic_error != TopicError::kNone) {
    return failure(ErrorCode::kBadTopic, topic_error_text(topic_error), fields.id);
  }
  command.topic = fields.topic;
  command.id = fields.id;
  command.data = fields.data;
  command.echo = fields.echo;
  command.policy = fields.policy;
  if (command.op == Op::kSubscribe) {
    const std::string_view problem = check_replay(fields, is_pattern(command.topic), command);
    if (!problem.empty()) return failure(ErrorCode::kBadRequest, problem, fields.id);
  }
  result.ok = true;
  return result;
}

}  // namespace

CommandParser::CommandParser() : state_(std::make_unique<State>()) {
  state_->positions.reserve(kReplayTopicsMax);
  state_->epochs.reserve(kReplayTopicsMax);
}
CommandParser::~CommandParser() = default;

ParseResult CommandParser::parse_text(std::span<const uint8_t> frame) {
  State& state = *state_;
  // resize() zero-fills the padding; the capacity stays, so warm calls do not allocate.
  state.padded.resize(frame.size() + simdjson::SIMDJSON_PADDING);
  if (!frame.empty()) std::memcpy(state.padded.data(), frame.data(), frame.size());
  const simdjson::padded_string_view input(state.padded.data(), frame.size(), state.padded.size());
  ondemand::document document;
  if (state.parser.iterate(input).get(document)) {
    return failure(ErrorCode::kBadJson, "invalid JSON");
  }
  ondemand::object object;
  if (document.get_object().get(object)) {
    return failure(ErrorCode::kBadJson, "not a JSON object");
  }
  Fields fields;
  state.positions.clear();
  state.epochs.clear();
  fields.positions = &state.positions;
  fields.epochs = &state.epochs;
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
      return failure(ErrorCode::kBadJson, "invalid JSON");
    }
    if (read_field(key, field.value(), fields) == Status::kBadJson) {
      return failure(ErrorCode::kBadJson, "invalid JSON");
    }
  }
  // Anything after the object's closing brace is a second value: not one JSON object.
  const char* trailing = nullptr;
  if (document.current_location().get(trailing) != simdjson::OUT_OF_BOUNDS) {
    return failure(ErrorCode::kBadJson, "trailing content after the JSON object");
  }
  return finish(fields);
}

ParseResult CommandParser::parse_binary(std::span<const uint8_t> frame) {
  State& state = *state_;
  constexpr uint8_t kKnownFlags = kBinaryFlagId | kBinaryFlagNoEcho;
  if (frame.size() < 3) return failure(ErrorCode::kBadRequest, "truncated binary header");
  if (frame[0] != kBinaryPublishKind) {
    return failure(ErrorCode::kBadRequest, "unknown binary frame kind");
  }
  const uint8_t flags = frame[1];
  if ((flags & ~kKnownFlags) != 0) {
    return failure(ErrorCode::kBadRequest, "reserved binary flags set");
  }
  const size_t topic_bytes = frame[2];
  if (topic_bytes == 0) return failure(ErrorCode::kBadRequest, "empty binary topic");
  const size_t id_bytes = (flags & kBinaryFlagId) != 0 ? 4 : 0;
  if (frame.size() < 3 + topic_bytes + id_bytes) {
    return failure(ErrorCode::kBadRequest, "truncated binary header");
  }
  const char* bytes = reinterpret_cast<const char*>(frame.data());
  const std::string_view topic(bytes + 3, topic_bytes);
  std::string_view id;
  if (id_bytes != 0) {
    const uint8_t* p = frame.data() + 3 + topic_bytes;
    const uint32_t value =
        (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
    id = std::string_view(state.binary_id.data(), write_decimal(state.binary_id.data(), value));
  }
  const TopicError topic_error = check_topic(topic);
  if (topic_error != TopicError::kNone) {
    return failure(ErrorCode::kBadTopic, topic_error_text(topic_error), id);
  }
  ParseResult result;
  result.ok = true;
  Command& command = result.command;
  command.op = Op::kPublish;
  command.topic = topic;
  command.id = id;
  const size_t header_bytes = 3 + topic_bytes + id_bytes;
  command.data = std::string_view(bytes + header_bytes, frame.size() - header_bytes);
  command.binary = true;
  command.echo = (flags & kBinaryFlagNoEcho) == 0;
  return result;
}

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadJson:
      return "bad_json";
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kUnknownOp:
      return "unknown_op";
    case ErrorCode::kBadTopic:
      return "bad_topic";
    case ErrorCode::kNotSubscribed:
      return "not_subscribed";
    case ErrorCode::kTooManySubscriptions:
      return "too_many_subscriptions";
    case ErrorCode::kTooManyTopics:
      return "too_many_topics";
    case ErrorCode::kStorageFailed:
      return "storage_failed";
  }
  return "bad_request";
}

std::string_view policy_name(Policy policy) {
  switch (policy) {
    case Policy::kDefault:
      return "default";
    case Policy::kDisconnect:
      return "disconnect";
    case Policy::kDrop:
      return "drop";
    case Policy::kConflate:
      return "conflate";
    case Policy::kCatchup:
      return "catchup";
  }
  return "default";
}

bool parse_policy(std::string_view name, Policy& out) {
  for (const Policy policy :
       {Policy::kDisconnect, Policy::kDrop, Policy::kConflate, Policy::kCatchup}) {
    if (name == policy_name(policy)) {
      out = policy;
      return true;
    }
  }
  return false;
}

}  // namespace herald::protocol::pubsub
