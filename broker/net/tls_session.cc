// TlsSession: OpenSSL in accept state over two memory BIOs. OpenSSL's error queue is
// per thread; every failure clears it so the next connection is not blamed.
#include "broker/net/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cassert>
#include <climits>

#include "protocol/tls/memory_bio.h"

namespace herald::broker::net {

using protocol::tls::new_memory_bio;

TlsSession::TlsSession(const TlsContext& context) {
  ssl_ = SSL_new(context.native());
  read_bio_ = new_memory_bio();
  write_bio_ = new_memory_bio();
  if (ssl_ == nullptr || read_bio_ == nullptr || write_bio_ == nullptr) {
    // Out of memory: the connection fails its handshake and closes.
    BIO_free(read_bio_);
    BIO_free(write_bio_);
    read_bio_ = write_bio_ = nullptr;
    failed_ = true;
    ERR_clear_error();
    return;
  }
  SSL_set_bio(ssl_, read_bio_, write_bio_);
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::feed(std::span<const uint8_t> ciphertext) {
  if (failed_ || ciphertext.empty()) return;
  // A memory BIO grows as needed; the caller bounds what it feeds (one receive buffer).
  size_t written = 0;
  if (BIO_write_ex(read_bio_, ciphertext.data(), ciphertext.size(), &written) != 1 ||
      written != ciphertext.size()) {
    (void)fail();
  }
}

TlsSession::Status TlsSession::fail() {
  failed_ = true;
  ERR_clear_error();
  return Status::kFailed;
}

TlsSession::Status TlsSession::read(std::span<uint8_t> scratch, size_t& bytes) {
  bytes = 0;
  if (failed_) return Status::kFailed;
  if (closed_) return Status::kClosed;
  if (!handshake_done_) {
    int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return Status::kOk;
      return fail();  // the alert OpenSSL wrote (if any) is in the output
    }
    handshake_done_ = true;
  }
  size_t read = 0;
  if (SSL_read_ex(ssl_, scratch.data(), scratch.size(), &read) == 1) {
    bytes = read;
    return Status::kOk;
  }
  switch (SSL_get_error(ssl_, 0)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Status::kOk;
    case SSL_ERROR_ZERO_RETURN:
      closed_ = true;
      return Status::kClosed;
    default:
      return fail();
  }
}

TlsSession::Status TlsSession::write(std::span<const uint8_t> plaintext) {
  assert(can_write());
  if (plaintext.empty()) return Status::kOk;
  size_t written = 0;
  // A memory BIO never pushes back, so the whole buffer is taken in one call.
  if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written) != 1 ||
      written != plaintext.size()) {
    return fail();
  }
  return Status::kOk;
}

void TlsSession::close_notify() {
  if (!handshake_done_ || failed_) return;
  // 0 means "sent, the peer's has not arrived": we do not wait for it (the TCP linger does).
  if (SSL_shutdown(ssl_) < 0) ERR_clear_error();
}

std::span<const uint8_t> TlsSession::take_output() {
  if (output_sent_ == output_.size()) {
    output_.clear();  // keeps the capacity for the next flush
    output_sent_ = 0;
  }
  if (write_bio_ != nullptr) protocol::tls::append_pending(write_bio_, output_);
  return {output_.data() + output_sent_, output_.size() - output_sent_};
}

void TlsSession::consume(size_t bytes) {
  assert(bytes <= output_.size() - output_sent_);
  output_sent_ += bytes;
}

bool TlsSession::has_output() const {
  return output_sent_ < output_.size() ||
         (write_bio_ != nullptr && BIO_ctrl_pending(write_bio_) > 0);
}

size_t TlsSession::output_bytes() const {
  size_t pending = write_bio_ != nullptr ? BIO_ctrl_pending(write_bio_) : 0;
  return output_.size() - output_sent_ + pending;
}

bool TlsSession::resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

void TlsSession::shrink() {
  if (output_sent_ == output_.size()) {
    std::vector<uint8_t>().swap(output_);
    output_sent_ = 0;
  }
  if (failed_ || read_bio_ == nullptr) return;
  // A memory BIO keeps its largest size after being drained; fresh ones start empty.
  if (BIO_ctrl_pending(read_bio_) == 0) {
    if (BIO* fresh = new_memory_bio(); fresh != nullptr) {
      SSL_set0_rbio(ssl_, fresh);  // frees the old one
      read_bio_ = fresh;
    }
  }
  if (BIO_ctrl_pending(write_bio_) == 0) {
    if (BIO* fresh = new_memory_bio(); fresh != nullptr) {
      SSL_set0_wbio(ssl_, fresh);
      write_bio_ = fresh;
    }
  }
}

}  // namespace herald::broker::net
