// The replay options of a subscribe (PROTOCOL.md section 9): from (a sequence, or per topic
// for a pattern), epoch, last, since and snapshot, and the rules that combine them.
#include <string_view>
#include <vector>

#include "protocol/pubsub/command_fields.h"
#include "protocol/pubsub/topic.h"

namespace herald::protocol::pubsub::detail {

namespace {

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

}  // namespace

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

}  // namespace herald::protocol::pubsub::detail
