// Listening sockets: address resolution, SO_REUSEPORT, TCP_NODELAY (inherited by accepted
// sockets, which as direct descriptors cannot take setsockopt from here), listen.
#include "broker/net/listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace herald::broker::net {

namespace {

constexpr int kBacklog = 4096;  // the kernel caps it at net.core.somaxconn

uint16_t bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

common::Status describe(const std::string& host, uint16_t port, const char* step, int error) {
  std::string line =
      std::string(step) + " " + host + ":" + std::to_string(port) + ": " + std::strerror(error);
  if (error == EADDRINUSE) line += " (another process holds the port; pick another --port)";
  if (error == EACCES) line += " (ports below 1024 need CAP_NET_BIND_SERVICE)";
  if (error == EADDRNOTAVAIL) line += " (--host is not an address of this machine)";
  return common::Status::io_error(std::move(line));
}

// A socket bound to host:port (SO_REUSEADDR, plus SO_REUSEPORT when `share`).
common::Result<int> bind_socket(const std::string& host, uint16_t port, bool share) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return {common::Status::io_error("cannot resolve --host " + host + ": " + gai_strerror(rc)),
            -1};
  }
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    common::Status failed = describe(host, port, "socket for", errno);
    freeaddrinfo(found);
    return {std::move(failed), -1};
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (share) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = bind(fd, found->ai_addr, found->ai_addrlen);
  int bind_errno = errno;
  freeaddrinfo(found);
  if (rc != 0) {
    ::close(fd);
    return {describe(host, port, "cannot bind", bind_errno), -1};
  }
  return {common::Status::ok(), fd};
}

}  // namespace

Listener::Listener(Listener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(other.port_) {}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    port_ = other.port_;
  }
  return *this;
}

void Listener::close() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

common::Status Listener::check_port_free(const std::string& host, uint16_t port) {
  if (port == 0) return common::Status::ok();
  common::Result<int> bound = bind_socket(host, port, false);
  if (bound.status.is_ok()) ::close(bound.value);
  return std::move(bound.status);
}

Listener Listener::adopt(int fd, uint16_t port) {
  Listener listener;
  listener.fd_ = fd;
  listener.port_ = port;
  return listener;
}

common::Result<Listener> Listener::open(const std::string& host, uint16_t port) {
  common::Result<int> bound = bind_socket(host, port, true);
  if (!bound.status.is_ok()) return {std::move(bound.status), {}};
  Listener listener;
  listener.fd_ = bound.value;
  if (listen(listener.fd_, kBacklog) != 0) {
    return {describe(host, port, "cannot listen on", errno), {}};
  }
  listener.port_ = bound_port(listener.fd_);
  return {common::Status::ok(), std::move(listener)};
}

}  // namespace herald::broker::net
