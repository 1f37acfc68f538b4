// corking-server: the bare reference that Herald's fan-out is measured against (issue 16). A
// single-threaded, level-triggered epoll server that speaks just enough herald.v1 for
// `herald-bench fanout` and `topics`: the WebSocket handshake, subscribe to exact topics (acked
// when the command has an id), publish in text and binary form (acked with its seq when it has
// an id), ping, close. Each publish is encoded once and appended to every subscriber's output
// buffer; after all ready events of a loop iteration, each connection with output gets exactly
// one send(): the corking the reference server does. No TLS, history, auth, patterns,
// compression or /metrics (herald-bench then reports the broker's counters as null).
// It reuses protocol/ (the sans-I/O WebSocket layer and pubsub codec), which depends on nothing
// of Herald's; it must not grow into a second broker.
//
// usage: corking-server [--host 127.0.0.1] [--port 8080] [--pin-core N]
// Prints "corking-server listening on HOST:PORT" on stdout once it accepts; SIGINT or SIGTERM
// stop it (exit 0).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/pubsub/command.h"
#include "protocol/pubsub/encode.h"
#include "protocol/pubsub/notice.h"
#include "protocol/websocket/frame.h"
#include "protocol/websocket/handshake.h"
#include "protocol/websocket/message_parser.h"

namespace {

namespace ws = herald::protocol::websocket;
namespace pubsub = herald::protocol::pubsub;

constexpr size_t kReadBytes = 256 * 1024;
constexpr uint64_t kMessageBytesMax = 1 << 20;
// A subscriber this far behind is dropped rather than buffered without bound.
constexpr size_t kOutputBytesMax = 64 << 20;
constexpr int kEventsMax = 1024;

volatile std::sig_atomic_t g_stop = 0;

struct Connection {
  int fd = -1;
  std::unique_ptr<ws::RequestParser> request;  // until the upgrade
  std::unique_ptr<ws::MessageParser> parser;   // after it
  std::vector<uint8_t> out;                    // [sent, size) still to send
  size_t sent = 0;
  bool queued = false;      // in the flush list of this iteration
  bool want_write = false;  // EPOLLOUT armed: the kernel's buffer was full
  bool closing = false;     // close after the output is sent
  std::vector<std::string> topics;
};

struct Topic {
  uint64_t seq = 0;
  std::vector<int> subscribers;  // fds
};

class CorkingServer {
 public:
  bool listen(const std::string& host, uint16_t port);
  void run();

 private:
  void accept_all();
  void on_readable(Connection& c);
  void on_request(Connection& c);
  void on_event(Connection& c, const ws::ParserEvent& event);
  void on_command(Connection& c, const pubsub::Command& command);
  void publish(Connection& publisher, const pubsub::Command& command);
  void append(Connection& c, std::span<const uint8_t> bytes);
  void append_notice(Connection& c, const pubsub::Notice& notice);
  void append_frame(Connection& c, ws::Opcode opcode, std::span<const uint8_t> payload);
  void flush_all();
  void drop(int fd);

  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;  // by fd
  std::unordered_map<std::string, Topic> topics_;
  std::vector<int> flush_list_;
  std::vector<uint8_t> read_buffer_ = std::vector<uint8_t>(kReadBytes);
  std::vector<uint8_t> frame_;  // the publish being fanned out, encoded once
  pubsub::CommandParser commands_;
};

bool CorkingServer::listen(const std::string& host, uint16_t port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listen_fd_, 4096) != 0) {
    std::fprintf(stderr, "corking-server: %s:%u: %s\n", host.c_str(), port, std::strerror(errno));
    return false;
  }
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listen_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event);
  std::printf("corking-server listening on %s:%u\n", host.c_str(), port);
  std::fflush(stdout);
  return true;
}

void CorkingServer::run() {
  epoll_event events[kEventsMax];
  while (g_stop == 0) {
    const int ready = ::epoll_wait(epoll_fd_, events, kEventsMax, 1000);
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        accept_all();
        continue;
      }
      if (static_cast<size_t>(fd) >= connections_.size() || !connections_[fd]) continue;
      Connection& c = *connections_[fd];
      if ((events[i].events & EPOLLOUT) != 0 && !c.queued) {
        c.queued = true;
        flush_list_.push_back(fd);
      }
      if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) on_readable(c);
    }
    flush_all();
  }
}

void CorkingServer::accept_all() {
  while (true) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or out of fds: the rest wait in the backlog
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (static_cast<size_t>(fd) >= connections_.size()) connections_.resize(fd + 1);
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->request = std::make_unique<ws::RequestParser>();
    connections_[fd] = std::move(c);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }
}

