// One Worker over a real loopback socket: handshake, echo, 404, the 503 limit, the handshake
// timeout and the graceful shutdown (Close 1001, then TCP closed by the server).
#include "broker/net/worker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "protocol/websocket/frame.h"
#include "protocol/websocket/handshake.h"
#include "tests/broker/raw_socket.h"

namespace herald::broker::net {
namespace {

namespace ws = protocol::websocket;
using namespace raw_socket;  // NOLINT(google-build-using-namespace): test helpers

// Every test runs on each I/O backend.
class WorkerTest : public ::testing::TestWithParam<io::BackendKind> {
 protected:
  void start() {
    config.echo = true;
    session_config.message_bytes_max = config.max_message_bytes;
    common::Result<Listener> opened = Listener::open("127.0.0.1", 0);
    ASSERT_TRUE(opened.status.is_ok()) << opened.status.message();
    Listener listener = std::move(opened.value);
    hub = std::make_unique<Hub>(1, config.max_topics);
    WorkerLimits limits{64, 32, GetParam()};
    if (config.max_connections != 0) limits.open_max = config.max_connections;
    worker = std::make_unique<Worker>(config, session_config, std::move(listener), limits,
                                      open_connections, *hub, 0);
    std::atomic<int> ready{0};
    thread = std::thread([&] {
      const common::Status setup = worker->setup();
      ready = setup.is_ok() ? 1 : 2;
      if (setup.is_ok()) worker->run();
    });
    while (ready == 0) std::this_thread::yield();
    ASSERT_EQ(ready, 1) << "the I/O backend failed to set up";
  }
  void TearDown() override {
    if (thread.joinable()) {
      worker->request_stop();
      thread.join();
    }
  }

  int connect_client() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(worker->port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  }

  int upgrade(const std::string& path) const {
    int fd = connect_client();
    write_all(fd, ws::build_upgrade_request("localhost", path, ws::make_sec_websocket_key()));
    std::string head = read_until(fd, "\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
    return fd;
  }

  ServerConfig config;
  ws::SessionConfig session_config;
  std::atomic<uint64_t> open_connections{0};
  std::unique_ptr<Hub> hub;
  std::unique_ptr<Worker> worker;
  std::thread thread;
};

TEST_P(WorkerTest, EchoesTextAndBinary) {
  start();
  int fd = upgrade("/echo");
  write_all(fd, masked_frame(ws::Opcode::kText, "hello") +
                    masked_frame(ws::Opcode::kBinary, std::string(300, 'b')));
  EXPECT_EQ(read_exactly(fd, 7), std::string("\x81\x05hello", 7));
  std::string binary = read_exactly(fd, 4 + 300);
  EXPECT_EQ(binary.substr(0, 4), std::string("\x82\x7e\x01\x2c", 4));
  EXPECT_EQ(binary.substr(4), std::string(300, 'b'));
  close(fd);
}

TEST_P(WorkerTest, UnknownRoutesAre404) {
  start();
  int fd = connect_client();
  write_all(fd, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string response = read_until(fd, "not found\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 404", 0), 0u) << response;
  EXPECT_EQ(read_exactly(fd, 1), "");  // the server ends TCP
  close(fd);
  fd = connect_client();
  write_all(fd, ws::build_upgrade_request("localhost", "/other", ws::make_sec_websocket_key()));
  EXPECT_EQ(read_until(fd, "\r\n").rfind("HTTP/1.1 404", 0), 0u);
  close(fd);
}

TEST_P(WorkerTest, RefusesOverTheLimitWith503) {
  config.max_connections = 1;
  start();
  int first = upgrade("/echo");
  int second = connect_client();
  std::string response = read_until(second, "\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;
  close(second);
  close(first);
}

TEST_P(WorkerTest, DropsSlowHandshakes) {
  config.handshake_timeout_ms = 1;
  start();
  int fd = connect_client();
  write_all(fd, "GET /echo HTTP/1.1\r\n");
  EXPECT_EQ(read_exactly(fd, 1), "");  // closed by the one-second sweep
  close(fd);
}

TEST_P(WorkerTest, ShutdownSendsGoingAway) {
  start();
  int fd = upgrade("/echo");
  worker->request_stop();
  EXPECT_EQ(read_exactly(fd, 4), std::string("\x88\x02\x03\xe9", 4));
  write_all(fd, masked_frame(ws::Opcode::kClose, std::string("\x03\xe9", 2)));
  EXPECT_EQ(read_exactly(fd, 1), "");  // the server closes TCP first (§7.1.1)
  close(fd);  // the server lingers for this EOF, so it exits well before the deadline
  thread.join();
  EXPECT_EQ(worker->open_connections(), 0u);
  EXPECT_EQ(worker->counters().connections_accepted.load(), 1u);
  EXPECT_EQ(worker->counters().connections_closed.load(), 1u);
  EXPECT_EQ(worker->counters().close_codes[1].load(), 1u);  // 1001 answered
}

INSTANTIATE_TEST_SUITE_P(Backends, WorkerTest,
                         ::testing::Values(io::BackendKind::kUring, io::BackendKind::kEpoll),
                         [](const ::testing::TestParamInfo<io::BackendKind>& param) {
                           return param.param == io::BackendKind::kEpoll ? "Epoll" : "Uring";
                         });

}  // namespace
}  // namespace herald::broker::net
