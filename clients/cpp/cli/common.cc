// Connecting, failure reports and the output line format shared by herald-cli's subcommands.
#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>

#include "clients/cpp/cli/commands.h"

namespace herald::cli {

namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

bool connect_path(const CliOptions& options, std::string& path) {
  path = options.path;
  if (options.token_file.empty()) return true;
  // A token is one line (a JWT, a hex string); the newline `echo` adds is trimmed.
  std::ifstream file(options.token_file, std::ios::binary);
  std::string token;
  std::getline(file, token);
  const size_t first = token.find_first_not_of(" \t\r\n");
  const size_t last = token.find_last_not_of(" \t\r\n");
  token = first == std::string::npos ? std::string() : token.substr(first, last - first + 1);
  if (token.empty()) {
    std::cerr << "herald-cli: --token-file " << options.token_file << ": no token in it\n";
    return false;
  }
  // Percent-encoded beyond RFC 3986's unreserved characters: a JWT passes as it is, a base64
  // admin token's '+', '/' and '=' are escaped (the broker decodes them).
  path += path.find('?') == std::string::npos ? "?token=" : "&token=";
  constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : token) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      path += c;
    } else {
      path += '%';
      path += kHex[byte >> 4];
      path += kHex[byte & 15];
    }
  }
  return true;
}

bool connect_client(const CliOptions& options, client::PubSubClient& client) {
  const char* scheme = options.tls ? "wss://" : "ws://";
  if (options.tls) {
    std::string tls_error;
    std::shared_ptr<client::TlsClientContext> context =
        client::TlsClientContext::create(options.ca, options.insecure, tls_error);
    if (!context) {
      std::cerr << "herald-cli: " << tls_error << "\n";
      return false;
    }
    client.use_tls(std::move(context),
                   options.server_name.empty() ? options.host : options.server_name);
  }
  if (options.compression) client.use_compression({.enabled = true});
  std::string path;
  if (!connect_path(options, path)) return false;
  const client::PubSubError error = client.connect(options.host, options.port, path,
                                                   std::chrono::milliseconds(options.timeout_ms));
  if (error == client::PubSubError::kNone) return true;
  std::cerr << "herald-cli: cannot connect to " << scheme << options.host << ":" << options.port
            << options.path << ": ";
  if (error == client::PubSubError::kTransport || error == client::PubSubError::kTimeout) {
    std::cerr << client::error_name(client.transport_error());
    if (!client.connection().tls_failure().empty()) {
      std::cerr << " (" << client.connection().tls_failure() << ")";
    }
    if (client.connection().http_status() != 0) {
      std::cerr << " (HTTP " << client.connection().http_status() << ")";
    }
    std::cerr << "\n";
  } else {
    std::cerr << "the server did not confirm subprotocol " << client::kSubprotocol << "\n";
  }
  return false;
}

void report_compression(const CliOptions& options, const client::PubSubClient& client) {
  if (!options.compression) return;
  const client::Connection& connection = client.connection();
  std::cerr << "herald-cli: permessage-deflate "
            << (connection.compression_active() ? "on" : "declined by the server") << ": received "
            << connection.frame_bytes_received() << " frame bytes for "
            << connection.message_bytes_received() << " message bytes; sent "
            << connection.frame_bytes_sent() << " data frame bytes, "
            << connection.messages_sent_compressed() << " messages compressed\n";
}

int report_failure(std::string_view what, client::PubSubError error,
                   const client::PubSubClient& client) {
  std::cerr << "herald-cli: " << what << ": ";
  switch (error) {
    case client::PubSubError::kRejected:
      std::cerr << client.server_error_code() << ": " << client.server_error_text();
      break;
    case client::PubSubError::kClosed:
      std::cerr << "the server closed the connection (code "
                << static_cast<int>(client.close_code()) << ")";
      break;
    case client::PubSubError::kTransport:
      std::cerr << "connection error: " << client::error_name(client.transport_error());
      break;
    default:
      std::cerr << client::pubsub_error_name(error);
      break;
  }
  std::cerr << "\n";
  return kExitFailed;
}

std::string format_line(const protocol::pubsub::ServerMessage& message) {
  using Kind = protocol::pubsub::ServerMessage::Kind;
  // Appends rather than operator+, which g++ 12 flags with a false -Wrestrict.
  std::string line(message.topic);
  if (message.kind == Kind::kGap) {
    line.append(" gap ").append(std::to_string(message.missed));
    return line;
  }
  line.append(" ").append(std::to_string(message.seq)).append(" ");
  if (message.binary) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(message.data.data());
    line.append("base64:").append(base64({bytes, message.data.size()}));
    return line;
  }
  // Raw JSON may hold line breaks only as whitespace between tokens (RFC 8259 §2 and §7:
  // strings escape them), so spaces keep the value and the one-line format.
  for (const char c : message.data) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

std::string base64(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t group =
        (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kBase64Alphabet[(group >> shift) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t group = uint32_t{bytes[i]} << 16;
    if (rest == 2) group |= uint32_t{bytes[i + 1]} << 8;
    out += kBase64Alphabet[(group >> 18) & 63];
    out += kBase64Alphabet[(group >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace herald::cli
