// A listening TCP socket with SO_REUSEPORT, one per worker, so the kernel spreads incoming
// connections across workers. Owns the descriptor; accepting is the worker's (io_uring).
#pragma once

#include <cstdint>
#include <string>

#include "protocol/common/status.h"

namespace herald::broker::net {

class Listener {
 public:
  Listener() = default;
  ~Listener() { close(); }
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Fails with EADDRINUSE when any other socket holds host:port, even one that set
  // SO_REUSEPORT (which would otherwise let a second server silently share the port).
  // Call once before opening the workers' listeners.
  [[nodiscard]] static common::Status check_port_free(const std::string& host, uint16_t port);

  // Binds and listens on host:port. Port 0 picks a free port; open the other workers'
  // listeners on port() so they share it. Fails with a one-line cause (io_error).
  [[nodiscard]] static common::Result<Listener> open(const std::string& host, uint16_t port);

  // Owns `fd` as a listener that was opened elsewhere (a simulation's stand-in descriptor).
  [[nodiscard]] static Listener adopt(int fd, uint16_t port);

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] bool is_open() const { return fd_ >= 0; }
  void close();

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace herald::broker::net
