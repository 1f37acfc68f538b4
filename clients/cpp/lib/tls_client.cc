// TlsClientContext and TlsClientSession: OpenSSL in connect state over memory BIOs.
#include "clients/cpp/lib/tls_client.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "protocol/tls/memory_bio.h"

namespace herald::client {

namespace {

bool is_ip_literal(const std::string& name) {
  unsigned char address[16];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

}  // namespace

std::shared_ptr<TlsClientContext> TlsClientContext::create(const std::string& ca_file,
                                                           bool insecure, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = "SSL_CTX_new: " + protocol::tls::take_openssl_error();
    return nullptr;
  }
  std::shared_ptr<TlsClientContext> context(new TlsClientContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn));
  if (insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return context;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                               : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    error = "cannot load the CA file " + ca_file + ": " + protocol::tls::take_openssl_error();
    return nullptr;
  }
  return context;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

TlsClientSession::TlsClientSession(const TlsClientContext& context,
                                   const std::string& server_name) {
  ssl_ = SSL_new(context.native());
  BIO* read_bio = protocol::tls::new_memory_bio();
  write_bio_ = protocol::tls::new_memory_bio();
  if (ssl_ == nullptr || read_bio == nullptr || write_bio_ == nullptr) {
    BIO_free(read_bio);
    BIO_free(write_bio_);
    write_bio_ = nullptr;
    (void)fail();
    return;
  }
  SSL_set_bio(ssl_, read_bio, write_bio_);
  SSL_set_connect_state(ssl_);
  if (is_ip_literal(server_name)) {
    // RFC 6066: no SNI for an address; the certificate must carry it as an IP SAN.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name.c_str());
  } else {
    // SSL_set_tlsext_host_name is a macro with a C cast; this is its body.
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server_name.c_str()));
    SSL_set1_host(ssl_, server_name.c_str());
  }
  size_t ignored = 0;
  (void)read({}, ignored);  // the ClientHello
}

TlsClientSession::~TlsClientSession() { SSL_free(ssl_); }

TlsClientSession::Status TlsClientSession::fail() {
  failed_ = true;
  if (ssl_ != nullptr) verify_result_ = SSL_get_verify_result(ssl_);
  ERR_clear_error();
  return Status::kFailed;
}

std::string TlsClientSession::failure() const {
  if (!failed_) return "";
  if (verify_result_ != X509_V_OK) {
    return std::string("certificate verification failed: ") +
           X509_verify_cert_error_string(verify_result_);
  }
  return "TLS handshake or record failure";
}

void TlsClientSession::feed(std::span<const uint8_t> ciphertext) {
  if (failed_ || ciphertext.empty()) return;
  size_t written = 0;
  if (BIO_write_ex(SSL_get_rbio(ssl_), ciphertext.data(), ciphertext.size(), &written) != 1) {
    (void)fail();
  }
}

TlsClientSession::Status TlsClientSession::read(std::span<uint8_t> out, size_t& bytes) {
  bytes = 0;
  if (failed_) return Status::kFailed;
  if (closed_) return Status::kClosed;
  if (!handshake_done_) {
    int rc = SSL_do_handshake(ssl_);
    if (rc != 1) {
      int error = SSL_get_error(ssl_, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return Status::kOk;
      return fail();
    }
    handshake_done_ = true;
  }
  if (out.empty()) return Status::kOk;
  size_t got = 0;
  if (SSL_read_ex(ssl_, out.data(), out.size(), &got) == 1) {
    bytes = got;
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

TlsClientSession::Status TlsClientSession::write(std::span<const uint8_t> plaintext) {
  if (failed_ || !handshake_done_) return Status::kFailed;
  if (plaintext.empty()) return Status::kOk;
  size_t written = 0;
  if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written) != 1 ||
      written != plaintext.size()) {
    return fail();
  }
  return Status::kOk;
}

std::span<const uint8_t> TlsClientSession::take_output() {
  if (output_sent_ == output_.size()) {
    output_.clear();
    output_sent_ = 0;
  }
  if (write_bio_ != nullptr) protocol::tls::append_pending(write_bio_, output_);
  return {output_.data() + output_sent_, output_.size() - output_sent_};
}

void TlsClientSession::consume(size_t bytes) { output_sent_ += bytes; }

}  // namespace herald::client
