// JsonWriter: RFC 8259 string escaping and number formatting (non-finite numbers become null,
// since JSON has no NaN).
#include "clients/cpp/bench/json_writer.h"

#include <cmath>
#include <cstdio>

namespace herald::bench {

void JsonWriter::key(std::string_view name) {
  if (need_comma_) out_ += ',';
  need_comma_ = true;
  if (!name.empty()) {
    append_string(name);
    out_ += ':';
  }
}

void JsonWriter::append_string(std::string_view text) {
  out_ += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out_ += '\\';
      out_ += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
      out_ += escaped;
    } else {
      out_ += c;
    }
  }
  out_ += '"';
}

void JsonWriter::begin_object(std::string_view name) {
  if (depth_ > 0) key(name);
  out_ += '{';
  ++depth_;
  need_comma_ = false;
}

void JsonWriter::end_object() {
  out_ += '}';
  --depth_;
  need_comma_ = true;
}

void JsonWriter::field(std::string_view name, std::string_view value) {
  key(name);
  append_string(value);
}

void JsonWriter::field(std::string_view name, bool value) {
  key(name);
  out_ += value ? "true" : "false";
}

void JsonWriter::field(std::string_view name, int64_t value) {
  key(name);
  out_ += std::to_string(value);
}

void JsonWriter::field(std::string_view name, uint64_t value) {
  key(name);
  out_ += std::to_string(value);
}

void JsonWriter::field(std::string_view name, double value) {
  key(name);
  if (!std::isfinite(value)) {
    out_ += "null";
    return;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.12g", value);
  out_ += text;
}

void JsonWriter::null_field(std::string_view name) {
  key(name);
  out_ += "null";
}

std::string JsonWriter::finish() {
  while (depth_ > 0) end_object();
  return out_;
}

}  // namespace herald::bench
