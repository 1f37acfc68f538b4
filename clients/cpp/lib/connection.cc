// The blocking client: TCP via getaddrinfo and poll, the handshake and frame rules from
// protocol/, masking keys from OpenSSL. Every wait is bounded by a caller's deadline.
#include "clients/cpp/lib/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "clients/cpp/lib/client_frame.h"
#include "protocol/websocket/extensions.h"

namespace herald::client {

namespace ws = protocol::websocket;

namespace {

constexpr size_t kReadBytes = 64 * 1024;
constexpr uint64_t kMessageBytesMax = uint64_t{64} << 20;
constexpr int kSendTimeoutS = 10;

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1'000'000'000));
}

// Waits for `events` on `fd` until the deadline; false on timeout.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd entry{fd, events, 0};
  while (true) {
    const int ready = ::poll(&entry, 1, remaining_ms(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return true;  // let the following call report the error
  }
}

uint32_t random_mask_key() {
  uint32_t key = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&key), sizeof(key)) != 1) {
    // OpenSSL's generator only fails when it cannot be seeded at all; fall back to a
    // per-process generator rather than refusing to send.
    static MaskKeyGenerator fallback;
    key = fallback.next();
  }
  return key;
}

Message failure(Error error) {
  Message message;
  message.error = error;
  return message;
}

std::string join(std::span<const std::string> items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

const char* error_name(Error error) {
  switch (error) {
    case Error::kNone:
      return "none";
    case Error::kResolve:
      return "resolve";
    case Error::kConnect:
      return "connect";
    case Error::kTimeout:
      return "timeout";
    case Error::kHandshakeRejected:
      return "handshake_rejected";
    case Error::kIo:
      return "io";
    case Error::kProtocol:
      return "protocol";
    case Error::kClosed:
      return "closed";
    case Error::kNotOpen:
      return "not_open";
    case Error::kTls:
      return "tls";
  }
  return "unknown";
}

Connection::Connection() = default;

Connection::~Connection() { close(); }

Connection::Connection(Connection&& other) noexcept { *this = std::move(other); }

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    os_error_ = other.os_error_;
    http_status_ = other.http_status_;
    close_sent_ = other.close_sent_;
    subprotocol_ = std::move(other.subprotocol_);
    parser_ = std::move(other.parser_);
    rx_ = std::move(other.rx_);
    rx_bytes_ = std::exchange(other.rx_bytes_, 0);
    tx_ = std::move(other.tx_);
    compression_ = other.compression_;
    compression_active_ = other.compression_active_;
    deflater_ = std::move(other.deflater_);
    deflated_ = std::move(other.deflated_);
    frame_bytes_received_ = other.frame_bytes_received_;
    message_bytes_received_ = other.message_bytes_received_;
    frame_bytes_sent_ = other.frame_bytes_sent_;
    messages_sent_compressed_ = other.messages_sent_compressed_;
    tls_context_ = std::move(other.tls_context_);
    tls_server_name_ = std::move(other.tls_server_name_);
    tls_ = std::move(other.tls_);
    tls_rx_ = std::move(other.tls_rx_);
    tls_failure_ = std::move(other.tls_failure_);
  }
  return *this;
}

void Connection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  parser_.reset();
  tls_.reset();
  deflater_.reset();
  compression_active_ = false;
}

Error Connection::connect(std::string_view host, uint16_t port, std::string_view path,
                          std::span<const std::string> subprotocols,
                          std::chrono::milliseconds timeout) {
  close();
  close_sent_ = false;
  http_status_ = 0;
  subprotocol_.clear();
  frame_bytes_received_ = message_bytes_received_ = 0;
  frame_bytes_sent_ = messages_sent_compressed_ = 0;
  const auto deadline = Clock::now() + timeout;
  Error error = connect_tcp(host, port, deadline);
  if (error == Error::kNone && tls_context_) error = tls_handshake(deadline);
  if (error == Error::kNone) {
    // The Host header carries the port unless it is the default (RFC 7230 §5.4).
    std::string host_header(host);
    if (port != 80) host_header.append(":").append(std::to_string(port));
    error = handshake(host_header, path, join(subprotocols), deadline);
  }
  if (error != Error::kNone) close();
  return error;
}

