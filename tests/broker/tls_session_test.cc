// TlsSession and TlsContext against a real OpenSSL client over memory: handshake, ALPN,
// records both ways, resumption, close_notify, bad input, and refused PEM files. The test
// certificates are made here with the OpenSSL API (a fresh key each run).
#include "broker/net/tls_session.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "broker/net/tls_context.h"
#include "tests/broker/tls_test_certs.h"
#include "tests/test_seed.h"

namespace herald::broker::net {
namespace {

using test_support::new_test_certificate;
using test_support::new_test_key;
using test_support::TempDir;

void write_key(const std::string& path, EVP_PKEY* key) {
  ASSERT_TRUE(test_support::write_pem_key(path, key)) << path;
}

void write_cert(const std::string& path, X509* cert) {
  ASSERT_TRUE(test_support::write_pem_certificate(path, cert)) << path;
}

class TlsSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = new_test_key();
    cert_ = new_test_certificate(key_);
    write_key(dir_.file("key.pem"), key_);
    write_cert(dir_.file("cert.pem"), cert_);
    auto loaded = TlsContext::load(dir_.file("cert.pem"), dir_.file("key.pem"));
    ASSERT_TRUE(loaded.status.is_ok()) << loaded.status.message();
    context_ = std::move(loaded.value);
    client_ctx_ = SSL_CTX_new(TLS_client_method());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx_), cert_);
    SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_PEER, nullptr);
  }
  void TearDown() override {
    SSL_CTX_free(client_ctx_);
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }

  // A client SSL over memory BIOs, expecting "localhost" and offering ALPN.
  SSL* new_client(int max_version = TLS1_3_VERSION) {
    SSL* ssl = SSL_new(client_ctx_);
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(ssl);
    SSL_set1_host(ssl, "localhost");
    SSL_set_max_proto_version(ssl, max_version);
    static const unsigned char kAlpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(ssl, kAlpn, sizeof(kAlpn));
    return ssl;
  }

  // Moves bytes both ways until neither side has anything to say (bounded), collecting the
  // server's plaintext.
  void pump(SSL* client, TlsSession& server, std::string& server_plaintext,
            TlsSession::Status& last) {
    std::vector<uint8_t> scratch(16 * 1024);
    for (int round = 0; round < 20; ++round) {
      SSL_do_handshake(client);
      bool moved = false;
      BIO* to_server = SSL_get_wbio(client);
      std::vector<uint8_t> buffer(BIO_ctrl_pending(to_server));
      if (!buffer.empty()) {
        BIO_read(to_server, buffer.data(), static_cast<int>(buffer.size()));
        server.feed(buffer);
        moved = true;
      }
      for (int reads = 0; reads < 100; ++reads) {
        size_t bytes = 0;
        last = server.read(scratch, bytes);
        if (last != TlsSession::Status::kOk || bytes == 0) break;
        server_plaintext.append(reinterpret_cast<char*>(scratch.data()), bytes);
      }
      std::span<const uint8_t> out = server.take_output();
      if (!out.empty()) {
        BIO_write(SSL_get_rbio(client), out.data(), static_cast<int>(out.size()));
        server.consume(out.size());
        moved = true;
      }
      if (!moved) return;
    }
    FAIL() << "the handshake did not settle in 20 rounds";
  }

  static std::string client_read(SSL* client) {
    std::string text;
    char buffer[4096];
    for (int i = 0; i < 1000; ++i) {
      int n = SSL_read(client, buffer, sizeof(buffer));
      if (n <= 0) break;
      text.append(buffer, static_cast<size_t>(n));
    }
    return text;
  }

  TempDir dir_;
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::shared_ptr<const TlsContext> context_;
  SSL_CTX* client_ctx_ = nullptr;
};

TEST_F(TlsSessionTest, HandshakeAlpnAndRecordsBothWays) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    TlsSession server(*context_);
    SSL* client = new_client(version);
    std::string received;
    TlsSession::Status status = TlsSession::Status::kOk;
    pump(client, server, received, status);
    ASSERT_EQ(status, TlsSession::Status::kOk);
    ASSERT_TRUE(server.handshake_done());
    ASSERT_EQ(SSL_is_init_finished(client), 1);
    EXPECT_EQ(SSL_version(client), version);
    const unsigned char* alpn = nullptr;
    unsigned int alpn_length = 0;
    SSL_get0_alpn_selected(client, &alpn, &alpn_length);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(alpn), alpn_length), "http/1.1");

    std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    ASSERT_EQ(SSL_write(client, request.data(), static_cast<int>(request.size())),
              static_cast<int>(request.size()));
    pump(client, server, received, status);
    EXPECT_EQ(received, request);

    // A frame larger than one record, then small ones: all arrive in order.
    std::string big(40000, 'x');
    ASSERT_TRUE(server.can_write());
    ASSERT_EQ(server.write({reinterpret_cast<const uint8_t*>(big.data()), big.size()}),
              TlsSession::Status::kOk);
    ASSERT_EQ(server.write({reinterpret_cast<const uint8_t*>("yz"), 2}), TlsSession::Status::kOk);
    EXPECT_GT(server.output_bytes(), big.size());
    pump(client, server, received, status);
    EXPECT_EQ(client_read(client), big + "yz");
    EXPECT_EQ(server.output_bytes(), 0u);

    // close_notify from the server reaches the client as a clean end.
    server.close_notify();
    pump(client, server, received, status);
    char byte = 0;
    EXPECT_LE(SSL_read(client, &byte, 1), 0);
    EXPECT_EQ(SSL_get_error(client, 0), SSL_ERROR_ZERO_RETURN);
    SSL_free(client);
  }
}

