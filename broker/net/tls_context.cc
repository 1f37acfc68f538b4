// TlsContext: PEM loading and the server defaults. OpenSSL errors become one line of text here,
// at the module boundary.
#include "broker/net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>
#include <utility>

#include "protocol/tls/memory_bio.h"

namespace herald::broker::net {

namespace tls = protocol::tls;

namespace {

// ALPN (RFC 7301): WebSocket over TLS is HTTP/1.1 (RFC 6455 §4.1). A client offering only
// other protocols gets no ALPN answer rather than a failed handshake.
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                const unsigned char* in, unsigned int in_length, void* /*arg*/) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof(kHttp11), in, in_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

constexpr unsigned char kSessionIdContext[] = "herald";

common::Result<std::shared_ptr<const TlsContext>> refuse(std::string message) {
  return {common::Status::invalid_argument(std::move(message)), nullptr};
}

}  // namespace

common::Result<std::shared_ptr<const TlsContext>> TlsContext::load(const std::string& cert_path,
                                                                   const std::string& key_path) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return refuse("SSL_CTX_new: " + tls::take_openssl_error());
  }
  std::shared_ptr<const TlsContext> context(new TlsContext(ctx));
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_path.c_str()) != 1) {
    return refuse("cannot load the certificate chain " + cert_path + ": " +
                  tls::take_openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return refuse("cannot load the private key " + key_path +
                  " (or it does not match the certificate " + cert_path +
                  "): " + tls::take_openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return refuse("the key " + key_path + " does not match the certificate " + cert_path + ": " +
                  tls::take_openssl_error());
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // TLS 1.2: ECDHE only (forward secrecy) with AEAD ciphers; TLS 1.3 suites are all modern.
  SSL_CTX_set_cipher_list(ctx,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  // Renegotiation is a denial-of-service lever and WebSocket never needs it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Idle connections give their 16 KiB + 16 KiB record buffers back to the allocator.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  // Resumption: the session cache (TLS 1.2 session ids) and tickets (TLS 1.2 and 1.3, keys per
  // context). One TLS 1.3 ticket instead of OpenSSL's two: a client reconnects one at a time.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, 20000);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_num_tickets(ctx, 1);
  return {common::Status::ok(), std::move(context)};
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace herald::broker::net
