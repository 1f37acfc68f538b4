// Client commands (PROTOCOL.md sections 3 and 5): JSON text frames parsed with simdjson
// on-demand, and binary publish frames. Sans-I/O. Views in a Command point into the
// parser's own padded copy of the frame, or into the frame itself for binary payloads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace herald::protocol::pubsub {

inline constexpr size_t kIdBytesMax = 64;
inline constexpr uint8_t kBinaryPublishKind = 0x01;
inline constexpr uint8_t kBinaryMessageKind = 0x02;
inline constexpr uint8_t kBinaryFlagId = 0x01;
inline constexpr uint8_t kBinaryFlagNoEcho = 0x02;

enum class Op : uint8_t { kSubscribe, kUnsubscribe, kPublish, kAuth };

enum class Policy : uint8_t { kDefault, kDisconnect, kDrop, kConflate, kCatchup };

// Where a subscribe starts reading a topic's history (PROTOCOL.md section 9).
enum class Replay : uint8_t { kNone, kFrom, kLast, kSince, kSnapshot };

// The most topics a pattern's `from` object may name.
inline constexpr size_t kReplayTopicsMax = 256;
// An epoch on the wire: 16 lowercase hex digits.
inline constexpr size_t kEpochChars = 16;

// One entry of a pattern's `from` object, with its `epoch` entry when given (else empty).
struct TopicPosition {
  std::string_view topic;
  uint64_t seq = 0;
  std::string_view epoch;
};

enum class ErrorCode : uint8_t {
  kBadJson,
  kBadRequest,
  kUnknownOp,
  kBadTopic,
  kNotSubscribed,
  kTooManySubscriptions,
  kTooManyTopics,
  kStorageFailed,
  kNoHistory,
  kUnauthorized,
  kForbidden,
  kRateLimited,
  kUnavailable,
};

// "bad_json", "bad_request", ... as on the wire.
[[nodiscard]] std::string_view error_code_name(ErrorCode code);
// "disconnect", "drop", "conflate", "catchup"; "default" for kDefault.
[[nodiscard]] std::string_view policy_name(Policy policy);
// Parses a policy name; false when unknown.
[[nodiscard]] bool parse_policy(std::string_view name, Policy& out);

struct Command {
  Op op = Op::kPublish;
  std::string_view topic;  // validated: check_topic for publish, check_filter otherwise
  // The raw JSON of the id: a string with its quotes, or a number. Empty when absent.
  std::string_view id;
  // Publish only: the raw JSON of "data" (text frames) or the opaque payload (binary).
  std::string_view data;
  bool binary = false;  // the publish came in a binary frame
  bool echo = true;     // deliver to the publishing connection too
  Policy policy = Policy::kDefault;
  // Subscribe only. kFrom on a topic: `replay_value` is N and `epoch` the client's epoch (or
  // empty); kFrom on a pattern: `positions` (replay_value unused); kLast: K; kSince: Unix ms.
  Replay replay = Replay::kNone;
  uint64_t replay_value = 0;
  std::string_view epoch;
  std::span<const TopicPosition> positions;
  // Auth only: the token as written between its quotes (a JWT needs no escapes).
  std::string_view token;
};

struct ParseResult {
  bool ok = false;
  Command command;  // valid when ok
  // When !ok: what to answer. `id` is the raw id when it could be read, else empty.
  ErrorCode error = ErrorCode::kBadRequest;
  std::string_view error_text;  // static text
  std::string_view error_id;
};

// One per worker thread; reuses its buffers, so steady-state parsing does not allocate.
class CommandParser {
 public:
  CommandParser();
  ~CommandParser();
  CommandParser(const CommandParser&) = delete;
  CommandParser& operator=(const CommandParser&) = delete;

  // A text frame (valid UTF-8 already). Views stay valid until the next parse call.
  [[nodiscard]] ParseResult parse_text(std::span<const uint8_t> frame);
  // A binary frame. `data` views into `frame` itself; the rest until the next parse call.
  [[nodiscard]] ParseResult parse_binary(std::span<const uint8_t> frame);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace herald::protocol::pubsub
