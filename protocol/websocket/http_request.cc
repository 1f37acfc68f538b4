// HTTP/1.1 message heads (RFC 9110, RFC 9112) in both directions: the incremental request
// parser, the client's parser of the upgrade answer, and the plain response builder.
// Sans-I/O and bounded: every buffer stops at a configured limit; nothing here blocks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/websocket/handshake.h"

namespace herald::protocol::websocket {
namespace {

constexpr std::string_view kHeadEnd = "\r\n\r\n";
constexpr std::string_view kCrlf = "\r\n";
// 8 KiB of head could hold ~2,000 tiny fields; real clients send a few dozen.
constexpr size_t kHeaderFieldsMax = 100;
// Past 19 digits a length no longer fits in 64 bits; any such length is too large anyway.
constexpr size_t kContentLengthDigitsMax = 19;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// tchar, RFC 9110 §5.6.2.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

bool is_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

// field-value, RFC 9110 §5.5: VCHAR, obs-text, SP and HTAB. NUL, CR, LF and the other
// controls are refused because they let one hop read a different message than the next.
bool is_field_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte == '\t' || (byte >= 0x20 && byte != 0x7F);
  });
}

// The first line of `lines` (CRLF-separated), and `lines` advanced past it.
std::string_view next_line(std::string_view& lines) {
  const size_t end = lines.find(kCrlf);
  const std::string_view line = lines.substr(0, end);
  lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + kCrlf.size());
  return line;
}

struct FieldLine {
  std::string_view reason;  // empty when the line is a well-formed field
  std::string name;         // lower-cased
  std::string_view value;   // OWS trimmed
};

// field-line = field-name ":" OWS field-value OWS, RFC 9112 §5.
FieldLine parse_field_line(std::string_view line) {
  FieldLine field;
  if (!line.empty() && is_ows(line.front())) {
    // obs-fold, RFC 9112 §5.2: a server may reject it with 400, and we do.
    field.reason = "obsolete line folding";
    return field;
  }
  const size_t colon = line.find(':');
  const std::string_view name = line.substr(0, colon);
  // Whitespace before the colon must be refused with 400 (RFC 9112 §5.1); is_token does.
  if (colon == std::string_view::npos || !is_token(name)) {
    field.reason = "malformed header field name";
    return field;
  }
  field.value = trim_ows(line.substr(colon + 1));
  if (!is_field_value(field.value)) {
    field.reason = "control character in header field value";
    return field;
  }
  field.name.resize(name.size());
  std::transform(name.begin(), name.end(), field.name.begin(), ascii_lower);
  return field;
}

struct HeadScan {
  size_t taken = 0;         // bytes of the input now part of the head
  bool complete = false;    // the head ends with CRLF CRLF
  bool bare_lf = false;     // a LF without its CR: refused rather than guessed at
  bool over_limit = false;  // no end within `head_bytes_max`
};

// Appends to `head` up to its end or its limit. Only the new bytes are scanned, looking back
// at most three bytes into the old ones, so a head that arrives a byte at a time costs O(n).
HeadScan scan_head(std::string& head, size_t head_bytes_max, std::span<const uint8_t> bytes) {
  HeadScan scan;
  const size_t old_size = head.size();
  const size_t room = head_bytes_max > old_size ? head_bytes_max - old_size : 0;
  head.append(reinterpret_cast<const char*>(bytes.data()), std::min(room, bytes.size()));
  for (size_t i = old_size; i < head.size(); ++i) {
    if (head[i] != '\n') continue;
    if (i == 0 || head[i - 1] != '\r') {
      scan.bare_lf = true;
    } else if (i >= 3 && head[i - 3] == '\r' && head[i - 2] == '\n') {
      scan.complete = true;
    } else {
      continue;
    }
    head.resize(i + 1);
    scan.taken = i + 1 - old_size;
    return scan;
  }
  scan.taken = head.size() - old_size;
  scan.over_limit = head.size() >= head_bytes_max;
  return scan;
}

struct ResponseVerdict {
  ResponseParser::Status status = ResponseParser::Status::kRejected;
  int http_status = 0;
  std::string subprotocol;
  std::string extensions;
};

