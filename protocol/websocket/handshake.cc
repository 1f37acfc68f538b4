// The WebSocket opening handshake, RFC 6455 §4: the server's §4.2.1 checks and its answers,
// Sec-WebSocket-Accept, and the client's request and key. HTTP framing is http_request.cc's.
// Only OpenSSL's digest, base64 and random bytes are used; no I/O.
#include "protocol/websocket/handshake.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace herald::protocol::websocket {
namespace {

// §1.3: the GUID a server appends to the key, which no non-WebSocket endpoint would use.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kKeyBytes = 16;
constexpr size_t kSha1Bytes = 20;
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::span<const unsigned char> bytes) {
  // EVP_EncodeBlock writes 4 characters per 3 bytes and a terminating NUL.
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

// §4.2.1 item 5: a base64 value that decodes to 16 bytes. Read strictly: 22 alphabet
// characters and "==", and the 4 pad bits of the last character zero, so that one nonce has
// exactly one spelling.
bool is_valid_key(std::string_view key) {
  if (key.size() != 24 || !key.ends_with("==")) return false;
  const std::string_view data = key.substr(0, 22);
  if (data.find_first_not_of(kBase64Alphabet) != std::string_view::npos) return false;
  return kBase64Alphabet.find(data.back()) % 16 == 0;
}

size_t count_headers(const HttpRequest& request, std::string_view name) {
  return static_cast<size_t>(
      std::count_if(request.headers.begin(), request.headers.end(),
                    [name](const auto& field) { return field.first == name; }));
}

bool any_header_lists(const HttpRequest& request, std::string_view name, std::string_view token) {
  return std::any_of(request.headers.begin(), request.headers.end(), [&](const auto& field) {
    return field.first == name && list_has_token(field.second, token);
  });
}

// Whether one of the client's Sec-WebSocket-Protocol lists (the field may repeat, §11.3.4)
// names `subprotocol`. Compared exactly, not ignoring case: the client checks that our choice is
// one of the values it sent (§4.1), and browsers compare byte for byte.
bool client_offers(const HttpRequest& request, std::string_view subprotocol) {
  for (const auto& [name, value] : request.headers) {
    if (name != "sec-websocket-protocol") continue;
    std::string_view list(value);
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view element = list.substr(0, comma);
      element.remove_prefix(std::min(element.find_first_not_of(" \t"), element.size()));
      element = element.substr(0, element.find_last_not_of(" \t") + 1);
      if (element == subprotocol) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

UpgradeDecision refuse(int status, std::string_view reason) {
  return UpgradeDecision{.status = status, .reason = reason, .subprotocol = {}};
}

}  // namespace

UpgradeDecision validate_upgrade(const HttpRequest& request,
                                 std::span<const std::string> server_subprotocols) {
  // §4.2.1 items 1 to 6, in order. HTTP/1.1 was enforced by the request parser.
  if (request.method != "GET") return refuse(405, "a WebSocket handshake must use GET");
  if (count_headers(request, "host") != 1) return refuse(400, "Host must appear exactly once");
  if (!any_header_lists(request, "upgrade", "websocket")) {
    return refuse(400, "Upgrade does not list websocket");
  }
  if (!any_header_lists(request, "connection", "upgrade")) {
    return refuse(400, "Connection does not list upgrade");
  }
  if (count_headers(request, "sec-websocket-key") != 1 ||
      !is_valid_key(request.header("sec-websocket-key"))) {
    return refuse(400, "Sec-WebSocket-Key must be one base64 value of 16 bytes");
  }
  // §4.2.2 /version/ and §4.4: any other or a missing version gets 426 and the one we speak.
  if (count_headers(request, "sec-websocket-version") != 1 ||
      request.header("sec-websocket-version") != "13") {
    return refuse(426, "Sec-WebSocket-Version must be 13");
  }
  // §4.2.2 /subprotocol/: the server's preference decides; none in common is no subprotocol,
  // and the handshake still succeeds.
  UpgradeDecision decision{.status = 101, .reason = {}, .subprotocol = {}};
  for (const std::string& candidate : server_subprotocols) {
    if (client_offers(request, candidate)) {
      decision.subprotocol = candidate;
      break;
    }
  }
  return decision;
}

std::string build_upgrade_refusal(const UpgradeDecision& decision) {
  assert(decision.status != 101);
  std::string extra_header;
  if (decision.status == 426) extra_header = "Sec-WebSocket-Version: 13";
  if (decision.status == 405) extra_header = "Allow: GET";
  const std::string body = std::string(decision.reason) + "\n";
  return build_http_response(
      decision.status, "text/plain; charset=utf-8", body,
      std::span<const std::string>(&extra_header, extra_header.empty() ? 0 : 1));
}

std::string accept_key(std::string_view sec_websocket_key) {
  std::string input;
  input.reserve(sec_websocket_key.size() + kAcceptGuid.size());
  input.append(sec_websocket_key).append(kAcceptGuid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_bytes = 0;
  // SHA-1 fails only when OpenSSL cannot allocate or its provider is missing: a broken
  // process, not a bad peer.
  [[maybe_unused]] const int ok =
      EVP_Digest(input.data(), input.size(), digest.data(), &digest_bytes, EVP_sha1(), nullptr);
  assert(ok == 1 && digest_bytes == kSha1Bytes);
  return base64_encode(std::span(digest.data(), kSha1Bytes));
}

std::string build_upgrade_response(std::string_view sec_websocket_key, std::string_view subprotocol,
                                   std::string_view extensions) {
  // The field order of the §1.3 example, so that the example is reproduced byte for byte.
  std::string out =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  out.append(accept_key(sec_websocket_key)).append("\r\n");
  if (!subprotocol.empty())
    out.append("Sec-WebSocket-Protocol: ").append(subprotocol).append("\r\n");
  if (!extensions.empty()) {
    out.append("Sec-WebSocket-Extensions: ").append(extensions).append("\r\n");
  }
  out.append("\r\n");
  return out;
}

std::string build_upgrade_request(std::string_view host, std::string_view path,
                                  std::string_view sec_websocket_key, std::string_view subprotocols,
                                  std::string_view extensions) {
  std::string out = "GET ";
  out.append(path).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
  out.append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  out.append(sec_websocket_key).append("\r\nSec-WebSocket-Version: 13\r\n");
  if (!subprotocols.empty()) {
    out.append("Sec-WebSocket-Protocol: ").append(subprotocols).append("\r\n");
  }
  if (!extensions.empty()) {
    out.append("Sec-WebSocket-Extensions: ").append(extensions).append("\r\n");
  }
  out.append("\r\n");
  return out;
}

std::string make_sec_websocket_key() {
  // §4.1 item 7: a nonce of 16 random bytes for each connection.
  std::array<unsigned char, kKeyBytes> nonce{};
  [[maybe_unused]] const int ok = RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
  assert(ok == 1);
  return base64_encode(nonce);
}

}  // namespace herald::protocol::websocket
