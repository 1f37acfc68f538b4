// Parses client commands (PROTOCOL.md sections 3 and 5): one pass of simdjson on-demand over a
// padded copy of the frame. Every value is checked against the JSON grammar, so what is
// forwarded as `data` is always one valid JSON value. No allocation once the buffers are warm.
#include "protocol/pubsub/command.h"

#include <simdjson.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "protocol/pubsub/command_fields.h"
#include "protocol/pubsub/json_text.h"
#include "protocol/pubsub/topic.h"

namespace herald::protocol::pubsub {

namespace ondemand = simdjson::ondemand;

// The pass state and field readers shared with command_replay.cc.
using namespace detail;

Status detail::read_string(ondemand::value value, std::string_view& content, std::string_view what,
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
    case kToken:
      return read_string(value, fields.token, "token must be a string", fields);
    case kFieldCount:
      break;
  }
  return Status::kBadJson;
}

// {"op":"auth","token":"...","id":...}: PROTOCOL.md section 10.
ParseResult finish_auth(const Fields& fields) {
  constexpr unsigned kAllowed = (1u << kOp) | (1u << kId) | (1u << kToken);
  if ((fields.seen & ~kAllowed) != 0) {
    return failure(ErrorCode::kBadRequest, "auth takes only token and id", fields.id);
  }
  if ((fields.seen & (1u << kToken)) == 0) {
    return failure(ErrorCode::kBadRequest, "missing token", fields.id);
  }
  ParseResult result;
  result.command.op = Op::kAuth;
  result.command.id = fields.id;
  result.command.token = fields.token;
  result.ok = true;
  return result;
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
  } else if (fields.op == "auth") {
    return finish_auth(fields);
  } else {
    return failure(ErrorCode::kUnknownOp, "op must be sub, unsub, pub or auth", fields.id);
  }
  if (has(kToken))
    return failure(ErrorCode::kBadRequest, "token is only allowed in auth", fields.id);
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
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kNoHistory:
      return "no_history";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kRateLimited:
      return "rate_limited";
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