Error Connection::connect_tcp(std::string_view host, uint16_t port, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string host_name(host);
  if (::getaddrinfo(host_name.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return Error::kResolve;
  }
  Error error = Error::kConnect;
  for (addrinfo* entry = found; entry != nullptr && fd_ < 0; entry = entry->ai_next) {
    const int fd = ::socket(entry->ai_family, entry->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            entry->ai_protocol);
    if (fd < 0) continue;
    int status = ::connect(fd, entry->ai_addr, entry->ai_addrlen) == 0 ? 0 : errno;
    if (status == EINPROGRESS) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        error = Error::kTimeout;
        ::close(fd);
        break;
      }
      socklen_t size = sizeof(status);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &size);
    }
    if (status != 0) {
      os_error_ = status;
      ::close(fd);
      continue;
    }
    // Blocking from here on: receives are bounded by poll, sends by SO_SNDTIMEO.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const timeval send_timeout{kSendTimeoutS, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
    fd_ = fd;
    error = Error::kNone;
  }
  ::freeaddrinfo(found);
  return error;
}

Error Connection::handshake(std::string_view host, std::string_view path,
                            std::string_view subprotocols, Clock::time_point deadline) {
  const std::string key = ws::make_sec_websocket_key();
  const std::string request = ws::build_upgrade_request(
      host, path, key, subprotocols, compression_.enabled ? ws::kClientDeflateOffer : "");
  if (Error error = send_all({reinterpret_cast<const uint8_t*>(request.data()), request.size()});
      error != Error::kNone) {
    return error;
  }
  ws::ResponseParser response(key, compression_.enabled);
  rx_.resize(kReadBytes);
  while (response.status() == ws::ResponseParser::Status::kNeedMore) {
    if (Error error = read_some(deadline); error != Error::kNone) return error;
    const size_t taken = response.feed({rx_.data(), rx_bytes_});
    if (response.status() == ws::ResponseParser::Status::kAccepted) {
      // The server may send frames right behind the 101; they belong to the parser.
      rx_bytes_ -= taken;
      std::memmove(rx_.data(), rx_.data() + taken, rx_bytes_);
    }
  }
  http_status_ = response.http_status();
  if (response.status() != ws::ResponseParser::Status::kAccepted) {
    return Error::kHandshakeRejected;
  }
  subprotocol_ = std::string(response.subprotocol());
  parser_ = std::make_unique<ws::MessageParser>(ws::Role::kClient, kMessageBytesMax);
  if (Error error = accept_extensions(response.extensions()); error != Error::kNone) {
    return error;
  }
  if (rx_bytes_ > 0) {
    frame_bytes_received_ += rx_bytes_;
    parser_->receive({rx_.data(), rx_bytes_});
  }
  return Error::kNone;
}

Error Connection::accept_extensions(std::string_view extensions) {
  const ws::DeflateResponse answer = ws::judge_deflate_response(extensions);
  switch (answer.status) {
    case ws::DeflateResponse::Status::kNone:
      return Error::kNone;
    case ws::DeflateResponse::Status::kInvalid:
      // RFC 7692 §7.1: _Fail the WebSocket Connection_; nothing was sent on it yet.
      return Error::kHandshakeRejected;
    case ws::DeflateResponse::Status::kAccepted:
      break;
  }
  compression_active_ = true;
  // The server compresses against its earlier messages unless it said it would not (§7.1.1.1).
  parser_->enable_deflate(answer.agreement.server_context_takeover);
  // Each message is compressed on its own, which a client may always do (§7.1.1.2); the window
  // stays within what the server allowed (§7.1.2.2).
  if (answer.agreement.client_max_window_bits >= ws::kDeflateWindowBitsMin) {
    deflater_ = std::make_unique<ws::Deflater>(std::clamp(compression_.level, 1, 9),
                                               answer.agreement.client_max_window_bits);
  }
  return Error::kNone;
}

