// Client-side TLS over memory BIOs, sans-I/O: the caller moves ciphertext between the socket
// and the session, so a blocking client and an epoll load generator can share it. Holds no fd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;
using BIO = struct bio_st;

namespace herald::client {

// Shared by every connection of a client; immutable once created. Any thread.
class TlsClientContext {
 public:
  // Verifies the server against `ca_file` (PEM) or, if empty, the system store; `insecure`
  // skips verification (benchmarks against a throwaway certificate). Offers ALPN http/1.1.
  // Returns null with a one-line cause in `error`.
  [[nodiscard]] static std::shared_ptr<TlsClientContext> create(const std::string& ca_file,
                                                                bool insecure, std::string& error);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  [[nodiscard]] SSL_CTX* native() const { return ctx_; }

 private:
  explicit TlsClientContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// One connection's TLS. Thread: its owner's.
class TlsClientSession {
 public:
  enum class Status : uint8_t { kOk, kClosed, kFailed };

  // `server_name` goes in SNI and is what the certificate must name (a host name or an IP
  // address literal). The ClientHello is in the output at once.
  TlsClientSession(const TlsClientContext& context, const std::string& server_name);
  ~TlsClientSession();
  TlsClientSession(const TlsClientSession&) = delete;
  TlsClientSession& operator=(const TlsClientSession&) = delete;

  void feed(std::span<const uint8_t> ciphertext);
  // Advances the handshake and decrypts into `out`; `bytes` is 0 when more input is needed.
  [[nodiscard]] Status read(std::span<uint8_t> out, size_t& bytes);
  // Encrypts all of `plaintext`. Only once handshake_done().
  [[nodiscard]] Status write(std::span<const uint8_t> plaintext);

  // Ciphertext to send, valid until consume() or the next take_output().
  [[nodiscard]] std::span<const uint8_t> take_output();
  void consume(size_t bytes);

  [[nodiscard]] bool handshake_done() const { return handshake_done_; }
  [[nodiscard]] bool failed() const { return failed_; }
  // Why the handshake failed (certificate verification, protocol), for reports.
  [[nodiscard]] std::string failure() const;

 private:
  Status fail();

  SSL* ssl_ = nullptr;
  BIO* write_bio_ = nullptr;  // owned by ssl_
  std::vector<uint8_t> output_;
  size_t output_sent_ = 0;
  long verify_result_ = 0;
  bool handshake_done_ = false;
  bool failed_ = false;
  bool closed_ = false;
};

}  // namespace herald::client
