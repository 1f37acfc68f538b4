// Two Workers sharing one Hub, each on its own loopback port, so a test decides which worker
// a client lands on; raw-socket helpers to speak to them. Every test runs on each I/O backend.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "broker/core/topic_table.h"
#include "broker/net/hub.h"
#include "broker/net/worker.h"
#include "protocol/websocket/frame.h"
#include "protocol/websocket/handshake.h"
#include "tests/broker/raw_socket.h"

namespace herald::broker::net::testing {

namespace ws = protocol::websocket;

struct Frame {
  int opcode = -1;  // -1: the connection ended
  std::string payload;
};

class TwoWorkerTest : public ::testing::TestWithParam<io::BackendKind> {
 protected:
  static constexpr uint32_t kWorkers = 2;

  // After the workers are made, before their threads start (attach storage here).
  virtual void before_run() {}

  void start() {
    session_config.message_bytes_max = config.max_message_bytes;
    session_config.http_body_bytes_max = config.max_message_bytes;
    session_config.subprotocols = {"herald.v1"};
    hub = std::make_unique<Hub>(kWorkers, config.max_topics);
    for (uint32_t i = 0; i < kWorkers; ++i) {
      common::Result<Listener> opened = Listener::open("127.0.0.1", 0);
      ASSERT_TRUE(opened.status.is_ok()) << opened.status.message();
      workers[i] =
          std::make_unique<Worker>(config, session_config, std::move(opened.value),
                                   WorkerLimits{64, 32, GetParam()}, open_connections, *hub, i);
    }
    before_run();
    // Every worker's setup must finish before any worker runs (the server's latch).
    for (uint32_t i = 0; i < kWorkers; ++i) {
      threads[i] = std::thread([&, i] {
        if (!workers[i]->setup().is_ok()) failed = true;
        ++ready;
        while (ready < kWorkers) std::this_thread::yield();
        if (!failed) workers[i]->run();
      });
    }
    while (ready < kWorkers) std::this_thread::yield();
    ASSERT_FALSE(failed) << "the I/O backend failed to set up";
  }
  void TearDown() override {
    for (uint32_t i = 0; i < kWorkers; ++i) {
      if (threads[i].joinable()) workers[i]->request_stop();
    }
    for (auto& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  }

  int connect_to(uint32_t worker) const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(workers[worker]->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  }
  static Frame read_frame(int fd) {
    std::string head = raw_socket::read_exactly(fd, 2);
    if (head.size() < 2) return {};
    uint64_t length = static_cast<uint8_t>(head[1]) & 0x7f;
    size_t extra = length == 126 ? 2 : length == 127 ? 8 : 0;
    if (extra > 0) {
      std::string bytes = raw_socket::read_exactly(fd, extra);
      length = 0;
      for (char c : bytes) length = (length << 8) | static_cast<uint8_t>(c);
    }
    return Frame{static_cast<uint8_t>(head[0]) & 0x0f, raw_socket::read_exactly(fd, length)};
  }
  int open_session(uint32_t worker, std::string_view protocols = "herald.v1") const {
    int fd = connect_to(worker);
    raw_socket::write_all(
        fd, ws::build_upgrade_request("localhost", "/", ws::make_sec_websocket_key(), protocols));
    std::string head = raw_socket::read_until(fd, "\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
    return fd;
  }
  static void command(int fd, const std::string& json) {
    raw_socket::write_all(fd, raw_socket::masked_frame(ws::Opcode::kText, json));
  }
  static std::string text(int fd) {
    Frame frame = read_frame(fd);
    EXPECT_EQ(frame.opcode, 1);
    return frame.payload;
  }
  // A topic that worker `owner` sequences.
  static std::string topic_owned_by(uint32_t owner) {
    for (int i = 0;; ++i) {
      std::string topic = "t." + std::to_string(i);
      if (core::owner_of(topic, kWorkers) == owner) return topic;
    }
  }

  ServerConfig config;
  ws::SessionConfig session_config;
  std::atomic<uint64_t> open_connections{0};
  std::unique_ptr<Hub> hub;
  std::unique_ptr<Worker> workers[kWorkers];
  std::thread threads[kWorkers];
  std::atomic<uint32_t> ready{0};  // members: the threads read them after start() returns
  std::atomic<bool> failed{false};
};

inline std::string backend_name(const ::testing::TestParamInfo<io::BackendKind>& param) {
  return param.param == io::BackendKind::kEpoll ? "Epoll" : "Uring";
}

}  // namespace herald::broker::net::testing
