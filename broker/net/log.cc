// Line formatting, JSON escaping and the refusal rate limiter. A line is built in full, then
// written with one write(2): O_APPEND or not, a pipe or a file, it is never torn by another
// thread's line (pipes guarantee it up to PIPE_BUF; longer lines are rare start-up text).
#include "broker/net/log.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace herald::broker::net {

namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};
std::atomic<LogLevel> g_level{LogLevel::kInfo};

// The length of the UTF-8 sequence at `text[i]` (RFC 3629 section 4), 0 when invalid.
size_t utf8_sequence(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

int64_t unix_now_ms() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

// RFC 3339 UTC with milliseconds: 2026-12-07T13:20:51.123Z.
void append_timestamp(std::string& out, int64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const int length = std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                   utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                                   utc.tm_min, utc.tm_sec, static_cast<int>(unix_ms % 1000));
  out.append(text, static_cast<size_t>(length));
}

// A text-format value: bare when it is one plain word, else quoted as JSON is.
void append_text_value(std::string& out, const LogField& field) {
  bool plain = !field.value.empty();
  for (char c : field.value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte >= 0x7F || c == '"' || c == '=' || c == '\\') plain = false;
  }
  if (field.number || plain) {
    out += field.value;
  } else {
    append_json_string(out, field.value);
  }
}

}  // namespace

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "info";
}

bool parse_log_level(std::string_view text, LogLevel& level) {
  for (LogLevel candidate :
       {LogLevel::kError, LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug}) {
    if (text == log_level_name(candidate)) {
      level = candidate;
      return true;
    }
  }
  return false;
}

std::string_view log_format_name(LogFormat format) {
  return format == LogFormat::kJson ? "json" : "text";
}

bool parse_log_format(std::string_view text, LogFormat& format) {
  if (text != "text" && text != "json") return false;
  format = text == "json" ? LogFormat::kJson : LogFormat::kText;
  return true;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      switch (byte) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (byte < 0x20 || byte == 0x7F) {
            out += "\\u00";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xF];
          } else {
            out += static_cast<char>(byte);
          }
      }
      ++i;
      continue;
    }
    const size_t length = utf8_sequence(text, i);
    if (length == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  out += '"';
}

std::string format_log_line(LogFormat format, LogLevel level, std::string_view msg,
                            LogFields fields, int64_t unix_ms) {
  std::string line;
  line.reserve(96 + msg.size());
  if (format == LogFormat::kJson) {
    line += "{\"ts\":\"";
    append_timestamp(line, unix_ms);
    line += "\",\"level\":\"";
    line += log_level_name(level);
    line += "\",\"msg\":";
    append_json_string(line, msg);
    for (const LogField& field : fields) {
      line += ',';
      append_json_string(line, field.name);
      line += ':';
      if (field.number) {
        line += field.value;
      } else {
        append_json_string(line, field.value);
      }
    }
    line += "}\n";
    return line;
  }
  // Text keeps the "herald: " prefix operators already read; info has no level tag.
  line += "herald: ";
  if (level == LogLevel::kWarn) {
    line += "warning: ";
  } else if (level != LogLevel::kInfo) {
    line.append(log_level_name(level)).append(": ");
  }
  line += msg;
  for (const LogField& field : fields) {
    line.append(" ").append(field.name).append("=");
    append_text_value(line, field);
  }
  line += '\n';
  return line;
}

void configure_logging(LogFormat format, LogLevel level) {
  g_format.store(format, std::memory_order_relaxed);
  g_level.store(level, std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
  return static_cast<uint8_t>(level) <=
         static_cast<uint8_t>(g_level.load(std::memory_order_relaxed));
}

void log_line(LogLevel level, std::string_view msg, LogFields fields) {
  if (!log_enabled(level)) return;
  const std::string line =
      format_log_line(g_format.load(std::memory_order_relaxed), level, msg, fields, unix_now_ms());
  size_t written = 0;
  // Bounded: each pass writes something or stops.
  while (written < line.size()) {
    const ssize_t n = write(STDERR_FILENO, line.data() + written, line.size() - written);
    if (n <= 0) return;  // stderr is gone: nowhere else to say it
    written += static_cast<size_t>(n);
  }
}

LogRateLimiter::LogRateLimiter(uint32_t reasons, uint32_t per_second)
    : windows_(reasons), per_second_(per_second) {}

bool LogRateLimiter::allow(uint32_t reason, uint64_t now_ms, uint64_t& suppressed) {
  std::lock_guard lock(mutex_);
  Window& window = windows_.at(reason);
  const uint64_t second = now_ms / 1000;
  if (window.second != second) {
    window.second = second;
    window.written = 0;
  }
  if (window.written >= per_second_) {
    ++window.suppressed;
    return false;
  }
  ++window.written;
  suppressed = window.suppressed;
  window.suppressed = 0;
  return true;
}

}  // namespace herald::broker::net
