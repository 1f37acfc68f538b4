// The server's TLS configuration: one OpenSSL SSL_CTX built from PEM files (certificate chain
// and key), shared by every connection accepted with it, and the slot through which a reload
// (SIGHUP) publishes a new one. Does no I/O beyond reading the two files at load.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "protocol/common/status.h"

using SSL_CTX = struct ssl_ctx_st;

namespace herald::broker::net {

// Immutable once loaded. SSL objects made from it hold their own reference to the SSL_CTX,
// so a connection outlives a reload that drops this object.
class TlsContext {
 public:
  // Reads the chain and key, checks that they match, and sets the defaults: TLS 1.2 and 1.3,
  // forward-secret AEAD suites for 1.2, ALPN http/1.1, a server-side session cache and
  // session tickets. Fails with a one-line cause (invalid_argument: a file is missing, not
  // PEM, or the key does not match).
  [[nodiscard]] static common::Result<std::shared_ptr<const TlsContext>> load(
      const std::string& cert_path, const std::string& key_path);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  [[nodiscard]] SSL_CTX* native() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// The current context. Written by the thread that handles SIGHUP, read by workers: a worker
// compares generation() (one relaxed load) on each accept and takes the new context only when
// it changed, so the hot path takes no lock. Existing connections keep the context they had.
class TlsContextSlot {
 public:
  explicit TlsContextSlot(std::shared_ptr<const TlsContext> initial)
      : context_(std::move(initial)) {}

  void publish(std::shared_ptr<const TlsContext> context) {
    std::lock_guard lock(mutex_);
    context_ = std::move(context);
    generation_.fetch_add(1, std::memory_order_release);
  }
  [[nodiscard]] std::shared_ptr<const TlsContext> current() const {
    std::lock_guard lock(mutex_);
    return context_;
  }
  [[nodiscard]] uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsContext> context_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace herald::broker::net