// The client's checks of the server's answer, RFC 6455 §4.1 (the steps after the request).
ResponseVerdict judge_response(std::string_view head, std::string_view key,
                               bool extensions_offered) {
  ResponseVerdict verdict;
  std::string_view lines = head.substr(0, head.size() - kHeadEnd.size());
  // status-line = HTTP-version SP status-code SP [ reason-phrase ], RFC 9112 §4.
  const std::string_view status_line = next_line(lines);
  constexpr std::string_view kVersion = "HTTP/1.1 ";
  const std::string_view code =
      status_line.substr(std::min(kVersion.size(), status_line.size()), 3);
  if (!status_line.starts_with(kVersion) || code.size() != 3 || !is_digits(code) ||
      (status_line.size() > kVersion.size() + 3 && status_line[kVersion.size() + 3] != ' ')) {
    return verdict;
  }
  verdict.http_status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  if (verdict.http_status != 101) return verdict;

  bool upgrade = false;
  bool connection = false;
  size_t accepts = 0;
  size_t protocols = 0;
  const std::string expected_accept = accept_key(key);
  while (!lines.empty()) {
    const FieldLine field = parse_field_line(next_line(lines));
    if (!field.reason.empty()) return verdict;
    if (field.name == "upgrade") upgrade = upgrade || list_has_token(field.value, "websocket");
    if (field.name == "connection") {
      connection = connection || list_has_token(field.value, "upgrade");
    }
    if (field.name == "sec-websocket-accept") {
      if (field.value != expected_accept) return verdict;
      ++accepts;
    }
    // Without an offer the server may not name any extension (§4.1, fifth check); with one,
    // the caller judges the answer against what it offered.
    if (field.name == "sec-websocket-extensions") {
      if (!extensions_offered) return verdict;
      if (!verdict.extensions.empty()) verdict.extensions += ", ";
      verdict.extensions += field.value;
    }
    if (field.name == "sec-websocket-protocol") {
      if (!is_token(field.value)) return verdict;
      verdict.subprotocol = field.value;
      ++protocols;
    }
  }
  if (!upgrade || !connection || accepts != 1 || protocols > 1) return verdict;
  verdict.status = ResponseParser::Status::kAccepted;
  return verdict;
}

}  // namespace

