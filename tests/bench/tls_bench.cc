// TLS costs on the broker's side, in memory (no sockets): a full and a resumed handshake of
// TlsSession against an OpenSSL client (only the server's calls are timed, so the figure is
// handshakes per second of one broker core), and encryption of fan-out frames coalesced into
// one record against one record per frame.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <openssl/ssl.h>
#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/net/tls_context.h"
#include "broker/net/tls_session.h"
#include "tests/broker/tls_test_certs.h"

namespace herald::broker::net {
namespace {

// One key, certificate and server context for the whole run.
struct Fixture {
  test_support::TempDir dir;
  EVP_PKEY* key = test_support::new_test_key();
  X509* cert = test_support::new_test_certificate(key);
  std::shared_ptr<const TlsContext> server;
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());

  Fixture() {
    test_support::write_pem_key(dir.file("key.pem"), key);
    test_support::write_pem_certificate(dir.file("cert.pem"), cert);
    server = TlsContext::load(dir.file("cert.pem"), dir.file("key.pem")).value;
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client), cert);
    SSL_CTX_set_verify(client, SSL_VERIFY_PEER, nullptr);
  }
  ~Fixture() {
    SSL_CTX_free(client);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

// The thread's CPU time, not the wall clock: on a shared machine the wall clock counts the
// time other processes ran, and "per core" means per second of CPU.
double thread_cpu_s() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// Runs a handshake to completion; adds the CPU time spent in the server's calls to `server_s`.
// Returns false if it did not complete in 10 flights.
bool handshake(SSL* client, TlsSession& server, double& server_s) {
  std::vector<uint8_t> scratch(16 * 1024);
  std::vector<uint8_t> buffer;
  for (int flight = 0; flight < 10; ++flight) {
    SSL_do_handshake(client);
    BIO* to_server = SSL_get_wbio(client);
    buffer.resize(BIO_ctrl_pending(to_server));
    if (!buffer.empty()) BIO_read(to_server, buffer.data(), static_cast<int>(buffer.size()));
    double start = thread_cpu_s();
    server.feed(buffer);
    size_t bytes = 0;
    TlsSession::Status status = server.read(scratch, bytes);
    std::span<const uint8_t> out = server.take_output();
    server_s += thread_cpu_s() - start;
    if (status == TlsSession::Status::kFailed) return false;
    if (!out.empty()) {
      BIO_write(SSL_get_rbio(client), out.data(), static_cast<int>(out.size()));
      server.consume(out.size());
    }
    if (server.handshake_done() && SSL_is_init_finished(client) == 1) {
      char byte = 0;
      SSL_read(client, &byte, 1);  // takes the TLS 1.3 ticket
      return true;
    }
  }
  return false;
}

SSL* new_client(int version) {
  SSL* ssl = SSL_new(fixture().client);
  SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_connect_state(ssl);
  SSL_set_min_proto_version(ssl, version);
  SSL_set_max_proto_version(ssl, version);
  return ssl;
}

void BM_TlsHandshakeServer(benchmark::State& state) {
  const int version = static_cast<int>(state.range(0));
  const bool resume = state.range(1) != 0;
  SSL_SESSION* session = nullptr;
  if (resume) {
    TlsSession server(*fixture().server);
    SSL* client = new_client(version);
    double ignored = 0;
    if (!handshake(client, server, ignored)) state.SkipWithError("first handshake failed");
    session = SSL_get1_session(client);
    SSL_shutdown(client);
    SSL_free(client);
  }
  for (auto _ : state) {
    double server_s = 0;
    double start = thread_cpu_s();
    TlsSession server(*fixture().server);
    server_s += thread_cpu_s() - start;
    SSL* client = new_client(version);
    if (session != nullptr) SSL_set_session(client, session);
    if (!handshake(client, server, server_s) || server.resumed() != resume) {
      state.SkipWithError("handshake failed or did not resume as asked");
      SSL_free(client);
      break;
    }
    SSL_shutdown(client);
    SSL_free(client);
    state.SetIterationTime(server_s);
  }
  SSL_SESSION_free(session);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsHandshakeServer)
    ->ArgNames({"version", "resume"})
    ->Args({TLS1_3_VERSION, 0})
    ->Args({TLS1_3_VERSION, 1})
    ->Args({TLS1_2_VERSION, 0})
    ->Args({TLS1_2_VERSION, 1})
    ->UseManualTime();

// 256 frames of 64 bytes (a typical fan-out burst): one 16 KiB record, or one record each.
void BM_TlsEncryptFrames(benchmark::State& state) {
  const bool coalesce = state.range(0) != 0;
  TlsSession server(*fixture().server);
  SSL* client = new_client(TLS1_3_VERSION);
  double ignored = 0;
  if (!handshake(client, server, ignored)) state.SkipWithError("handshake failed");
  constexpr size_t kFrames = 256;
  constexpr size_t kFrameBytes = 64;
  std::vector<uint8_t> burst(kFrames * kFrameBytes, 'x');
  for (auto _ : state) {
    if (coalesce) {
      benchmark::DoNotOptimize(server.write(burst));
    } else {
      for (size_t i = 0; i < kFrames; ++i) {
        benchmark::DoNotOptimize(server.write({burst.data() + i * kFrameBytes, kFrameBytes}));
      }
    }
    std::span<const uint8_t> out = server.take_output();
    benchmark::DoNotOptimize(out.data());
    server.consume(out.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kFrames));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * burst.size()));
  SSL_free(client);
}
BENCHMARK(BM_TlsEncryptFrames)->ArgName("coalesced")->Arg(1)->Arg(0);

// Heap bytes an idle TLS connection keeps in its TlsSession (after shrink(), as the broker's
// idle sweep leaves it), counted with mallinfo2 over 1,000 sessions. Not a timing: the figure
// is the "idle_bytes_per_session" counter.
void BM_TlsIdleSessionBytes(benchmark::State& state) {
  constexpr int kSessions = 1000;
  const bool shrink = state.range(0) != 0;
  for (auto _ : state) {
    std::vector<std::unique_ptr<TlsSession>> sessions;
    sessions.reserve(kSessions);
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    for (int i = 0; i < kSessions; ++i) {
      auto server = std::make_unique<TlsSession>(*fixture().server);
      SSL* client = new_client(TLS1_3_VERSION);
      double ignored = 0;
      if (!handshake(client, *server, ignored)) state.SkipWithError("handshake failed");
      SSL_free(client);
      if (shrink) server->shrink();
      sessions.push_back(std::move(server));
    }
    const size_t after = mallinfo2().uordblks;
    state.counters["idle_bytes_per_session"] =
        static_cast<double>(after - before) / static_cast<double>(kSessions);
  }
}
BENCHMARK(BM_TlsIdleSessionBytes)->ArgName("shrunk")->Arg(1)->Arg(0)->Iterations(1);

}  // namespace
}  // namespace herald::broker::net
