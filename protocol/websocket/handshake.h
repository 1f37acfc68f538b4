// The opening handshake (RFC 6455 §4) and the plain HTTP/1.1 requests that share its port.
// Sans-I/O: an incremental request parser (bytes may arrive one at a time), the §4.2.1
// checks, Sec-WebSocket-Accept (SHA-1 and base64 via OpenSSL), and response builders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::protocol::websocket {

inline constexpr size_t kHeaderBytesMax = 8192;

struct HttpRequest {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // origin-form: path plus optional "?query"
  // Every header in arrival order; names lower-cased, values with surrounding whitespace
  // trimmed. Repeated headers stay separate entries.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // Content-Length bytes; Transfer-Encoding (chunked) is refused with 501

  // The first value of header `name` (lower-case), or empty when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] std::string_view path() const;   // target up to '?'
  [[nodiscard]] std::string_view query() const;  // after '?', or empty
  // True when Upgrade lists the "websocket" token (case-insensitive, in a comma list) or the
  // request carries Sec-WebSocket-Key: it is a WebSocket handshake, valid or not, rather than
  // a plain HTTP request.
  [[nodiscard]] bool wants_websocket() const;
};

class RequestParser {
 public:
  enum class Status : uint8_t { kNeedMore, kComplete, kError };

  explicit RequestParser(size_t header_bytes_max = kHeaderBytesMax, size_t body_bytes_max = 0);

  // Consumes bytes of the request and returns how many it took: it stops at the end of the
  // request, so bytes after it (if any) are the caller's. Once kComplete or kError, takes none.
  size_t feed(std::span<const uint8_t> bytes);

  [[nodiscard]] Status status() const { return status_; }
  // Valid once kComplete.
  [[nodiscard]] const HttpRequest& request() const { return request_; }
  [[nodiscard]] HttpRequest take_request() { return std::move(request_); }
  // Once kError: the HTTP status to answer (400, 413, 431, 501, 505) and why.
  [[nodiscard]] int error_status() const { return error_status_; }
  [[nodiscard]] std::string_view error_reason() const { return error_reason_; }

 private:
  size_t header_bytes_max_;
  size_t body_bytes_max_;
  Status status_ = Status::kNeedMore;
  std::string head_;  // the header block, until "\r\n\r\n"
  size_t body_bytes_expected_ = 0;
  bool in_body_ = false;
  HttpRequest request_;
  int error_status_ = 0;
  std::string error_reason_;

  Status fail(int status, std::string_view reason);
  size_t feed_head(std::span<const uint8_t> bytes);
  size_t feed_body(std::span<const uint8_t> bytes);
  Status parse_head();
  Status parse_request_line(std::string_view line);
  Status parse_header_fields(std::string_view fields);
  Status apply_framing();
};

// The answer to a WebSocket upgrade request, decided by validate_upgrade().
struct UpgradeDecision {
  int status = 0;           // 101 when the handshake is accepted
  std::string_view reason;  // why it was refused, for the body and the log
  std::string subprotocol;  // the selected Sec-WebSocket-Protocol, or empty
};

// True when the comma-separated `list` (RFC 9110 §5.6.1) has an element equal to `token`,
// ignoring ASCII case and optional whitespace around elements.
[[nodiscard]] bool list_has_token(std::string_view list, std::string_view token);

// Applies §4.2.1 to a request for which wants_websocket() is true: method GET, HTTP/1.1,
// Host present, Upgrade: websocket and Connection: Upgrade as tokens in comma lists, a
// Sec-WebSocket-Key that base64-decodes to 16 bytes, Sec-WebSocket-Version 13 (else 426).
// Picks the first of `server_subprotocols` (in server preference order) that the client
// offered. Origin is not judged here; the caller keeps it for its allow-list.
// A method other than GET is refused with 405 (RFC 9110 §15.5.6), every other defect with 400.
[[nodiscard]] UpgradeDecision validate_upgrade(const HttpRequest& request,
                                               std::span<const std::string> server_subprotocols);

// The whole HTTP response refusing an upgrade; `decision.status` must not be 101. A 426 carries
// "Sec-WebSocket-Version: 13" (§4.4) and a 405 "Allow: GET" (RFC 9110 §15.5.6).
[[nodiscard]] std::string build_upgrade_refusal(const UpgradeDecision& decision);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), §4.2.2 step 5.4.
[[nodiscard]] std::string accept_key(std::string_view sec_websocket_key);

// "HTTP/1.1 101 Switching Protocols" with Upgrade, Connection, Sec-WebSocket-Accept and,
// when not empty, Sec-WebSocket-Protocol and Sec-WebSocket-Extensions.
[[nodiscard]] std::string build_upgrade_response(std::string_view sec_websocket_key,
                                                 std::string_view subprotocol,
                                                 std::string_view extensions = {});

// A complete HTTP/1.1 response with Content-Length and "Connection: close". `extra_headers`
// are whole lines without the trailing CRLF, e.g. "Sec-WebSocket-Version: 13". A 1xx or 204
// response has no content, so it gets neither Content-Length nor `body` (RFC 9110 §8.6).
[[nodiscard]] std::string build_http_response(int status, std::string_view content_type,
                                              std::string_view body,
                                              std::span<const std::string> extra_headers = {});

[[nodiscard]] std::string_view http_status_text(int status);

// Client side (C++ client, load generator, tests).

// A GET upgrade request for `path` at `host` with the given 16-byte key (base64),
// optional comma-separated subprotocols and an optional Sec-WebSocket-Extensions offer.
[[nodiscard]] std::string build_upgrade_request(std::string_view host, std::string_view path,
                                                std::string_view sec_websocket_key,
                                                std::string_view subprotocols = {},
                                                std::string_view extensions = {});

// A fresh random Sec-WebSocket-Key (16 random bytes from OpenSSL, base64).
[[nodiscard]] std::string make_sec_websocket_key();

// Incremental parser for the server's answer to an upgrade request.
class ResponseParser {
 public:
  enum class Status : uint8_t { kNeedMore, kAccepted, kRejected };

  // With `extensions_offered` false, an answer naming any extension is rejected (§4.1); with
  // it true, the answer's Sec-WebSocket-Extensions is kept for the caller to judge.
  explicit ResponseParser(std::string sec_websocket_key, bool extensions_offered = false)
      : key_(std::move(sec_websocket_key)), extensions_offered_(extensions_offered) {}

  // Consumes bytes up to the end of the response head; returns how many it took.
  size_t feed(std::span<const uint8_t> bytes);
  [[nodiscard]] Status status() const { return status_; }
  [[nodiscard]] int http_status() const { return http_status_; }
  // The server's Sec-WebSocket-Protocol, or empty. The caller checks it is one it offered (§4.1).
  [[nodiscard]] std::string_view subprotocol() const { return subprotocol_; }
  // Once kAccepted: the server's Sec-WebSocket-Extensions fields joined by ", " (RFC 9110
  // §5.3), or empty. The caller checks them against its offer (judge_deflate_response()).
  [[nodiscard]] std::string_view extensions() const { return extensions_; }

 private:
  std::string key_;
  bool extensions_offered_ = false;
  std::string extensions_;
  std::string head_;
  Status status_ = Status::kNeedMore;
  int http_status_ = 0;
  std::string subprotocol_;
};

}  // namespace herald::protocol::websocket
