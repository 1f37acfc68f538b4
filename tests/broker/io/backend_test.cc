// The I/O seam's contract, checked the same way on every backend over real loopback sockets:
// accept into a slot, multishot receive into recyclable buffers, sends (short ones included),
// cancel, close, timeouts, eventfd reads, cross-loop wakes and a full file table.
#include "broker/io/backend.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/broker/io/backend_fixture.h"
#include "tests/broker/raw_socket.h"

namespace herald::broker::io {
namespace {

using net::raw_socket::read_some;

class BackendTest : public testing::BackendFixture {
 protected:
  void SetUp() override {
    BackendConfig config;
    config.file_slots = 4;
    config.recv_buffer_count = 8;
    config.recv_buffer_bytes = 4096;
    config.queue_entries = 64;
    start(config, 16);
  }

  // With a receive timeout, so that a read of bytes that never come fails rather than hangs.
  int connect_client() {
    const int fd = BackendFixture::connect_client();
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
  }

  // The next completion tagged `user_data`, waiting at most 5 s; others are kept in `seen`.
  Completion wait_for(uint64_t user_data) {
    for (size_t i = 0; i < seen.size(); ++i) {
      if (seen[i].user_data == user_data) {
        Completion found = seen[i];
        seen.erase(seen.begin() + static_cast<std::ptrdiff_t>(i));
        return found;
      }
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    Timespec tick{0, 50'000'000};
    while (std::chrono::steady_clock::now() < deadline) {
      backend->timeout(&tick, kTickTag);
      backend->submit_and_wait(1);
      Completion batch[16];
      size_t count = backend->reap(batch);
      std::optional<Completion> found;
      for (size_t i = 0; i < count; ++i) {
        if (batch[i].user_data == kTickTag) continue;
        if (!found && batch[i].user_data == user_data) {
          found = batch[i];
        } else {
          seen.push_back(batch[i]);
        }
      }
      if (found) return *found;
    }
    ADD_FAILURE() << "no completion for " << user_data;
    return Completion{user_data, -9999, 0};
  }

  // Accepts one client; returns its slot.
  uint32_t accept_one() {
    connect_client();
    backend->accept_multishot(listen_fd, kAcceptTag);
    Completion accepted = wait_for(kAcceptTag);
    EXPECT_GE(accepted.res, 0);
    EXPECT_TRUE(accepted.more()) << "a multishot accept goes on";
    return static_cast<uint32_t>(accepted.res);
  }

  static constexpr uint64_t kAcceptTag = 1;
  static constexpr uint64_t kTickTag = 99;
  std::vector<Completion> seen;
};

TEST_P(BackendTest, AcceptReceiveSendAndEof) {
  uint32_t slot = accept_one();
  int client = clients.back();
  backend->recv_multishot(slot, 2);
  ASSERT_EQ(write(client, "hello", 5), 5);
  Completion received = wait_for(2);
  ASSERT_EQ(received.res, 5);
  ASSERT_TRUE(received.has_buffer());
  EXPECT_TRUE(received.more());
  std::span<uint8_t> bytes = backend->buffer(received.buffer_id(), 5);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "hello");
  backend->recycle(received.buffer_id());

  static const char kReply[] = "world";
  backend->send(slot, kReply, 5, 3);
  EXPECT_EQ(wait_for(3).res, 5);
  char reply[8] = {};
  ASSERT_EQ(read_some(client, reply, sizeof(reply)), 5);
  EXPECT_STREQ(reply, "world");