TEST_F(TlsSessionTest, ClientCloseNotifyEndsTheSession) {
  TlsSession server(*context_);
  SSL* client = new_client();
  std::string received;
  TlsSession::Status status = TlsSession::Status::kOk;
  pump(client, server, received, status);
  ASSERT_TRUE(server.handshake_done());
  SSL_shutdown(client);
  pump(client, server, received, status);
  EXPECT_EQ(status, TlsSession::Status::kClosed);
  EXPECT_FALSE(server.can_write());
  SSL_free(client);
}

TEST_F(TlsSessionTest, ResumesWithATicketOrSessionId) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    SSL_SESSION* saved = nullptr;
    for (int attempt = 0; attempt < 2; ++attempt) {
      TlsSession server(*context_);
      SSL* client = new_client(version);
      if (saved != nullptr) SSL_set_session(client, saved);
      std::string received;
      TlsSession::Status status = TlsSession::Status::kOk;
      pump(client, server, received, status);
      ASSERT_TRUE(server.handshake_done());
      // TLS 1.3 tickets arrive after the handshake: a read lets the client take them.
      char byte = 0;
      SSL_read(client, &byte, 1);
      EXPECT_EQ(server.resumed(), attempt == 1);
      EXPECT_EQ(SSL_session_reused(client), attempt == 1 ? 1 : 0);
      if (saved == nullptr) saved = SSL_get1_session(client);
      // A client freed without close_notify marks its session not resumable (OpenSSL's
      // ssl_clear_bad_session), as a real client would by aborting.
      SSL_shutdown(client);
      SSL_free(client);
    }
    SSL_SESSION_free(saved);
  }
}

TEST_F(TlsSessionTest, GarbageFailsTheHandshakeWithoutCrashing) {
  uint64_t seed = test_support::test_seed();
  std::mt19937_64 random(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int round = 0; round < 200; ++round) {
    TlsSession server(*context_);
    std::vector<uint8_t> scratch(16 * 1024);
    TlsSession::Status status = TlsSession::Status::kOk;
    // Bounded: at most 32 chunks of garbage; most fail at the first record header.
    for (int chunk = 0; chunk < 32 && status == TlsSession::Status::kOk; ++chunk) {
      std::vector<uint8_t> bytes(1 + random() % 600);
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(random());
      if (round % 2 == 0) bytes[0] = 0x16;  // looks like a handshake record
      server.feed(bytes);
      size_t plaintext = 0;
      status = server.read(scratch, plaintext);
      EXPECT_EQ(plaintext, 0u);
    }
    EXPECT_FALSE(server.handshake_done());
    (void)server.take_output();  // any alert
    server.shrink();
  }
}

TEST_F(TlsSessionTest, ShrinkKeepsAnIdleSessionWorking) {
  TlsSession server(*context_);
  SSL* client = new_client();
  std::string received;
  TlsSession::Status status = TlsSession::Status::kOk;
  pump(client, server, received, status);
  ASSERT_TRUE(server.handshake_done());
  server.shrink();
  std::string text = "after shrink";
  SSL_write(client, text.data(), static_cast<int>(text.size()));
  pump(client, server, received, status);
  EXPECT_EQ(received, text);
  ASSERT_EQ(server.write({reinterpret_cast<const uint8_t*>("ok"), 2}), TlsSession::Status::kOk);
  pump(client, server, received, status);
  EXPECT_EQ(client_read(client), "ok");
  SSL_free(client);
}

TEST_F(TlsSessionTest, LoadRefusesMissingAndMismatchedFiles) {
  // The message of a load that must fail, with the context left null.
  auto refused = [](const std::string& cert, const std::string& key) {
    auto loaded = TlsContext::load(cert, key);
    EXPECT_EQ(loaded.status.code(), common::Status::Code::kInvalidArgument);
    EXPECT_EQ(loaded.value, nullptr);
    return loaded.status.message();
  };
  std::string error = refused(dir_.file("absent.pem"), dir_.file("key.pem"));
  EXPECT_NE(error.find("certificate"), std::string::npos) << error;

  EVP_PKEY* other = new_test_key();
  write_key(dir_.file("other_key.pem"), other);
  EVP_PKEY_free(other);
  error = refused(dir_.file("cert.pem"), dir_.file("other_key.pem"));
  EXPECT_NE(error.find("private key"), std::string::npos) << error;

  FILE* f = std::fopen(dir_.file("junk.pem").c_str(), "w");
  std::fputs("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", f);
  std::fclose(f);
  EXPECT_FALSE(refused(dir_.file("junk.pem"), dir_.file("key.pem")).empty());
}

TEST_F(TlsSessionTest, SlotPublishesANewContextAndKeepsTheOldAlive) {
  TlsContextSlot slot(context_);
  uint64_t before = slot.generation();
  TlsSession kept(*slot.current());
  std::shared_ptr<const TlsContext> fresh =
      TlsContext::load(dir_.file("cert.pem"), dir_.file("key.pem")).value;
  ASSERT_TRUE(fresh);
  slot.publish(fresh);
  context_.reset();  // the old context's last shared owner here; the SSL keeps its SSL_CTX
  EXPECT_NE(slot.generation(), before);
  EXPECT_EQ(slot.current().get(), fresh.get());
  SSL* client = new_client();
  std::string received;
  TlsSession::Status status = TlsSession::Status::kOk;
  pump(client, kept, received, status);
  EXPECT_TRUE(kept.handshake_done());
  SSL_free(client);
}

}  // namespace
}  // namespace herald::broker::net
