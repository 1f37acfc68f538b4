// A loopback TCP proxy for tests, on its own thread: forwards every connection to a target
// port, and can freeze the connections that carry SUBSCRIBE (stop forwarding the server's
// bytes to them), which is how a pub/sub connection gets stuck without being closed.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace herald::broker::cluster::test {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target) : target_(target) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    ::listen(listener_, 16);
    thread_ = std::thread([this] { run(); });
  }
  ~TcpProxy() {
    stop_.store(true);
    thread_.join();
    for (Pair& pair : pairs_) {
      ::close(pair.client);
      ::close(pair.server);
    }
    ::close(listener_);
  }

  [[nodiscard]] uint16_t port() const { return port_; }
  // From now on, the connections that sent SUBSCRIBE so far receive nothing more.
  void freeze_subscribers() { freeze_.store(true); }

 private:
  struct Pair {
    int client;
    int server;
    bool subscriber = false;
    bool frozen = false;
    bool closed = false;  // one side ended: no longer polled
  };

  void run() {
    while (!stop_.load()) {
      if (freeze_.exchange(false)) {
        for (Pair& pair : pairs_) pair.frozen = pair.frozen || pair.subscriber;
      }
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (const Pair& pair : pairs_) {
        fds.push_back({pair.closed ? -1 : pair.client, POLLIN, 0});
        fds.push_back({pair.frozen || pair.closed ? -1 : pair.server, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      const size_t polled = pairs_.size();  // a pair accepted now has no slot in fds yet
      if (fds[0].revents & POLLIN) accept_one();
      for (size_t i = 0; i < polled; ++i) {
        Pair& pair = pairs_[i];
        if (fds[1 + 2 * i].revents) forward(pair, pair.client, pair.server, true);
        if (fds[2 + 2 * i].revents) forward(pair, pair.server, pair.client, false);
      }
    }
  }

  void accept_one() {
    const int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) return;
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(target_);
    if (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(client);
      ::close(server);
      return;
    }
    pairs_.push_back({client, server});
  }

  // Blocking writes are fine here: the peers are the link and Redis, both reading.
  void forward(Pair& pair, int from, int to, bool from_client) {
    char buffer[65536];
    const ssize_t n = ::recv(from, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n <= 0) {
      ::shutdown(to, SHUT_RDWR);
      pair.closed = true;
      return;
    }
    if (from_client && std::string_view(buffer, n).find("SUBSCRIBE") != std::string_view::npos) {
      pair.subscriber = true;
    }
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t m = ::send(to, buffer + sent, n - sent, MSG_NOSIGNAL);
      if (m <= 0) return;
      sent += m;
    }
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::vector<Pair> pairs_;  // the proxy thread's
  std::atomic<bool> stop_{false};
  std::atomic<bool> freeze_{false};
  std::thread thread_;
};

}  // namespace herald::broker::cluster::test