  shutdown(client, SHUT_WR);
  Completion eof = wait_for(2);
  EXPECT_EQ(eof.res, 0);
  EXPECT_FALSE(eof.more()) << "EOF ends the multishot";
  backend->shutdown_write(slot, 4);
  EXPECT_EQ(wait_for(4).res, 0);
  EXPECT_EQ(read_some(client, reply, sizeof(reply)), 0) << "our FIN reached the client";
  backend->close_file(slot, 5);
  EXPECT_EQ(wait_for(5).res, 0);
}

TEST_P(BackendTest, GatheredSendKeepsOrder) {
  uint32_t slot = accept_one();
  std::string a(3000, 'a');
  std::string b(5000, 'b');
  iovec iovecs[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  msghdr message{};
  message.msg_iov = iovecs;
  message.msg_iovlen = 2;
  backend->sendmsg(slot, &message, 3);
  ASSERT_EQ(wait_for(3).res, 8000);
  std::string got;
  char chunk[4096];
  while (got.size() < 8000) {
    ssize_t n = read_some(clients.back(), chunk, sizeof(chunk));
    ASSERT_GT(n, 0);
    got.append(chunk, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, a + b);
}

TEST_P(BackendTest, SendToAPeerThatDoesNotReadCompletesOnceItReads) {
  uint32_t slot = accept_one();
  std::string big(8u << 20, 'x');
  backend->send(slot, big.data(), big.size(), 3);
  // The client drains from another thread; the send completes with what the kernel took,
  // possibly fewer bytes than offered (a short send).
  size_t drained = 0;
  std::thread reader([&] {
    char chunk[65536];
    for (;;) {
      ssize_t n = read_some(clients.back(), chunk, sizeof(chunk));
      if (n <= 0) return;
      drained += static_cast<size_t>(n);
    }
  });
  Completion sent = wait_for(3);
  ASSERT_GT(sent.res, 0);
  EXPECT_LE(static_cast<size_t>(sent.res), big.size());
  backend->close_file(slot, 5);
  EXPECT_EQ(wait_for(5).res, 0);
  reader.join();
  EXPECT_EQ(drained, static_cast<size_t>(sent.res)) << "exactly what the completion said";
}

TEST_P(BackendTest, CancelEndsAMultishotReceive) {
  uint32_t slot = accept_one();
  backend->recv_multishot(slot, 2);
  backend->cancel(2, 6);
  Completion cancelled = wait_for(2);
  EXPECT_EQ(cancelled.res, -ECANCELED);
  EXPECT_FALSE(cancelled.more());
  EXPECT_EQ(wait_for(6).res, 0);
  backend->cancel(2, 7);
  EXPECT_EQ(wait_for(7).res, -ENOENT) << "nothing left to cancel";
  // Bytes that arrive now are not received: the operation is over.
  ASSERT_EQ(write(clients.back(), "late", 4), 4);
  backend->recv_multishot(slot, 8);
  EXPECT_EQ(wait_for(8).res, 4) << "a new receive gets them";
}

TEST_P(BackendTest, CancelStopsAMultishotAccept) {
  backend->accept_multishot(listen_fd, kAcceptTag);
  backend->cancel(kAcceptTag, 6);
  EXPECT_EQ(wait_for(kAcceptTag).res, -ECANCELED);
  EXPECT_EQ(wait_for(6).res, 0);
}

TEST_P(BackendTest, FullFileTableAnswersEnfile) {
  for (int i = 0; i < 5; ++i) connect_client();
  backend->accept_multishot(listen_fd, kAcceptTag);
  for (int i = 0; i < 4; ++i) EXPECT_GE(wait_for(kAcceptTag).res, 0);
  Completion full = wait_for(kAcceptTag);
  EXPECT_EQ(full.res, -ENFILE);
  EXPECT_FALSE(full.more()) << "a full table ends the accept; the owner re-arms";
}

TEST_P(BackendTest, PeerNameIsTheClientsAddress) {
  uint32_t slot = accept_one();
  sockaddr_in peer{};
  backend->peer_name(slot, &peer, sizeof(peer), 4);
  Completion named = wait_for(4);
  if (GetParam() == BackendKind::kUring && named.res < 0) {
    GTEST_SKIP() << "SO_PEERNAME over io_uring needs Linux 6.7: " << std::strerror(-named.res);
  }
  ASSERT_EQ(named.res, static_cast<int32_t>(sizeof(peer)));
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  getsockname(clients.back(), reinterpret_cast<sockaddr*>(&local), &length);
  EXPECT_EQ(peer.sin_port, local.sin_port);
  EXPECT_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}

TEST_P(BackendTest, TimeoutCompletesWithEtime) {
  Timespec after{0, 20'000'000};
  auto started = std::chrono::steady_clock::now();
  backend->timeout(&after, 4);
  EXPECT_EQ(wait_for(4).res, -ETIME);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(19));
}

TEST_P(BackendTest, ReadCompletesWhenTheEventfdIsWritten) {
  int event_fd = eventfd(0, EFD_CLOEXEC);
  uint64_t value = 0;
  backend->read(event_fd, &value, sizeof(value), 4);
  uint64_t three = 3;
  ASSERT_EQ(write(event_fd, &three, sizeof(three)), 8);
  EXPECT_EQ(wait_for(4).res, 8);
  EXPECT_EQ(value, 3u);
  close(event_fd);
}

TEST_P(BackendTest, WakeReachesAnotherLoop) {
  std::unique_ptr<Backend> peer = make_backend(GetParam());
  BackendConfig config;
  config.file_slots = 1;
  config.recv_buffer_count = 1;
  config.recv_buffer_bytes = 64;
  config.queue_entries = 8;
  ASSERT_TRUE(peer->init(config).is_ok());
  int peer_event_fd = eventfd(0, EFD_CLOEXEC);
  uint64_t value = 0;
  peer->read(peer_event_fd, &value, sizeof(value), 4);
  peer->submit_and_wait(0);
  backend->wake(peer->wake_address(peer_event_fd), 7);
  backend->submit_and_wait(0);
  // io_uring posts the tag to the peer's ring; epoll makes its eventfd readable.
  bool woken = false;
  Timespec tick{0, 50'000'000};
  for (int i = 0; i < 100 && !woken; ++i) {
    peer->timeout(&tick, kTickTag);
    peer->submit_and_wait(1);
    Completion batch[4];
    size_t count = peer->reap(batch);
    for (size_t j = 0; j < count; ++j) {
      woken = woken || batch[j].user_data == 7 || (batch[j].user_data == 4 && batch[j].res == 8);
    }
  }
  EXPECT_TRUE(woken);
  peer.reset();
  close(peer_event_fd);
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest,
                         ::testing::Values(BackendKind::kUring, BackendKind::kEpoll),
                         testing::backend_name);

}  // namespace
}  // namespace herald::broker::io