bool list_has_token(std::string_view list, std::string_view token) {
  // #element lists may carry empty elements, which recipients skip (RFC 9110 §5.6.1).
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (equals_ignoring_case(trim_ows(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [field_name, value] : headers) {
    if (equals_ignoring_case(field_name, name)) return value;
  }
  return {};
}

std::string_view HttpRequest::path() const {
  return std::string_view(target).substr(0, target.find('?'));
}

std::string_view HttpRequest::query() const {
  const size_t mark = target.find('?');
  return mark == std::string::npos ? std::string_view() : std::string_view(target).substr(mark + 1);
}

bool HttpRequest::wants_websocket() const {
  // Upgrade is a list field and may be repeated (RFC 9110 §7.8, §5.3). A request that carries
  // Sec-WebSocket-Key is a handshake attempt too, even with a broken Upgrade: it gets 400 from
  // validate_upgrade(), not the plain-HTTP answer.
  return std::any_of(headers.begin(), headers.end(), [](const auto& field) {
    return (field.first == "upgrade" && list_has_token(field.second, "websocket")) ||
           field.first == "sec-websocket-key";
  });
}

RequestParser::RequestParser(size_t header_bytes_max, size_t body_bytes_max)
    : header_bytes_max_(header_bytes_max), body_bytes_max_(body_bytes_max) {}

size_t RequestParser::feed(std::span<const uint8_t> bytes) {
  if (status_ != Status::kNeedMore) return 0;
  size_t used = 0;
  if (!in_body_) {
    used = feed_head(bytes);
    if (status_ != Status::kNeedMore || !in_body_) return used;
  }
  return used + feed_body(bytes.subspan(used));
}

RequestParser::Status RequestParser::fail(int status, std::string_view reason) {
  status_ = Status::kError;
  error_status_ = status;
  error_reason_ = reason;
  return status_;
}

size_t RequestParser::feed_head(std::span<const uint8_t> bytes) {
  const HeadScan scan = scan_head(head_, header_bytes_max_, bytes);
  if (scan.bare_lf) {
    // Lines end in CRLF only; a lone LF is how request smuggling starts (RFC 9112 §2.2).
    fail(400, "line ends with LF without CR");
  } else if (scan.over_limit) {
    fail(431, "request header block too large");
  } else if (scan.complete) {
    parse_head();
  }
  return scan.taken;
}

size_t RequestParser::feed_body(std::span<const uint8_t> bytes) {
  const size_t take = std::min(body_bytes_expected_ - request_.body.size(), bytes.size());
  request_.body.append(reinterpret_cast<const char*>(bytes.data()), take);
  if (request_.body.size() == body_bytes_expected_) status_ = Status::kComplete;
  return take;
}

RequestParser::Status RequestParser::parse_head() {
  std::string_view lines(head_);
  lines.remove_suffix(kHeadEnd.size());
  if (parse_request_line(next_line(lines)) == Status::kError) return status_;
  if (parse_header_fields(lines) == Status::kError) return status_;
  return apply_framing();
}

// request-line = method SP request-target SP HTTP-version, RFC 9112 §3, read strictly:
// single spaces, a token method, an origin-form target (§3.2.1) and exactly HTTP/1.1.
RequestParser::Status RequestParser::parse_request_line(std::string_view line) {
  const size_t first_space = line.find(' ');
  const size_t second_space =
      first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return fail(400, "malformed request line");
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (!is_token(method)) return fail(400, "malformed request method");
  if (version != "HTTP/1.1") {
    // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3); a well-formed other version
    // is one we do not speak, anything else is not HTTP at all.
    const bool well_formed = version.size() == 8 && version.starts_with("HTTP/") &&
                             is_digits(version.substr(5, 1)) && version[6] == '.' &&
                             is_digits(version.substr(7, 1));
    return well_formed ? fail(505, "only HTTP/1.1 is supported") : fail(400, "malformed version");
  }
  const bool visible = std::all_of(target.begin(), target.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7F;
  });
  if (!target.starts_with('/') || !visible) return fail(400, "request target is not origin-form");
  request_.method = method;
  request_.target = target;
  return status_;
}

RequestParser::Status RequestParser::parse_header_fields(std::string_view fields) {
  while (!fields.empty()) {
    if (request_.headers.size() == kHeaderFieldsMax) return fail(431, "too many header fields");
    FieldLine field = parse_field_line(next_line(fields));
    if (!field.reason.empty()) return fail(400, field.reason);
    request_.headers.emplace_back(std::move(field.name), std::string(field.value));
  }
  return status_;
}

// Message framing, RFC 9112 §6: Host is mandatory (§3.2), Transfer-Encoding is refused, and
// the body is exactly Content-Length bytes (none without it, §6.3 item 6).
RequestParser::Status RequestParser::apply_framing() {
  size_t hosts = 0;
  size_t lengths = 0;
  std::string_view length;  // the Content-Length digits without leading zeros
  for (const auto& [name, value] : request_.headers) {
    if (name == "host") ++hosts;
    // Answering 501 is what §6.1 asks of a server that does not implement a coding; it also
    // closes the Content-Length/Transfer-Encoding smuggling route (§6.3 item 3).
    if (name == "transfer-encoding") {
      return fail(501, "Transfer-Encoding is not supported; send Content-Length");
    }
    if (name != "content-length") continue;
    if (!is_digits(value)) return fail(400, "malformed Content-Length");
    std::string_view digits(value);
    digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
    // Repeated Content-Length fields must agree (RFC 9110 §8.6); compare the numbers.
    if (lengths++ > 0 && digits != length) return fail(400, "conflicting Content-Length");
    length = digits;
  }
  if (hosts != 1) return fail(400, "Host must appear exactly once");
  if (length.size() > kContentLengthDigitsMax) return fail(413, "request body too large");
  size_t body_bytes = 0;
  for (const char digit : length) body_bytes = body_bytes * 10 + static_cast<size_t>(digit - '0');
  if (body_bytes > body_bytes_max_) return fail(413, "request body too large");
  if (body_bytes == 0) {
    status_ = Status::kComplete;
    return status_;
  }
  in_body_ = true;
  body_bytes_expected_ = body_bytes;
  request_.body.reserve(body_bytes);
  return status_;
}

size_t ResponseParser::feed(std::span<const uint8_t> bytes) {
  if (status_ != Status::kNeedMore) return 0;
  const HeadScan scan = scan_head(head_, kHeaderBytesMax, bytes);
  if (scan.bare_lf || scan.over_limit) {
    status_ = Status::kRejected;
  } else if (scan.complete) {
    ResponseVerdict verdict = judge_response(head_, key_, extensions_offered_);
    status_ = verdict.status;
    http_status_ = verdict.http_status;
    subprotocol_ = std::move(verdict.subprotocol);
    extensions_ = std::move(verdict.extensions);
  }
  return scan.taken;
}

std::string_view http_status_text(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";  // the reason-phrase may be empty (RFC 9112 §4)
  }
}

std::string build_http_response(int status, std::string_view content_type, std::string_view body,
                                std::span<const std::string> extra_headers) {
  const bool has_content = status >= 200 && status != 204;
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out.append(http_status_text(status)).append(kCrlf);
  if (has_content && !content_type.empty()) {
    out.append("Content-Type: ").append(content_type).append(kCrlf);
  }
  if (has_content) out.append("Content-Length: " + std::to_string(body.size())).append(kCrlf);
  out.append("Connection: close").append(kCrlf);
  for (const std::string& line : extra_headers) out.append(line).append(kCrlf);
  out.append(kCrlf);
  if (has_content) out.append(body);
  return out;
}

}  // namespace herald::protocol::websocket
