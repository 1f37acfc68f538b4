// Topic and pattern validation and the reference matcher (PROTOCOL.md section 2). Kept simple
// on purpose: the router is fuzzed against filter_matches, so it must be obviously correct.
#include "protocol/pubsub/topic.h"

#include <array>

namespace herald::protocol::pubsub {
namespace {

constexpr std::array<bool, 256> make_token_alphabet() {
  std::array<bool, 256> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (char c : {'_', '-', ':', '@', '~', '+', '=', '#'}) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}

constexpr std::array<bool, 256> kTokenAlphabet = make_token_alphabet();

// Splits off the next token of `rest` (up to the next '.' or the end) and advances `rest`
// past it and its separator. `last` tells whether it was the final token.
std::string_view next_token(std::string_view& rest, bool& last) {
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos) {
    const std::string_view token = rest;
    rest = {};
    last = true;
    return token;
  }
  const std::string_view token = rest.substr(0, dot);
  rest.remove_prefix(dot + 1);
  last = false;
  return token;
}

// Checks one token; wildcards are accepted here only as whole tokens, and '>' only last. The
// reserved "$sys" is accepted as a first token only (`first`): the broker's statistics.
TopicError check_token(std::string_view token, bool first, bool last) {
  if (token.empty()) return TopicError::kEmptyToken;
  if (first && token == kReservedToken) return TopicError::kNone;
  if (token == "*") return TopicError::kNone;
  if (token == ">") return last ? TopicError::kNone : TopicError::kBadWildcard;
  for (const char c : token) {
    if (c == '*' || c == '>') return TopicError::kBadWildcard;
    if (!kTokenAlphabet[static_cast<unsigned char>(c)]) return TopicError::kBadCharacter;
  }
  return TopicError::kNone;
}

// Validates `filter` as a pattern; sets `has_wildcard` when any token is '*' or '>'.
TopicError check_syntax(std::string_view filter, bool& has_wildcard) {
  has_wildcard = false;
  if (filter.empty()) return TopicError::kEmpty;
  if (filter.size() > kTopicBytesMax) return TopicError::kTooLong;
  std::string_view rest = filter;
  size_t tokens = 0;
  bool last = false;
  while (!last) {
    const std::string_view token = next_token(rest, last);
    if (++tokens > kTopicTokensMax) return TopicError::kTooDeep;
    const TopicError error = check_token(token, tokens == 1, last);
    if (error != TopicError::kNone) return error;
    if (token == "*" || token == ">") has_wildcard = true;
  }
  return TopicError::kNone;
}

}  // namespace

TopicError check_topic(std::string_view topic) {
  bool has_wildcard = false;
  const TopicError error = check_syntax(topic, has_wildcard);
  if (error != TopicError::kNone) return error;
  return has_wildcard ? TopicError::kWildcardTopic : TopicError::kNone;
}

TopicError check_filter(std::string_view filter) {
  bool has_wildcard = false;
  return check_syntax(filter, has_wildcard);
}

bool is_pattern(std::string_view filter) {
  bool has_wildcard = false;
  return check_syntax(filter, has_wildcard) == TopicError::kNone && has_wildcard;
}

std::string_view topic_error_text(TopicError error) {
  switch (error) {
    case TopicError::kNone:
      return "valid topic";
    case TopicError::kEmpty:
      return "empty topic";
    case TopicError::kTooLong:
      return "topic longer than 255 bytes";
    case TopicError::kTooDeep:
      return "topic deeper than 16 tokens";
    case TopicError::kEmptyToken:
      return "empty token in topic";
    case TopicError::kBadCharacter:
      return "invalid character in topic";
    case TopicError::kBadWildcard:
      return "wildcard must be a whole token, '>' only last";
    case TopicError::kWildcardTopic:
      return "wildcard in a concrete topic";
  }
  return "invalid topic";
}

bool is_reserved(std::string_view topic) { return topic.starts_with('$'); }

bool filter_matches(std::string_view filter, std::string_view topic) {
  // As in NATS: a wildcard in the first place does not reach a reserved topic; only a filter
  // that names "$sys" does.
  if (is_reserved(topic) && (filter.starts_with('*') || filter.starts_with('>'))) return false;
  bool filter_last = false;
  bool topic_last = false;
  while (true) {
    const std::string_view pattern_token = next_token(filter, filter_last);
    const std::string_view topic_token = next_token(topic, topic_last);
    // '>' is the last filter token and matches this token and everything after it.
    if (pattern_token == ">") return true;
    if (pattern_token != "*" && pattern_token != topic_token) return false;
    if (filter_last || topic_last) return filter_last && topic_last;
  }
}

}  // namespace herald::protocol::pubsub
