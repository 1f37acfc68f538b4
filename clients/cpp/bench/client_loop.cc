// ClientLoop: connection state machine (connect, handshake, open, closing) over edge-triggered
// epoll, and the socket reads and writes. Reads go to one shared buffer and are parsed at once
// (client_loop_receive.cc); frames queued in each connection's fixed output buffer
// (client_loop_send.cc) are flushed once per read batch.
#include "clients/cpp/bench/client_loop.h"

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "protocol/websocket/extensions.h"

namespace herald::bench {

namespace ws = protocol::websocket;

namespace {

constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr int kEventsPerWait = 1024;
constexpr uint64_t kWatchTag = ~uint64_t{0};
constexpr int64_t kSweepIntervalNs = 100'000'000;
constexpr size_t kDialBatch = 64;
// Room for a Pong and a Close besides the scenario's own frames.
constexpr size_t kControlReserveBytes =
    2 * client::client_frame_bytes_max(ws::kControlPayloadBytesMax);

}  // namespace

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<ClientLoop> ClientLoop::create(LoopConfig config, ConnectionHandler& handler,
                                               std::string& error) {
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    error = std::string("epoll_create1: ") + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<ClientLoop>(new ClientLoop(std::move(config), handler, epoll_fd));
}

ClientLoop::ClientLoop(LoopConfig config, ConnectionHandler& handler, int epoll_fd)
    : config_(std::move(config)),
      handler_(handler),
      epoll_fd_(epoll_fd),
      connections_(config_.connections),
      read_buffer_(new uint8_t[kReadBufferBytes]),
      plain_buffer_(config_.tls ? new uint8_t[kReadBufferBytes] : nullptr) {
  for (uint32_t i = 0; i < config_.connections; ++i) connections_[i].index = i;
}

ClientLoop::~ClientLoop() {
  for (BenchConnection& connection : connections_) {
    if (connection.fd >= 0) ::close(connection.fd);
  }
  ::close(epoll_fd_);
}

void ClientLoop::watch_fd(int fd) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWatchTag;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0) watch_fd_ = fd;
}

DialStats ClientLoop::dial(int64_t deadline_ns) {
  const int64_t start = now_ns();
  int64_t next_sweep = start + kSweepIntervalNs;
  size_t next = 0;
  while (true) {
    const int64_t now = now_ns();
    if (next == connections_.size() && dialing_ == 0) break;
    if (now >= deadline_ns) {
      for (size_t i = next; i < connections_.size(); ++i) ++dial_stats_.timeouts;
      dial_stats_.attempted += connections_.size() - next;
      next = connections_.size();
      sweep_handshake_timeouts(INT64_MAX);
      break;
    }
    // A token bucket: connection k may start at start + k / rate. The in-flight bound keeps a
    // slow server from being buried under half-open handshakes.
    const auto due =
        static_cast<size_t>(static_cast<double>(now - start) * config_.connect_rate / 1e9 + 1);
    // In batches: connect() slows down when ephemeral ports run short, and the deadline
    // and the events of connections already dialing must not wait for a long batch.
    const size_t batch_end = std::min({due, connections_.size(), next + kDialBatch});
    while (next < batch_end && dialing_ < config_.handshakes_in_flight) {
      start_dial(connections_[next++]);
    }
    if (now >= next_sweep) {
      sweep_handshake_timeouts(now);
      next_sweep = now + kSweepIntervalNs;
    }
    // Harvest events without sleeping while more dials are due; otherwise wait for a token.
    const bool more_now =
        next < std::min(due, connections_.size()) && dialing_ < config_.handshakes_in_flight;
    const int64_t wake = more_now ? now : next < connections_.size() ? now + 1'000'000 : INT64_MAX;
    poll_once(std::min({deadline_ns, next_sweep, wake}));
  }
  dial_stats_.elapsed_ns = now_ns() - start;
  return dial_stats_;
}

void ClientLoop::sweep_handshake_timeouts(int64_t now) {
  for (BenchConnection& connection : connections_) {
    const bool dialing = connection.state == BenchConnection::State::kConnecting ||
                         connection.state == BenchConnection::State::kHandshake;
    if (dialing && now - connection.dial_started_ns >= config_.handshake_timeout_ns) {
      fail_dial(connection, &DialStats::timeouts, 0);
    }
  }
}

size_t ClientLoop::redial_closed(size_t max_count) {
  sweep_handshake_timeouts(now_ns());
  size_t started = 0;
  for (size_t seen = 0;
       seen < connections_.size() && started < max_count && dialing_ < config_.handshakes_in_flight;
       ++seen) {
    BenchConnection& connection = connections_[redial_cursor_];
    redial_cursor_ = (redial_cursor_ + 1) % connections_.size();
    if (connection.state != BenchConnection::State::kClosed || connection.closing_requested) {
      continue;
    }
    connection.close_sent = connection.close_received = connection.peer_started_close = false;
    start_dial(connection);
    ++started;
  }
  return started;
}

