// Topic and pattern syntax (PROTOCOL.md section 2): validation and the reference matcher.
// Sans-I/O and allocation-free.
#pragma once

#include <cstddef>
#include <string_view>

namespace herald::protocol::pubsub {

inline constexpr size_t kTopicBytesMax = 255;
inline constexpr size_t kTopicTokensMax = 16;
// The first token of the broker's own topics ("$sys.stats"): valid only as a first token, never
// published by clients, and not matched by a wildcard in the first place ("*", ">", "*.x").
inline constexpr std::string_view kReservedToken = "$sys";

enum class TopicError : unsigned char {
  kNone,
  kEmpty,
  kTooLong,        // over kTopicBytesMax bytes
  kTooDeep,        // over kTopicTokensMax tokens
  kEmptyToken,     // "a..b", ".a", "a."
  kBadCharacter,   // a byte outside the token alphabet
  kBadWildcard,    // '*' or '>' inside a token, or '>' before the last token
  kWildcardTopic,  // a wildcard where a concrete topic is required (publish)
};

// A concrete topic, as published.
[[nodiscard]] TopicError check_topic(std::string_view topic);
// A subscription filter: a topic or a pattern.
[[nodiscard]] TopicError check_filter(std::string_view filter);
// True when a valid filter has a wildcard token.
[[nodiscard]] bool is_pattern(std::string_view filter);
[[nodiscard]] std::string_view topic_error_text(TopicError error);

// True when `topic` (a valid topic or filter) is under the reserved "$sys" token.
[[nodiscard]] bool is_reserved(std::string_view topic);

// The specification of matching, token by token: the router is tested against it.
// Both arguments must be valid (check_filter, check_topic).
[[nodiscard]] bool filter_matches(std::string_view filter, std::string_view topic);

}  // namespace herald::protocol::pubsub
