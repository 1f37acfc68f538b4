// Small JSON text helpers shared by the pub/sub codecs: grammar checks on raw tokens, decimal
// formatting and string escaping. Internal to protocol/pubsub; no parsing state, no I/O.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace herald::protocol::pubsub {

// Digits of the largest uint64_t.
inline constexpr size_t kDecimalBytesMax = 20;

// `text` without trailing JSON whitespace (space, tab, line feed, carriage return).
[[nodiscard]] std::string_view trim_json_whitespace(std::string_view text);
// True when `token` is exactly one JSON string, quotes included (RFC 8259 section 7).
[[nodiscard]] bool is_json_string(std::string_view token);
// True when `token` is exactly one JSON number (RFC 8259 section 6), of any magnitude.
[[nodiscard]] bool is_json_number(std::string_view token);

// Writes `value` in decimal into `out` (room for kDecimalBytesMax); returns the digit count.
size_t write_decimal(char* out, uint64_t value);
[[nodiscard]] size_t decimal_bytes(uint64_t value);
// Parses a JSON token of decimal digits (no sign, fraction or exponent) into a uint64_t;
// false when it is anything else or overflows.
[[nodiscard]] bool parse_decimal(std::string_view token, uint64_t& out);

// Reads one on-demand value to its end, checking it against the JSON grammar all the way
// down (simdjson skips unread values without checking their scalars). Scalars are checked on
// their raw bytes, so numbers of any magnitude pass. Nesting deeper than kJsonDepthMax fails.
inline constexpr int kJsonDepthMax = 1000;
[[nodiscard]] bool validate_json_value(simdjson::ondemand::value value, int depth = 1);
// validate_json_value(), and `raw` = the value's bytes exactly as in the input, without the
// whitespace around them. The value must be inside a container (the iterator's position after
// it marks its end).
[[nodiscard]] bool read_raw_json_value(simdjson::ondemand::value value, std::string_view& raw);

// `text` as a JSON string, quotes included, escaping what RFC 8259 requires: its length, and
// writing it into `out` (json_string_bytes() long; returns that count), and appending it.
[[nodiscard]] size_t json_string_bytes(std::string_view text);
size_t write_json_string(char* out, std::string_view text);
void append_json_string(std::string& out, std::string_view text);

}  // namespace herald::protocol::pubsub
