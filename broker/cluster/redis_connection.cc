// The socket, TLS and RESP framing of one Redis connection; what the commands mean is the
// link's business (redis_link.cc).
#include "broker/cluster/redis_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace herald::broker::cluster {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Sent bytes are dropped from the buffer's front once this many have gone (amortized).
constexpr size_t kCompactBytes = 1 << 20;

std::string ssl_error_text() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

// The name the server's certificate must carry: an IP address is checked against the
// certificate's IP SANs (and sent without SNI, which takes names only), a name against its
// DNS names, and sent as SNI.
bool set_peer_name(SSL* ssl, const std::string& host) {
  unsigned char ip[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), ip) == 1 || inet_pton(AF_INET6, host.c_str(), ip) == 1) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  }
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(host.c_str())) == 1 &&
         SSL_set1_host(ssl, host.c_str()) == 1;
}

}  // namespace

void ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

RedisConnection::RedisConnection() = default;

RedisConnection::~RedisConnection() { close(); }

Status RedisConnection::open(const RedisAddress& address, SSL_CTX* tls) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (const int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status::io_error(address.text + ": " + gai_strerror(rc));
  }
  fd_ = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    freeaddrinfo(found);
    return Status::io_error(address.text + ": socket: " + std::strerror(errno));
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = ::connect(fd_, found->ai_addr, found->ai_addrlen);
  const int saved = errno;
  freeaddrinfo(found);
  if (rc != 0 && saved != EINPROGRESS) {
    close();
    return Status::io_error(address.text + ": connect: " + std::strerror(saved));
  }
  reader_ = redisReaderCreate();
  if (tls != nullptr) {
    ssl_ = SSL_new(tls);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1 || !set_peer_name(ssl_, address.host)) {
      close();
      return Status::io_error(address.text + ": " + ssl_error_text());
    }
    SSL_set_connect_state(ssl_);
  }
  state_ = State::kConnecting;
  return Status::ok();
}

void RedisConnection::close() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // no close_notify: the socket may be dead already
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (reader_ != nullptr) redisReaderFree(reader_);
  reader_ = nullptr;
  out_.clear();
  out_sent_ = 0;
  ssl_wants_write_ = false;
  input_pending_ = false;
  state_ = State::kClosed;
}

short RedisConnection::events() const {
  short wanted = POLLIN;
  if (state_ == State::kConnecting || ssl_wants_write_ ||
      (state_ == State::kOpen && has_output())) {
    wanted |= POLLOUT;
  }
  return wanted;
}

bool RedisConnection::fail(std::string why) {
  error_ = std::move(why);
  return false;
}

bool RedisConnection::finish_connect() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return true;
  if (err != 0) return fail(std::string("connect: ") + std::strerror(err));
  state_ = ssl_ != nullptr ? State::kTlsHandshake : State::kOpen;
  return true;
}

bool RedisConnection::do_handshake() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  ssl_wants_write_ = false;
  if (rc == 1) {
    state_ = State::kOpen;
    return true;
  }
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ) return true;
  if (err == SSL_ERROR_WANT_WRITE) {
    ssl_wants_write_ = true;
    return true;
  }
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    return fail(std::string("TLS handshake: ") + X509_verify_cert_error_string(verify));
  }
  return fail("TLS handshake: " + ssl_error_text());
}

bool RedisConnection::on_events(short revents) {
  if (state_ == State::kConnecting) {
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return true;
    if (!finish_connect()) return false;
  }
  if (state_ == State::kTlsHandshake) {
    if (!do_handshake()) return false;
    if (state_ != State::kOpen) return true;
  }
  if (state_ != State::kOpen) return true;
  if (!flush()) return false;
  if ((revents & (POLLIN | POLLERR | POLLHUP)) != 0 || ssl_ != nullptr) return read_some();
  return true;
}

long RedisConnection::raw_write(const char* data, size_t size, bool& again) {
  again = false;
  if (ssl_ == nullptr) {
    const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) again = true;
    return n;
  }
  ERR_clear_error();
  const int n = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  if (n > 0) return n;
  const int err = SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) again = true;
  return -1;
}

long RedisConnection::raw_read(char* data, size_t size, bool& again) {
  again = false;
  if (ssl_ == nullptr) {
    const ssize_t n = ::recv(fd_, data, size, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) again = true;
    return n;
  }
  ERR_clear_error();
  const int n = SSL_read(ssl_, data, static_cast<int>(size));
  if (n > 0) return n;
  const int err = SSL_get_error(ssl_, n);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) again = true;
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  return -1;
}

bool RedisConnection::flush() {
  if (state_ != State::kOpen) return true;
  while (has_output()) {
    bool again = false;
    const long n = raw_write(out_.data() + out_sent_, out_.size() - out_sent_, again);
    if (n <= 0) {
      if (again) break;
      return fail(std::string("write: ") + (ssl_ ? ssl_error_text() : std::strerror(errno)));
    }
    out_sent_ += static_cast<size_t>(n);
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  } else if (out_sent_ >= kCompactBytes) {
    out_.erase(0, out_sent_);
    out_sent_ = 0;
  }
  return true;
}

bool RedisConnection::read_some() {
  char buffer[kReadChunk];
  // Bounded: at most 64 chunks per call, so one busy connection cannot starve the loop.
  input_pending_ = true;
  for (int round = 0; round < 64; ++round) {
    bool again = false;
    const long n = raw_read(buffer, sizeof buffer, again);
    if (n == 0) return fail("closed by the server");
    if (n < 0) {
      if (again) {
        input_pending_ = false;
        return true;
      }
      return fail(std::string("read: ") + (ssl_ ? ssl_error_text() : std::strerror(errno)));
    }
    if (redisReaderFeed(reader_, buffer, static_cast<size_t>(n)) != REDIS_OK) {
      return fail("reply parse error");
    }
  }
  return true;
}

void RedisConnection::queue(std::initializer_list<std::string_view> argv) {
  queue(std::vector<std::string_view>(argv));
}

void RedisConnection::queue(const std::vector<std::string_view>& argv) {
  std::vector<const char*> pointers;
  std::vector<size_t> sizes;
  pointers.reserve(argv.size());
  sizes.reserve(argv.size());
  for (std::string_view arg : argv) {
    pointers.push_back(arg.data());
    sizes.push_back(arg.size());
  }
  char* command = nullptr;
  const int size = redisFormatCommandArgv(&command, static_cast<int>(argv.size()), pointers.data(),
                                          sizes.data());
  if (size > 0) out_.append(command, static_cast<size_t>(size));
  redisFreeCommand(command);
}

bool RedisConnection::next_reply(Reply& out) {
  out.reset();
  if (reader_ == nullptr) return true;
  void* reply = nullptr;
  if (redisReaderGetReply(reader_, &reply) != REDIS_OK) return fail("reply parse error");
  out.reset(static_cast<redisReply*>(reply));
  return true;
}

}  // namespace herald::broker::cluster
