// A minimal JSON object writer for the one result line herald-bench prints: nested objects,
// numbers, strings and booleans. Commas are inserted for the caller; keys are not checked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald::bench {

class JsonWriter {
 public:
  JsonWriter() { begin_object(); }

  void begin_object(std::string_view key = {});
  void end_object();

  void field(std::string_view key, std::string_view value);
  void field(std::string_view key, const char* value) { field(key, std::string_view(value)); }
  void field(std::string_view key, bool value);
  void field(std::string_view key, int64_t value);
  void field(std::string_view key, uint64_t value);
  void field(std::string_view key, int value) { field(key, static_cast<int64_t>(value)); }
  void field(std::string_view key, uint32_t value) { field(key, static_cast<uint64_t>(value)); }
  void field(std::string_view key, double value);
  void null_field(std::string_view key);

  // Closes every open object and returns the line, without a newline.
  [[nodiscard]] std::string finish();

 private:
  void key(std::string_view name);
  void append_string(std::string_view text);

  std::string out_;
  int depth_ = 0;
  bool need_comma_ = false;
};

}  // namespace herald::bench
