// Shared by the backend and receive-burst tests: a backend of the parameter's kind, initialised,
// with a loopback listener for it to accept from and blocking clients that connect to it. The
// tests' own loops (completions, ticks) stay in their files.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "broker/io/backend.h"

namespace herald::broker::io::testing {

class BackendFixture : public ::testing::TestWithParam<BackendKind> {
 protected:
  // Initialises `backend` with `config` and listens on an ephemeral loopback port. Call from
  // SetUp() and return when a fatal failure was recorded (HasFatalFailure()).
  void start(const BackendConfig& config, int backlog) {
    backend = make_backend(GetParam());
    const common::Status status = backend->init(config);
    ASSERT_TRUE(status.is_ok()) << status.message();
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(listen(listen_fd, backlog), 0);
    socklen_t length = sizeof(address);
    ASSERT_EQ(getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port = ntohs(address.sin_port);
  }

  void TearDown() override {
    backend.reset();
    for (int fd : clients) close(fd);
    if (listen_fd >= 0) close(listen_fd);
  }

  // A blocking client connected to the listener, closed by TearDown().
  int connect_client() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    clients.push_back(fd);
    return fd;
  }

  std::unique_ptr<Backend> backend;
  int listen_fd = -1;
  uint16_t port = 0;
  std::vector<int> clients;
};

// Both backends, named in the test names.
inline std::string backend_name(const ::testing::TestParamInfo<BackendKind>& param) {
  return param.param == BackendKind::kEpoll ? "Epoll" : "Uring";
}

}  // namespace herald::broker::io::testing
