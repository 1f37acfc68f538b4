// JSON text helpers for the pub/sub codecs: checks raw tokens against the RFC 8259 grammar
// and writes numbers and strings. Stateless; no allocation except in append_json_string.
#include "protocol/pubsub/json_text.h"

#include <cstring>
#include <utility>

namespace herald::protocol::pubsub {
namespace {

namespace ondemand = simdjson::ondemand;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_json_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Skips one or more digits at `i`; false when there is none.
bool skip_digits(std::string_view token, size_t& i) {
  const size_t start = i;
  while (i < token.size() && is_digit(token[i])) ++i;
  return i > start;
}

}  // namespace

std::string_view trim_json_whitespace(std::string_view text) {
  while (!text.empty() && is_json_whitespace(text.back())) text.remove_suffix(1);
  return text;
}

bool is_json_string(std::string_view token) {
  if (token.size() < 2 || token.front() != '"') return false;
  size_t i = 1;
  while (i < token.size()) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c == '"') return i == token.size() - 1;
    if (c < 0x20) return false;  // control characters must be escaped
    if (c != '\\') {
      ++i;
      continue;
    }
    if (i + 1 >= token.size()) return false;
    const char escaped = token[i + 1];
    if (escaped == 'u') {
      if (i + 6 > token.size()) return false;
      for (size_t k = i + 2; k < i + 6; ++k) {
        if (!is_hex(token[k])) return false;
      }
      i += 6;
      continue;
    }
    if (std::string_view("\"\\/bfnrt").find(escaped) == std::string_view::npos) return false;
    i += 2;
  }
  return false;
}

bool is_json_number(std::string_view token) {
  size_t i = 0;
  if (i < token.size() && token[i] == '-') ++i;
  if (i >= token.size()) return false;
  if (token[i] == '0') {
    ++i;
  } else if (!skip_digits(token, i)) {
    return false;
  }
  if (i < token.size() && token[i] == '.') {
    ++i;
    if (!skip_digits(token, i)) return false;
  }
  if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
    ++i;
    if (i < token.size() && (token[i] == '+' || token[i] == '-')) ++i;
    if (!skip_digits(token, i)) return false;
  }
  return i == token.size();
}

size_t write_decimal(char* out, uint64_t value) {
  char reversed[kDecimalBytesMax];
  size_t count = 0;
  do {
    reversed[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < count; ++i) out[i] = reversed[count - 1 - i];
  return count;
}

size_t decimal_bytes(uint64_t value) {
  size_t count = 1;
  while (value >= 10) {
    value /= 10;
    ++count;
  }
  return count;
}

bool parse_decimal(std::string_view token, uint64_t& out) {
  if (token.empty() || token.size() > kDecimalBytesMax) return false;
  if (token.size() > 1 && token[0] == '0') return false;
  uint64_t value = 0;
  for (const char c : token) {
    if (!is_digit(c)) return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

bool validate_json_value(ondemand::value value, int depth) {
  if (depth > kJsonDepthMax) return false;
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  const std::string_view token = trim_json_whitespace(value.raw_json_token());
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object object;
      if (value.get_object().get(object)) return false;
      for (auto field_result : object) {
        ondemand::field field;
        std::string_view key;
        if (std::move(field_result).get(field) || field.unescaped_key().get(key)) return false;
        if (!validate_json_value(field.value(), depth + 1)) return false;
      }
      return true;
    }
    case ondemand::json_type::array: {
      ondemand::array array;
      if (value.get_array().get(array)) return false;
      for (auto element_result : array) {
        ondemand::value element;
        if (std::move(element_result).get(element)) return false;
        if (!validate_json_value(element, depth + 1)) return false;
      }
      return true;
    }
    case ondemand::json_type::string:
      return is_json_string(token);
    case ondemand::json_type::number:
      return is_json_number(token);
    case ondemand::json_type::boolean:
      return token == "true" || token == "false";
    case ondemand::json_type::null:
      return token == "null";
  }
  return false;
}

bool read_raw_json_value(ondemand::value value, std::string_view& raw) {
  ondemand::json_type type;
  if (value.type().get(type)) return false;
  const std::string_view token = value.raw_json_token();
  if (!validate_json_value(value)) return false;
  if (type != ondemand::json_type::object && type != ondemand::json_type::array) {
    // A scalar is its token (validation read it in place, without moving the iterator).
    raw = trim_json_whitespace(token);
    return true;
  }
  // A container ends where the iterator stopped after its closing bracket: inside the
  // enclosing container that is the next ',' or closing bracket, never the end of input.
  const char* end = nullptr;
  // On some malformed input (an unclosed container followed by garbage) simdjson reports a
  // location before the value's own start: that is bad JSON, never a negative length.
  if (value.current_location().get(end) || end < token.data()) return false;
  raw =
      trim_json_whitespace(std::string_view(token.data(), static_cast<size_t>(end - token.data())));
  return true;
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

// The escape RFC 8259 requires for `c`, or an empty view when it stands for itself.
// `scratch` holds a \u00XX escape.
std::string_view json_escape(char c, char (&scratch)[6]) {
  switch (c) {
    case '"':
      return R"(\")";
    case '\\':
      return R"(\\)";
    case '\n':
      return R"(\n)";
    case '\r':
      return R"(\r)";
    case '\t':
      return R"(\t)";
    default:
      break;
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20) return {};
  scratch[0] = '\\';
  scratch[1] = 'u';
  scratch[2] = '0';
  scratch[3] = '0';
  scratch[4] = kHex[byte >> 4];
  scratch[5] = kHex[byte & 0xF];
  return {scratch, 6};
}

}  // namespace

size_t json_string_bytes(std::string_view text) {
  size_t bytes = 2;
  char scratch[6];
  for (const char c : text) {
    const std::string_view escape = json_escape(c, scratch);
    bytes += escape.empty() ? 1 : escape.size();
  }
  return bytes;
}

size_t write_json_string(char* out, std::string_view text) {
  char* p = out;
  *p++ = '"';
  char scratch[6];
  for (const char c : text) {
    const std::string_view escape = json_escape(c, scratch);
    if (escape.empty()) {
      *p++ = c;
    } else {
      std::memcpy(p, escape.data(), escape.size());
      p += escape.size();
    }
  }
  *p++ = '"';
  return static_cast<size_t>(p - out);
}

void append_json_string(std::string& out, std::string_view text) {
  const size_t at = out.size();
  out.resize(at + json_string_bytes(text));
  write_json_string(out.data() + at, text);
}

}  // namespace herald::protocol::pubsub