Error Connection::send_text(std::string_view text) {
  return send_frame(ws::Opcode::kText,
                    {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Error Connection::send_binary(std::span<const uint8_t> bytes) {
  return send_frame(ws::Opcode::kBinary, bytes);
}

Error Connection::send_ping(std::span<const uint8_t> bytes) {
  return send_frame(ws::Opcode::kPing,
                    bytes.first(std::min(bytes.size(), ws::kControlPayloadBytesMax)));
}

Error Connection::send_close(ws::CloseCode code, std::string_view reason) {
  // §5.5.1: a status code in network byte order, then a UTF-8 reason; 125 bytes in all.
  // 1005 stands for "no code" and is never sent, so it means an empty Close.
  uint8_t payload[ws::kControlPayloadBytesMax];
  size_t size = 0;
  if (code != ws::CloseCode::kNoStatus) {
    const auto value = static_cast<uint16_t>(code);
    payload[0] = static_cast<uint8_t>(value >> 8);
    payload[1] = static_cast<uint8_t>(value & 0xFF);
    size = 2 + std::min(reason.size(), ws::kControlPayloadBytesMax - 2);
    // An empty reason may have a null data(), which memcpy must not see even for 0 bytes.
    if (size > 2) std::memcpy(payload + 2, reason.data(), size - 2);
  }
  const Error error = send_frame(ws::Opcode::kClose, {payload, size});
  close_sent_ = true;
  return error;
}

Error Connection::send_frame(ws::Opcode opcode, std::span<const uint8_t> payload) {
  if (fd_ < 0 || parser_ == nullptr) return Error::kNotOpen;
  if (close_sent_) return Error::kClosed;  // §5.5.1: nothing may follow our Close
  const bool data = opcode == ws::Opcode::kText || opcode == ws::Opcode::kBinary;
  const std::span<const uint8_t> compressed = data ? compress(payload) : std::span<uint8_t>();
  const std::span<const uint8_t> body = compressed.empty() ? payload : compressed;
  tx_.resize(client_frame_bytes_max(body.size()));
  const size_t size = write_client_frame(tx_.data(), opcode, body, random_mask_key());
  if (!compressed.empty()) {
    tx_[0] |= kRsv1Bit;  // RFC 7692 §6: RSV1 on the first (here only) frame of the message
    ++messages_sent_compressed_;
  }
  if (data) frame_bytes_sent_ += size;
  return send_all({tx_.data(), size});
}

std::span<const uint8_t> Connection::compress(std::span<const uint8_t> payload) {
  if (deflater_ == nullptr || payload.size() < compression_.min_bytes) return {};
  deflated_.resize(ws::Deflater::compressed_bytes_max(payload.size()));
  const size_t size = deflater_->compress(payload, deflated_);
  // A message that does not shrink goes out plain: RSV1 is chosen per message (§6).
  if (size == 0 || size >= payload.size()) return {};
  return {deflated_.data(), size};
}

Error Connection::send_all(std::span<const uint8_t> bytes) {
  if (tls_) {
    if (tls_->write(bytes) != TlsClientSession::Status::kOk) {
      tls_failure_ = tls_->failure();
      return Error::kTls;
    }
    return flush_tls();
  }
  return send_raw(bytes);
}

Error Connection::send_raw(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Error::kTimeout;
      os_error_ = errno;
      return Error::kIo;
    }
    bytes = bytes.subspan(static_cast<size_t>(sent));
  }
  return Error::kNone;
}

Error Connection::read_some(Clock::time_point deadline) {
  if (!tls_) return read_raw(rx_, rx_bytes_, deadline);
  // Bounded by the deadline: each pass decrypts what arrived or waits for more.
  while (true) {
    size_t plaintext = 0;
    TlsClientSession::Status status = tls_->read(rx_, plaintext);
    if (status == TlsClientSession::Status::kFailed) {
      tls_failure_ = tls_->failure();
      return Error::kTls;
    }
    if (status == TlsClientSession::Status::kClosed) return Error::kClosed;
    if (Error error = flush_tls(); error != Error::kNone) return error;  // e.g. a KeyUpdate
    if (plaintext > 0) {
      rx_bytes_ = plaintext;
      return Error::kNone;
    }
    size_t got = 0;
    if (Error error = read_raw(tls_rx_, got, deadline); error != Error::kNone) return error;
    tls_->feed({tls_rx_.data(), got});
  }
}

Error Connection::read_raw(std::span<uint8_t> into, size_t& bytes, Clock::time_point deadline) {
  if (!wait_for(fd_, POLLIN, deadline)) return Error::kTimeout;
  while (true) {
    const ssize_t got = ::recv(fd_, into.data(), into.size(), 0);
    if (got > 0) {
      bytes = static_cast<size_t>(got);
      return Error::kNone;
    }
    if (got == 0) return Error::kClosed;
    if (errno == EINTR) continue;
    os_error_ = errno;
    return Error::kIo;
  }
}

Message Connection::receive(std::chrono::milliseconds timeout) {
  if (fd_ < 0 || parser_ == nullptr) return failure(Error::kNotOpen);
  const auto deadline = Clock::now() + timeout;
  while (true) {
    // Only once the parser reports kNeedMore has it let go of rx_, so rx_ may be refilled.
    const ws::ParserEvent event = parser_->next();
    if (event.kind != ws::ParserEvent::Kind::kNeedMore) return take_event(event);
    if (Error error = read_some(deadline); error != Error::kNone) return failure(error);
    frame_bytes_received_ += rx_bytes_;
    parser_->receive({rx_.data(), rx_bytes_});
  }
}

Message Connection::take_event(const ws::ParserEvent& event) {
  using Kind = ws::ParserEvent::Kind;
  Message message;
  message.payload.assign(reinterpret_cast<const char*>(event.payload.data()), event.payload.size());
  message.code = event.code;
  switch (event.kind) {
    case Kind::kText:
      message.kind = Message::Kind::kText;
      message_bytes_received_ += event.payload.size();
      break;
    case Kind::kBinary:
      message.kind = Message::Kind::kBinary;
      message_bytes_received_ += event.payload.size();
      break;
    case Kind::kPong:
      message.kind = Message::Kind::kPong;
      break;
    case Kind::kPing:
      // §5.5.2: answer with the same payload. A failed send surfaces on the next call.
      message.kind = Message::Kind::kPing;
      if (!close_sent_) {
        message.error = send_frame(ws::Opcode::kPong, event.payload);
      }
      break;
    case Kind::kClose:
      // §5.5.1: echo the status code back unless we started the closing handshake.
      message.kind = Message::Kind::kClose;
      if (!close_sent_) message.error = send_close(event.code, {});
      break;
    case Kind::kError:
    case Kind::kNeedMore:
      message.kind = Message::Kind::kError;
      message.error = Error::kProtocol;
      if (!close_sent_) (void)send_close(event.code, {});
      break;
  }
  return message;
}

void Connection::use_tls(std::shared_ptr<TlsClientContext> context, std::string server_name) {
  tls_context_ = std::move(context);
  tls_server_name_ = std::move(server_name);
}

Error Connection::tls_handshake(Clock::time_point deadline) {
  tls_ = std::make_unique<TlsClientSession>(*tls_context_, tls_server_name_);
  tls_rx_.resize(kReadBytes);
  tls_failure_.clear();
  // Bounded by the deadline: every pass sends a flight or waits for the server's.
  while (true) {
    size_t ignored = 0;
    if (tls_->read({}, ignored) == TlsClientSession::Status::kFailed) {
      tls_failure_ = tls_->failure();
      (void)flush_tls();  // the alert, best effort
      return Error::kTls;
    }
    if (Error error = flush_tls(); error != Error::kNone) return error;
    if (tls_->handshake_done()) return Error::kNone;
    size_t got = 0;
    if (Error error = read_raw(tls_rx_, got, deadline); error != Error::kNone) return error;
    tls_->feed({tls_rx_.data(), got});
  }
}

Error Connection::flush_tls() {
  std::span<const uint8_t> out = tls_->take_output();
  if (out.empty()) return Error::kNone;
  Error error = send_raw(out);
  tls_->consume(out.size());
  return error;
}

}  // namespace herald::client
