// The broker's one way to print: leveled lines to stderr, as text ("herald: warning: msg k=v") or
// JSON Lines ({"ts":...,"level":...,"msg":...,...}), each written whole with one write(2) so
// lines from several threads never interleave. Any thread. Knows nothing of the broker.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace herald::broker::net {

enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug };
enum class LogFormat : uint8_t { kText, kJson };

[[nodiscard]] std::string_view log_level_name(LogLevel level);
[[nodiscard]] bool parse_log_level(std::string_view text, LogLevel& level);
[[nodiscard]] std::string_view log_format_name(LogFormat format);
[[nodiscard]] bool parse_log_format(std::string_view text, LogFormat& format);

// One field of a line: a name (a plain identifier) and its value, a string or a number.
struct LogField {
  LogField(std::string_view field_name, std::string_view text)
      : name(field_name), value(text), number(false) {}
  LogField(std::string_view field_name, const char* text)
      : LogField(field_name, std::string_view(text)) {}
  LogField(std::string_view field_name, const std::string& text)
      : LogField(field_name, std::string_view(text)) {}
  LogField(std::string_view field_name, uint64_t value_number)
      : name(field_name), value(std::to_string(value_number)), number(true) {}
  LogField(std::string_view field_name, int64_t value_number)
      : name(field_name), value(std::to_string(value_number)), number(true) {}
  LogField(std::string_view field_name, uint32_t value_number)
      : LogField(field_name, uint64_t{value_number}) {}
  LogField(std::string_view field_name, int value_number)
      : LogField(field_name, int64_t{value_number}) {}

  std::string_view name;
  std::string value;
  bool number;
};

using LogFields = std::initializer_list<LogField>;

// `text` as a JSON string, quotes included (RFC 8259 section 7): ", \ and controls escaped,
// bytes that are not UTF-8 replaced by U+FFFD so the line stays valid JSON.
void append_json_string(std::string& out, std::string_view text);

// One line as `format` spells it, with its newline. `unix_ms`: the time it carries (JSON only).
[[nodiscard]] std::string format_log_line(LogFormat format, LogLevel level, std::string_view msg,
                                          LogFields fields, int64_t unix_ms);

// The process's logger settings: set once by the server before any worker starts (text and
// info until then), read by every thread.
void configure_logging(LogFormat format, LogLevel level);
// Whether a line at `level` would be written (to skip building fields that would be dropped).
[[nodiscard]] bool log_enabled(LogLevel level);
// Writes one line to stderr when `level` is enabled.
void log_line(LogLevel level, std::string_view msg, LogFields fields = {});

// At most `per_second` lines a second for each reason; the rest are counted, and the next line
// allowed for that reason carries the count ("suppressed": K). Thread-safe (one mutex, taken
// only for lines at an enabled level). Reasons are small integers below `reasons`.
class LogRateLimiter {
 public:
  LogRateLimiter(uint32_t reasons, uint32_t per_second);
  // Whether a line for `reason` may be written at `now_ms`; when it may, `suppressed` is how
  // many were held back for it since the last one written.
  [[nodiscard]] bool allow(uint32_t reason, uint64_t now_ms, uint64_t& suppressed);

 private:
  struct Window {
    uint64_t second = UINT64_MAX;
    uint32_t written = 0;
    uint64_t suppressed = 0;
  };
  std::mutex mutex_;
  std::vector<Window> windows_;
  const uint32_t per_second_;
};

}  // namespace herald::broker::net
