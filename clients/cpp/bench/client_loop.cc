// ClientLoop: connection state machine (connect, handshake, open, closing) over edge-triggered
// epoll. Reads go to one shared buffer and are parsed at once; writes go to each connection's
// fixed output buffer and are flushed once per read batch.
#include "clients/cpp/bench/client_loop.h"

#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
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

void DialStats::add(const DialStats& other) {
  attempted += other.attempted;
  opened += other.opened;
  connect_errors += other.connect_errors;
  rejected += other.rejected;
  timeouts += other.timeouts;
  closed += other.closed;
  tls_failures += other.tls_failures;
  if (other.last_http_status != 0) last_http_status = other.last_http_status;
  elapsed_ns = std::max(elapsed_ns, other.elapsed_ns);
  for (int i = 0; i < kErrnoMax; ++i) errno_counts[i] += other.errno_counts[i];
}

void TrafficStats::add(const TrafficStats& other) {
  deflate_connections += other.deflate_connections;
  deflate_refused += other.deflate_refused;
  socket_bytes_received += other.socket_bytes_received;
  frame_bytes_received += other.frame_bytes_received;
  messages_received += other.messages_received;
  message_bytes_received += other.message_bytes_received;
  messages_sent_compressed += other.messages_sent_compressed;
}

void CloseStats::add(const CloseStats& other) {
  peer_closed += other.peer_closed;
  eof += other.eof;
  io_errors += other.io_errors;
  protocol_errors += other.protocol_errors;
  clean += other.clean;
  close_timeouts += other.close_timeouts;
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

void ClientLoop::consume(BenchConnection& connection, std::span<uint8_t> bytes) {
  if (connection.tls) {
    consume_tls(connection, bytes);
  } else {
    consume_plain(connection, bytes);
  }
}

void ClientLoop::consume_plain(BenchConnection& connection, std::span<uint8_t> bytes) {
  if (connection.state == BenchConnection::State::kHandshake) {
    consume_handshake(connection, bytes);
  } else if (connection.state == BenchConnection::State::kOpen ||
             connection.state == BenchConnection::State::kClosing) {
    consume_frames(connection, bytes);
  }
}

void ClientLoop::consume_handshake(BenchConnection& connection, std::span<uint8_t> bytes) {
  const size_t taken = connection.response->feed(bytes);
  switch (connection.response->status()) {
    case ws::ResponseParser::Status::kNeedMore:
      return;
    case ws::ResponseParser::Status::kRejected:
      dial_stats_.last_http_status = connection.response->http_status();
      return fail_dial(connection, &DialStats::rejected, 0);
    case ws::ResponseParser::Status::kAccepted:
      break;
  }
  connection.parser =
      std::make_unique<ws::MessageParser>(ws::Role::kClient, config_.message_bytes_max);
  if (!accept_extensions(connection)) {
    ++traffic_.deflate_refused;
    return fail_dial(connection, &DialStats::rejected, 0);
  }
  connection.response.reset();
  connection.state = BenchConnection::State::kOpen;
  --dialing_;
  ++dial_stats_.opened;
  ++open_count_;
  handler_.on_open(connection);
  // The server may send frames right behind the 101.
  if (taken < bytes.size()) consume_frames(connection, bytes.subspan(taken));
}

bool ClientLoop::accept_extensions(BenchConnection& connection) {
  const ws::DeflateResponse answer = ws::judge_deflate_response(connection.response->extensions());
  if (answer.status == ws::DeflateResponse::Status::kInvalid) return false;  // RFC 7692 §7.1
  if (answer.status == ws::DeflateResponse::Status::kNone) return true;
  ++traffic_.deflate_connections;
  connection.parser->enable_deflate(answer.agreement.server_context_takeover);
  connection.inflate_shared = !answer.agreement.server_context_takeover;
  // zlib cannot compress raw DEFLATE into a 256-byte window: told 8 bits, we send plain.
  const int bits = answer.agreement.client_max_window_bits;
  if (bits < ws::kDeflateWindowBitsMin) return true;
  connection.deflate_window_bits = static_cast<uint8_t>(bits);
  if (deflaters_[bits] == nullptr) {
    deflaters_[bits] =
        std::make_unique<ws::Deflater>(std::clamp(config_.compression.level, 1, 9), bits);
  }
  return true;
}

void ClientLoop::consume_frames(BenchConnection& connection, std::span<uint8_t> bytes) {
  traffic_.frame_bytes_received += bytes.size();
  if (connection.inflate_shared) return read_whole_frames(connection, bytes);
  feed_parser(connection, bytes);
}

namespace {

// Frames larger than this are left to the parser, which streams them.
constexpr uint64_t kWholeFrameBytesMax = 64 << 10;

// The size of the frame at the front of `bytes` once its header has arrived, else 0.
uint64_t frame_size(std::span<const uint8_t> bytes) {
  const std::optional<ws::FrameHeader> header = ws::peek_frame_header(bytes);
  if (!header) return 0;
  return header->payload_bytes > kWholeFrameBytesMax ? UINT64_MAX
                                                     : header->header_bytes + header->payload_bytes;
}

}  // namespace

// Between messages, frames are read whole here (a frame a read cut short waits in `pending`),
// and compressed messages come from the cache; everything else goes through the parser as
// before, which also takes over in the middle of a fragmented message or a large frame.
void ClientLoop::read_whole_frames(BenchConnection& connection, std::span<uint8_t> bytes) {
  std::string& pending = connection.pending;
  while (!bytes.empty() && connection.fd >= 0) {
    if (!connection.parser->at_message_boundary()) return feed_parser(connection, bytes);
    if (!pending.empty()) {
      uint64_t size =
          frame_size({reinterpret_cast<const uint8_t*>(pending.data()), pending.size()});
      if (size == UINT64_MAX) {
        // Only the header was held: the parser streams the rest of the frame.
        std::string held = std::move(pending);
        pending.clear();
        feed_parser(connection, {reinterpret_cast<uint8_t*>(held.data()), held.size()});
        continue;
      }
      // Until the header is whole its length is unknown: a byte at a time (at most 14).
      const size_t take = size == 0 ? 1 : std::min<uint64_t>(bytes.size(), size - pending.size());
      pending.append(reinterpret_cast<const char*>(bytes.data()), take);
      bytes = bytes.subspan(take);
      if (size == 0 || pending.size() < size) continue;
      std::string frame = std::move(pending);
      pending.clear();
      take_frame(connection, {reinterpret_cast<uint8_t*>(frame.data()), frame.size()});
      continue;
    }
    const uint64_t size = frame_size(bytes);
    if (size == UINT64_MAX) return feed_parser(connection, bytes);
    if (size == 0 || size > bytes.size()) {
      pending.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return;
    }
    take_frame(connection, bytes.first(size));
    bytes = bytes.subspan(size);
  }
}

void ClientLoop::take_frame(BenchConnection& connection, std::span<uint8_t> frame) {
  std::optional<ws::FrameHeader> header = ws::read_frame_header(frame);
  if (header && header->fin && header->rsv == 0x40 &&
      (header->opcode == ws::Opcode::kText || header->opcode == ws::Opcode::kBinary)) {
    const std::string* message =
        inflate_cache_.inflate(frame.subspan(header->header_bytes), config_.message_bytes_max);
    if (message != nullptr) {
      ++traffic_.messages_received;
      traffic_.message_bytes_received += message->size();
      handler_.on_message(connection, header->opcode,
                          {reinterpret_cast<const uint8_t*>(message->data()), message->size()});
      return;
    }
  }
  feed_parser(connection, frame);
}

void ClientLoop::feed_parser(BenchConnection& connection, std::span<uint8_t> bytes) {
  using Kind = ws::ParserEvent::Kind;
  connection.parser->receive(bytes);
  while (connection.fd >= 0) {
    const ws::ParserEvent event = connection.parser->next();
    switch (event.kind) {
      case Kind::kNeedMore:
        return;
      case Kind::kText:
      case Kind::kBinary:
        ++traffic_.messages_received;
        traffic_.message_bytes_received += event.payload.size();
        handler_.on_message(connection,
                            event.kind == Kind::kText ? ws::Opcode::kText : ws::Opcode::kBinary,
                            event.payload);
        break;
      case Kind::kPing:
        // §5.5.2, unless our Close is already out (§5.5.1: nothing may follow it).
        if (!connection.close_sent) queue_control(connection, ws::Opcode::kPong, event.payload);
        break;
      case Kind::kPong:
        break;
      case Kind::kClose:
        connection.close_received = true;
        if (!connection.close_sent) {
          // The server started the close: echo its code (§5.5.1) and wait for TCP close.
          connection.peer_started_close = true;
          ++close_stats_.peer_closed;
          handler_.on_lost(connection);
          queue_close(connection, event.code);
        }
        break;
      case Kind::kError:
        // §7.1.7: fail the connection with the code the parser chose, then drop TCP.
        if (!connection.close_sent) queue_close(connection, event.code);
        flush(connection);
        if (connection.fd >= 0) end_connection(connection, &CloseStats::protocol_errors);
        return;
    }
  }
}

uint8_t* ClientLoop::output_tail(BenchConnection& connection, size_t frame_bytes) {
  if (connection.output_end + frame_bytes > connection.output_capacity &&
      connection.output_begin > 0) {
    // Compact: the unsent tail moves to the front. Rare, and bounded by the buffer size.
    std::memmove(connection.output.get(), connection.output.get() + connection.output_begin,
                 connection.output_end - connection.output_begin);
    connection.output_end -= connection.output_begin;
    connection.output_begin = 0;
  }
  if (connection.output_end + frame_bytes > connection.output_capacity) return nullptr;
  return connection.output.get() + connection.output_end;
}

std::span<uint8_t> ClientLoop::begin_frame(BenchConnection& connection, ws::Opcode opcode,
                                           size_t payload_bytes) {
  deflate_connection_ = nullptr;
  if (connection.deflate_window_bits != 0 && payload_bytes >= config_.compression.min_bytes &&
      output_tail(connection, client::client_frame_bytes_max(
                                  ws::Deflater::compressed_bytes_max(payload_bytes))) != nullptr) {
    // Filled here, compressed into the output by end_frame().
    deflate_connection_ = &connection;
    deflate_opcode_ = opcode;
    deflate_input_.resize(payload_bytes);
    return deflate_input_;
  }
  uint8_t* header = output_tail(connection, client::client_frame_bytes_max(payload_bytes));
  if (header == nullptr) return {};
  frame_mask_key_ = mask_keys_.next();
  const size_t header_bytes =
      client::write_client_frame_header(header, opcode, payload_bytes, frame_mask_key_);
  frame_payload_ = {header + header_bytes, payload_bytes};
  connection.output_end += header_bytes + payload_bytes;
  return frame_payload_;
}

void ClientLoop::end_frame() {
  if (deflate_connection_ != nullptr) return end_compressed_frame();
  client::mask_payload(frame_payload_, frame_mask_key_);
}

void ClientLoop::end_compressed_frame() {
  BenchConnection& connection = *deflate_connection_;
  deflate_connection_ = nullptr;
  const size_t bound = ws::Deflater::compressed_bytes_max(deflate_input_.size());
  // begin_frame() made room for the largest frame; compress behind the longest header, then
  // slide the data down to the header its size needs.
  uint8_t* frame = output_tail(connection, client::client_frame_bytes_max(bound));
  uint8_t* data = frame + ws::kClientFrameHeaderBytesMax;
  size_t size = deflaters_[connection.deflate_window_bits]->compress(deflate_input_, {data, bound});
  const bool compressed = size != 0 && size < deflate_input_.size();
  if (!compressed) {  // sent plain (RSV1 clear), as the extension allows per message (§6)
    size = deflate_input_.size();
    std::memcpy(data, deflate_input_.data(), size);
  }
  const uint32_t mask_key = mask_keys_.next();
  const size_t header_bytes =
      client::write_client_frame_header(frame, deflate_opcode_, size, mask_key);
  std::memmove(frame + header_bytes, data, size);
  if (compressed) {
    frame[0] |= client::kRsv1Bit;  // RFC 7692 §6: the message is compressed
    ++traffic_.messages_sent_compressed;
  }
  client::mask_payload({frame + header_bytes, size}, mask_key);
  connection.output_end += header_bytes + size;
}

void ClientLoop::queue_control(BenchConnection& connection, ws::Opcode opcode,
                               std::span<const uint8_t> payload) {
  uint8_t* frame = output_tail(connection, client::client_frame_bytes_max(payload.size()));
  if (frame == nullptr) return;  // the reserve is full: the frame is dropped
  connection.output_end += client::write_client_frame(frame, opcode, payload, mask_keys_.next());
}

void ClientLoop::queue_close(BenchConnection& connection, ws::CloseCode code) {
  // A status code in network byte order (§5.5.1); 1005 means "none" and is sent as empty.
  uint8_t payload[2];
  const auto value = static_cast<uint16_t>(code);
  payload[0] = static_cast<uint8_t>(value >> 8);
  payload[1] = static_cast<uint8_t>(value & 0xFF);
  const bool has_code = code != ws::CloseCode::kNoStatus;
  queue_control(connection, ws::Opcode::kClose, {payload, has_code ? size_t{2} : size_t{0}});
  connection.close_sent = true;
  if (connection.state == BenchConnection::State::kOpen) {
    connection.state = BenchConnection::State::kClosing;
    ++closing_count_;
  }
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