// One recv per readiness: level-triggered epoll reports the rest next iteration, so one busy
// connection cannot starve the others within an iteration.
void CorkingServer::on_readable(Connection& c) {
  const ssize_t got = ::recv(c.fd, read_buffer_.data(), read_buffer_.size(), 0);
  if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return drop(c.fd);
  if (got < 0 || c.closing) return;
  std::span<uint8_t> bytes(read_buffer_.data(), static_cast<size_t>(got));
  if (c.request) {
    const size_t taken = c.request->feed(bytes);
    if (c.request->status() == ws::RequestParser::Status::kNeedMore) return;
    on_request(c);
    if (c.closing || c.parser == nullptr) return;
    bytes = bytes.subspan(taken);
  }
  const int fd = c.fd;
  c.parser->receive(bytes);
  while (connections_[fd] && !c.closing) {
    const ws::ParserEvent event = c.parser->next();
    if (event.kind == ws::ParserEvent::Kind::kNeedMore) return;
    on_event(c, event);
  }
}

void CorkingServer::on_request(Connection& c) {
  const std::unique_ptr<ws::RequestParser> parser = std::move(c.request);
  c.closing = true;  // unless it is a valid upgrade
  if (parser->status() != ws::RequestParser::Status::kComplete) {
    const std::string text = ws::build_http_response(parser->error_status(), "text/plain", "");
    return append(c, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  const ws::HttpRequest& request = parser->request();
  // No /metrics, no other HTTP: herald-bench reports the broker counters as absent.
  if (!request.wants_websocket()) {
    const std::string text = ws::build_http_response(404, "text/plain", "not found\n");
    return append(c, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  static const std::string kSubprotocols[] = {"herald.v1"};
  const ws::UpgradeDecision decision = ws::validate_upgrade(request, kSubprotocols);
  const std::string text =
      decision.status == 101
          ? ws::build_upgrade_response(request.header("sec-websocket-key"), decision.subprotocol)
          : ws::build_upgrade_refusal(decision);
  append(c, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  if (decision.status != 101) return;
  c.closing = false;
  c.parser = std::make_unique<ws::MessageParser>(ws::Role::kServer, kMessageBytesMax);
}

void CorkingServer::on_event(Connection& c, const ws::ParserEvent& event) {
  using Kind = ws::ParserEvent::Kind;
  switch (event.kind) {
    case Kind::kPing:
      return append_frame(c, ws::Opcode::kPong, event.payload);
    case Kind::kPong:
    case Kind::kNeedMore:
      return;
    case Kind::kClose:
    case Kind::kError: {
      // Answer the peer's Close with 1000, or fail with the parser's code (RFC 6455 section
      // 7.1.7), then close TCP once it is sent.
      const auto code =
          static_cast<uint16_t>(event.kind == Kind::kError ? event.code : ws::CloseCode::kNormal);
      const uint8_t body[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
      append_frame(c, ws::Opcode::kClose, body);
      c.closing = true;
      return;
    }
    case Kind::kText:
    case Kind::kBinary:
      break;
  }
  const pubsub::ParseResult result = event.kind == Kind::kText
                                         ? commands_.parse_text(event.payload)
                                         : commands_.parse_binary(event.payload);
  if (!result.ok) {
    return append_notice(c, pubsub::Error{result.error_id, result.error, result.error_text});
  }
  on_command(c, result.command);
}

void CorkingServer::on_command(Connection& c, const pubsub::Command& command) {
  const std::string topic(command.topic);
  switch (command.op) {
    case pubsub::Op::kPublish:
      return publish(c, command);
    case pubsub::Op::kSubscribe: {
      // Exact topics only, and no history: a pattern or a replay is refused.
      if (topic.find_first_of("*>") != std::string::npos ||
          command.replay != pubsub::Replay::kNone) {
        return append_notice(c, pubsub::Error{command.id, pubsub::ErrorCode::kBadRequest,
                                              "corking-server: exact topics only, no replay"});
      }
      if (std::find(c.topics.begin(), c.topics.end(), topic) == c.topics.end()) {
        c.topics.push_back(topic);
        topics_[topic].subscribers.push_back(c.fd);
      }
      break;
    }
    case pubsub::Op::kUnsubscribe: {
      const auto held = std::find(c.topics.begin(), c.topics.end(), topic);
      if (held == c.topics.end()) {
        return append_notice(
            c, pubsub::Error{command.id, pubsub::ErrorCode::kNotSubscribed, "not subscribed"});
      }
      c.topics.erase(held);
      std::vector<int>& fds = topics_[topic].subscribers;
      fds.erase(std::find(fds.begin(), fds.end(), c.fd));
      break;
    }
    case pubsub::Op::kAuth:
      break;
  }
  if (!command.id.empty()) append_notice(c, pubsub::Ack{command.id});
}

void CorkingServer::publish(Connection& publisher, const pubsub::Command& command) {
  Topic& topic = topics_[std::string(command.topic)];
  const uint64_t seq = ++topic.seq;
  const std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(command.data.data()),
                                      command.data.size());
  frame_.resize(pubsub::message_frame_bytes(command.topic, seq, data.size(), command.binary));
  frame_.resize(
      pubsub::encode_message_frame(frame_.data(), command.topic, seq, data, command.binary));
  if (!command.id.empty()) append_notice(publisher, pubsub::Ack{command.id, true, seq});
  for (const int fd : topic.subscribers) {
    if (fd == publisher.fd && !command.echo) continue;
    append(*connections_[fd], frame_);
  }
}

void CorkingServer::append(Connection& c, std::span<const uint8_t> bytes) {
  if (c.out.size() - c.sent + bytes.size() > kOutputBytesMax) {
    c.closing = true;  // a slow consumer: what it has is sent, then it is closed
    return;
  }
  c.out.insert(c.out.end(), bytes.begin(), bytes.end());
  if (!c.queued) {
    c.queued = true;
    flush_list_.push_back(c.fd);
  }
}

void CorkingServer::append_notice(Connection& c, const pubsub::Notice& notice) {
  std::vector<uint8_t> frame(pubsub::notice_frame_bytes(notice));
  frame.resize(pubsub::write_notice_frame(frame.data(), notice));
  append(c, frame);
}

void CorkingServer::append_frame(Connection& c, ws::Opcode opcode,
                                 std::span<const uint8_t> payload) {
  uint8_t header[ws::kServerFrameHeaderBytesMax];
  const size_t header_bytes = ws::write_frame_header(header, opcode, payload.size());
  std::vector<uint8_t> frame(header, header + header_bytes);
  frame.insert(frame.end(), payload.begin(), payload.end());
  append(c, frame);
}

// The cork: one send() per connection per loop iteration, over everything it was given.
void CorkingServer::flush_all() {
  for (size_t i = 0; i < flush_list_.size(); ++i) {
    const int fd = flush_list_[i];
    if (!connections_[fd] || !connections_[fd]->queued) continue;
    Connection& c = *connections_[fd];
    c.queued = false;
    if (c.sent < c.out.size()) {
      const ssize_t sent = ::send(fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN && errno != EINTR) {
        drop(fd);
        continue;
      }
      if (sent > 0) c.sent += static_cast<size_t>(sent);
    }
    const bool done = c.sent == c.out.size();
    if (done) {
      c.out.clear();
      c.sent = 0;
      if (c.closing) {
        drop(fd);
        continue;
      }
    } else if (c.sent >= c.out.size() / 2) {  // keep the unsent tail from creeping
      c.out.erase(c.out.begin(), c.out.begin() + static_cast<ptrdiff_t>(c.sent));
      c.sent = 0;
    }
    if (done == c.want_write) {  // arm EPOLLOUT while output waits, disarm once it is gone
      c.want_write = !done;
      epoll_event event{};
      event.events = EPOLLIN | (c.want_write ? EPOLLOUT : 0u);
      event.data.fd = fd;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
    }
  }
  flush_list_.clear();
}

// Closes the connection and forgets its subscriptions. The peer may be gone already: nothing
// here writes to it.
void CorkingServer::drop(int fd) {
  Connection& c = *connections_[fd];
  for (const std::string& name : c.topics) {
    std::vector<int>& fds = topics_[name].subscribers;
    const auto position = std::find(fds.begin(), fds.end(), fd);
    *position = fds.back();  // order among subscribers does not matter
    fds.pop_back();
  }
  ::close(fd);
  connections_[fd].reset();
}

void on_signal(int) { g_stop = 1; }

bool parse_number(std::string_view text, unsigned long max, unsigned long& out) {
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), out);
  return status == std::errc() && end == text.data() + text.size() && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned long port = 8080;
  unsigned long core = 0;
  bool pin = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--host" && has_value) {
      host = argv[++i];
    } else if (flag == "--port" && has_value && parse_number(argv[i + 1], 65535, port)) {
      ++i;
    } else if (flag == "--pin-core" && has_value && parse_number(argv[i + 1], 1023, core)) {
      ++i;
      pin = true;
    } else {
      std::fprintf(stderr,
                   "usage: corking-server [--host 127.0.0.1] [--port 8080] "
                   "[--pin-core N]\n");
      return 2;
    }
  }
  if (pin) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(core, &cpus);
    if (::sched_setaffinity(0, sizeof(cpus), &cpus) != 0) {
      std::fprintf(stderr, "corking-server: --pin-core %lu: %s\n", core, std::strerror(errno));
      return 1;
    }
  }
  struct sigaction action {};
  action.sa_handler = on_signal;  // no SA_RESTART: epoll_wait returns EINTR and the loop ends
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  CorkingServer server;
  if (!server.listen(host, static_cast<uint16_t>(port))) return 1;
  server.run();
  return 0;
}