void ClientLoop::run(int64_t deadline_ns, const std::function<bool()>& done) {
  while (!watch_ready_ && !done() && now_ns() < deadline_ns) poll_once(deadline_ns);
}

void ClientLoop::close_all(int64_t deadline_ns) {
  // Paced at the connect rate: a hundred thousand Close frames sent at once flood the
  // broker (and the loopback softirq) no less than as many connects would.
  const int64_t start = now_ns();
  size_t next = 0;
  size_t sent = 0;
  while (true) {
    const int64_t now = now_ns();
    if ((next == connections_.size() && closing_count_ == 0) || now >= deadline_ns) break;
    const auto due =
        static_cast<size_t>(static_cast<double>(now - start) * config_.connect_rate / 1e9 + 1);
    while (next < connections_.size() && sent < due) {
      BenchConnection& connection = connections_[next++];
      if (connection.state != BenchConnection::State::kOpen) continue;
      ++sent;
      connection.closing_requested = true;
      queue_close(connection, ws::CloseCode::kNormal);
      flush(connection);
    }
    const bool more_now =
        next < connections_.size() && sent < due && closing_count_ < config_.handshakes_in_flight;
    const int64_t wake = more_now ? now : next < connections_.size() ? now + 1'000'000 : INT64_MAX;
    poll_once(std::min(deadline_ns, wake));
  }
  for (BenchConnection& connection : connections_) {
    if (connection.fd < 0) continue;
    // The server never finished the closing handshake: reset rather than start a FIN
    // exchange that thousands of such sockets would make slow.
    const linger reset{1, 0};
    ::setsockopt(connection.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    end_connection(connection, &CloseStats::close_timeouts);
  }
}

void ClientLoop::poll_once(int64_t deadline_ns) {
  epoll_event events[kEventsPerWait];
  const int64_t wait_ns = std::max<int64_t>(0, deadline_ns - now_ns());
  // Round up so that a wait never returns just before the deadline and spins.
  const int timeout_ms = static_cast<int>(std::min<int64_t>((wait_ns + 999'999) / 1'000'000, 1000));
  const int ready = ::epoll_wait(epoll_fd_, events, kEventsPerWait, timeout_ms);
  for (int i = 0; i < ready; ++i) {
    if (events[i].data.u64 == kWatchTag) {
      watch_ready_ = true;
      continue;
    }
    on_event(connections_[events[i].data.u64], events[i].events);
  }
}

void ClientLoop::start_dial(BenchConnection& connection) {
  ++dial_stats_.attempted;
  ++dialing_;
  connection.dial_started_ns = now_ns();
  connection.state = BenchConnection::State::kConnecting;
  connection.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (connection.fd < 0) return fail_dial(connection, &DialStats::connect_errors, errno);
  const int one = 1;
  ::setsockopt(connection.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (!config_.sources.empty()) {
    // Without IP_BIND_ADDRESS_NO_PORT, bind() would pick the port before it knows the
    // destination, and each source address would give only one port range in all.
    ::setsockopt(connection.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr =
        config_.sources[(config_.source_offset + connection.index) % config_.sources.size()];
    if (::bind(connection.fd, reinterpret_cast<const sockaddr*>(&source), sizeof(source)) != 0) {
      return fail_dial(connection, &DialStats::connect_errors, errno);
    }
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.u64 = connection.index;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, connection.fd, &event) != 0) {
    return fail_dial(connection, &DialStats::connect_errors, errno);
  }
  const int status = ::connect(connection.fd, reinterpret_cast<const sockaddr*>(&config_.server),
                               sizeof(config_.server));
  if (status != 0 && errno != EINPROGRESS) {
    return fail_dial(connection, &DialStats::connect_errors, errno);
  }
  // Completion (or an immediate success on loopback) arrives as EPOLLOUT.
}

void ClientLoop::on_event(BenchConnection& connection, uint32_t events) {
  if (connection.fd < 0) return;
  if (connection.state == BenchConnection::State::kConnecting) {
    int status = 0;
    socklen_t size = sizeof(status);
    ::getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &status, &size);
    if (status != 0) return fail_dial(connection, &DialStats::connect_errors, status);
    if ((events & (EPOLLOUT | EPOLLIN)) == 0) return;
    on_connected(connection);
    if (connection.fd < 0) return;
  }
  if ((events & EPOLLOUT) != 0 && !flush(connection)) return;
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) on_readable(connection, events);
}

void ClientLoop::on_connected(BenchConnection& connection) {
  connection.state = BenchConnection::State::kHandshake;
  const std::string key = ws::make_sec_websocket_key();
  const bool offer = config_.compression.enabled;
  const std::string request =
      ws::build_upgrade_request(config_.host_header, config_.path, key, config_.subprotocols,
                                offer ? ws::kClientDeflateOffer : std::string_view());
  connection.response = std::make_unique<ws::ResponseParser>(key, offer);
  const size_t output_bytes = connection.index == 0
                                  ? std::max(config_.output_bytes, config_.output_bytes_first)
                                  : config_.output_bytes;
  connection.output_capacity = std::max(output_bytes, request.size()) + kControlReserveBytes;
  connection.output.reset(new uint8_t[connection.output_capacity]);
  std::memcpy(connection.output.get(), request.data(), request.size());
  connection.output_begin = 0;
  connection.output_end = request.size();
  if (config_.tls) {
    // The upgrade request waits in `output` until the TLS handshake is done.
    connection.tls =
        std::make_unique<client::TlsClientSession>(*config_.tls, config_.tls_server_name);
  }
  flush(connection);
}

bool ClientLoop::flush(BenchConnection& connection) {
  if (connection.tls) return flush_tls(connection);
  while (connection.output_begin < connection.output_end) {
    const ssize_t sent = ::send(connection.fd, connection.output.get() + connection.output_begin,
                                connection.output_end - connection.output_begin, MSG_NOSIGNAL);
    if (sent > 0) {
      connection.output_begin += static_cast<size_t>(sent);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return true;  // the next EPOLLOUT edge resumes
    } else if (errno != EINTR) {
      if (connection.state == BenchConnection::State::kHandshake) {
        fail_dial(connection, &DialStats::connect_errors, errno);
      } else {
        end_connection(connection, &CloseStats::io_errors);
      }
      return false;
    }
  }
  connection.output_begin = connection.output_end = 0;
  return true;
}

void ClientLoop::on_readable(BenchConnection& connection, uint32_t events) {
  while (connection.fd >= 0) {
    const ssize_t got = ::recv(connection.fd, read_buffer_.get(), kReadBufferBytes, 0);
    if (got > 0) {
      traffic_.socket_bytes_received += static_cast<uint64_t>(got);
      handler_.on_read();
      consume(connection, {read_buffer_.get(), static_cast<size_t>(got)});
      // Edge-triggered: a short read drained the socket, and data arriving later is a new
      // edge, which saves the recv() that would return EAGAIN. But a FIN that was already
      // queued behind the data raises no new edge: then read on until recv() returns 0.
      if (static_cast<size_t>(got) < kReadBufferBytes &&
          (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) {
        break;
      }
    } else if (got == 0) {
      if (connection.state == BenchConnection::State::kHandshake) {
        fail_dial(connection, &DialStats::closed, 0);
      } else if (connection.close_received) {
        // §7.1.1: after both Close frames the server closes TCP first. A close the server
        // started was counted when its Close arrived.
        end_connection(connection, connection.peer_started_close ? nullptr : &CloseStats::clean);
      } else {
        end_connection(connection, &CloseStats::eof);
      }
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (errno != EINTR) {
      if (connection.state == BenchConnection::State::kHandshake) {
        fail_dial(connection, &DialStats::connect_errors, errno);
      } else {
        end_connection(connection, &CloseStats::io_errors);
      }
      return;
    }
  }
  if (connection.fd >= 0) flush(connection);
}

void ClientLoop::fail_dial(BenchConnection& connection, uint64_t DialStats::*counter,
                           int os_error) {
  ++(dial_stats_.*counter);
  if (os_error > 0 && os_error < DialStats::kErrnoMax) ++dial_stats_.errno_counts[os_error];
  --dialing_;
  release(connection);
}

void ClientLoop::end_connection(BenchConnection& connection, uint64_t CloseStats::*counter) {
  // The scenario hears of a connection it did not ask to close, unless a Close from the
  // server already told it (peer_started_close).
  const bool unexpected = !connection.closing_requested && !connection.peer_started_close &&
                          (counter == &CloseStats::eof || counter == &CloseStats::io_errors ||
                           counter == &CloseStats::protocol_errors);
  if (counter != nullptr) ++(close_stats_.*counter);
  --open_count_;
  release(connection);
  if (unexpected) handler_.on_lost(connection);
}

void ClientLoop::release(BenchConnection& connection) {
  // close() also removes the fd from the epoll set.
  if (connection.fd >= 0) ::close(connection.fd);
  if (connection.state == BenchConnection::State::kClosing) --closing_count_;
  connection.fd = -1;
  connection.state = BenchConnection::State::kClosed;
  connection.response.reset();
  connection.parser.reset();
  connection.deflate_window_bits = 0;
  connection.inflate_shared = false;
  connection.pending.clear();
  connection.tls.reset();
  connection.output.reset();
  connection.output_capacity = connection.output_begin = connection.output_end = 0;
}

}  // namespace herald::bench
