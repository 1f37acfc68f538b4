// ClientLoop over TLS: received ciphertext goes through the connection's TlsClientSession into
// the same handshake and frame parsing as plain bytes; queued plaintext is encrypted only once
// the previous ciphertext is on the socket, so the output buffer still pushes back.
#include <sys/socket.h>

#include <cerrno>

#include "clients/cpp/bench/client_loop.h"

namespace herald::bench {

namespace {

constexpr size_t kPlainBufferBytes = 256 * 1024;  // as the read buffer

}  // namespace

void ClientLoop::fail_io(BenchConnection& connection, int os_error) {
  if (connection.state == BenchConnection::State::kHandshake) {
    fail_dial(connection, &DialStats::connect_errors, os_error);
  } else {
    end_connection(connection, &CloseStats::io_errors);
  }
}

// Sends what the socket takes; `sent` counts it. False if the connection failed (released).
bool ClientLoop::send_bytes(BenchConnection& connection, std::span<const uint8_t> bytes,
                            size_t& sent) {
  sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(connection.fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return true;
    } else if (errno != EINTR) {
      fail_io(connection, errno);
      return false;
    }
  }
  return true;
}

bool ClientLoop::flush_tls(BenchConnection& connection) {
  // Two passes at most: the ciphertext already made, then (if it all went) the plaintext
  // queued since, encrypted now.
  for (int pass = 0; pass < 2; ++pass) {
    client::TlsClientSession& tls = *connection.tls;
    std::span<const uint8_t> out = tls.take_output();
    size_t sent = 0;
    if (!send_bytes(connection, out, sent)) return false;
    tls.consume(sent);
    if (sent < out.size()) return true;  // the next EPOLLOUT edge resumes
    if (!tls.handshake_done() || connection.output_begin == connection.output_end) return true;
    std::span<const uint8_t> plaintext{connection.output.get() + connection.output_begin,
                                       connection.output_end - connection.output_begin};
    if (tls.write(plaintext) != client::TlsClientSession::Status::kOk) {
      end_connection(connection, &CloseStats::protocol_errors);
      return false;
    }
    connection.output_begin = connection.output_end = 0;
  }
  return true;
}

void ClientLoop::consume_tls(BenchConnection& connection, std::span<uint8_t> bytes) {
  connection.tls->feed(bytes);
  const bool was_done = connection.tls->handshake_done();
  // Bounded: each read takes a record of what was fed, or stops.
  while (connection.fd >= 0 && connection.tls) {
    size_t plaintext = 0;
    const client::TlsClientSession::Status status =
        connection.tls->read({plain_buffer_.get(), kPlainBufferBytes}, plaintext);
    if (status == client::TlsClientSession::Status::kFailed) {
      if (connection.state == BenchConnection::State::kHandshake) {
        // The alert, if any, is best effort: the connection is released right after.
        flush_tls(connection);
        if (connection.fd >= 0) fail_dial(connection, &DialStats::tls_failures, 0);
      } else {
        end_connection(connection, &CloseStats::protocol_errors);
      }
      return;
    }
    if (status == client::TlsClientSession::Status::kClosed || plaintext == 0) break;
    consume_plain(connection, {plain_buffer_.get(), plaintext});
  }
  // The handshake just finished: the upgrade request can go (on_readable flushes too, but
  // a read that only completed the handshake must not wait for another event).
  if (!was_done && connection.fd >= 0 && connection.tls && connection.tls->handshake_done()) {
    flush_tls(connection);
  }
}

}  // namespace herald::bench
