// One connection's TLS state over memory BIOs, sans-I/O like the WebSocket Session: ciphertext
// in, plaintext out; plaintext in, ciphertext out. The socket never reaches OpenSSL, so the
// io_uring loop is the same for plain and TLS connections. No fds, threads or clocks here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "broker/net/tls_context.h"

using SSL = struct ssl_st;
using BIO = struct bio_st;

namespace herald::broker::net {

// Thread: the owning connection's worker. Holds its own reference to the SSL_CTX it was made
// from (a reload does not affect it).
class TlsSession {
 public:
  enum class Status : uint8_t {
    kOk,      // progress, or waiting for more ciphertext
    kClosed,  // the peer sent close_notify: no more plaintext will come
    kFailed,  // a fatal alert, a bad record or a failed handshake; any alert is in the output
  };

  explicit TlsSession(const TlsContext& context);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Buffers received ciphertext (copied; `ciphertext` may be reused on return).
  void feed(std::span<const uint8_t> ciphertext);
  // Advances the handshake and decrypts into `scratch` (at least 16 KiB: one record). Sets
  // `bytes` to the plaintext produced, 0 when more ciphertext is needed. Call until it sets 0
  // or returns something other than kOk.
  [[nodiscard]] Status read(std::span<uint8_t> scratch, size_t& bytes);
  // Encrypts all of `plaintext` into the output. Only once can_write().
  [[nodiscard]] Status write(std::span<const uint8_t> plaintext);
  // Queues close_notify (RFC 8446 §6.1) after what is already written; a no-op before the
  // handshake completed or after a failure.
  void close_notify();

  // Ciphertext to send: moves what OpenSSL produced into the send buffer and returns all of it
  // that is not yet consumed. The bytes stay valid and in place until consume(); call again
  // only when no send covers them (it may reallocate).
  [[nodiscard]] std::span<const uint8_t> take_output();
  // Acknowledges `bytes` sent from the front of take_output()'s bytes.
  void consume(size_t bytes);
  [[nodiscard]] bool has_output() const;
  // Ciphertext waiting (sent or not yet taken), for the connection's queued-bytes bound.
  [[nodiscard]] size_t output_bytes() const;

  [[nodiscard]] bool handshake_done() const { return handshake_done_; }
  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] bool can_write() const { return handshake_done_ && !failed_ && !closed_; }
  // True when the handshake resumed an earlier session (ticket or session id).
  [[nodiscard]] bool resumed() const;

  // Gives back the send buffer and the BIOs' memory when nothing is pending (an idle
  // connection keeps only the SSL object, its records already released by OpenSSL).
  void shrink();

 private:
  [[nodiscard]] Status fail();

  SSL* ssl_ = nullptr;
  BIO* read_bio_ = nullptr;   // owned by ssl_
  BIO* write_bio_ = nullptr;  // owned by ssl_
  std::vector<uint8_t> output_;
  size_t output_sent_ = 0;  // bytes of output_ already consumed
  bool handshake_done_ = false;
  bool failed_ = false;
  bool closed_ = false;
};

}  // namespace herald::broker::net
