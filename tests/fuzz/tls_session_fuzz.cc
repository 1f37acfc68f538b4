// libFuzzer target for the TLS glue: bytes from a client (a ClientHello, records, garbage) fed
// to a TlsSession in chunks cut by the first input byte, reading after each feed as the broker
// does. Checks that nothing crashes or leaks, that a failure stays a failure, and that no
// plaintext comes out of a handshake that never completed (the fuzzer cannot finish one).
// Built with replay_main.cc it replays the corpus in the ordinary test run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "broker/net/tls_context.h"
#include "broker/net/tls_session.h"
#include "tests/broker/tls_test_certs.h"

namespace {

using herald::broker::net::TlsContext;
using herald::broker::net::TlsSession;

void require(bool condition) {
  if (!condition) std::abort();
}

// One server context for the whole run, from a certificate made at start-up.
const TlsContext& context() {
  static const std::shared_ptr<const TlsContext> instance = [] {
    herald::test_support::TempDir dir;
    EVP_PKEY* key = herald::test_support::new_test_key();
    X509* cert = herald::test_support::new_test_certificate(key);
    require(herald::test_support::write_pem_key(dir.file("key.pem"), key));
    require(herald::test_support::write_pem_certificate(dir.file("cert.pem"), cert));
    X509_free(cert);
    EVP_PKEY_free(key);
    std::shared_ptr<const TlsContext> loaded =
        TlsContext::load(dir.file("cert.pem"), dir.file("key.pem")).value;
    require(loaded != nullptr);
    return loaded;
  }();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  std::span<const uint8_t> input(data + 1, size - 1);
  TlsSession session(context());
  std::vector<uint8_t> scratch(16 * 1024);
  uint32_t state = seed | 1u;
  bool failed = false;
  // Bounded: every pass consumes at least one byte of the input.
  while (!input.empty()) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    const size_t chunk = seed == 0 ? input.size() : 1 + state % 512;
    const std::span<const uint8_t> piece = input.first(std::min(chunk, input.size()));
    input = input.subspan(piece.size());
    session.feed(piece);
    for (int reads = 0; reads < 64; ++reads) {
      size_t plaintext = 0;
      const TlsSession::Status status = session.read(scratch, plaintext);
      require(plaintext == 0 || session.handshake_done());
      require(!failed || status == TlsSession::Status::kFailed);
      if (status == TlsSession::Status::kFailed) failed = true;
      if (status != TlsSession::Status::kOk || plaintext == 0) break;
    }
    const std::span<const uint8_t> out = session.take_output();
    session.consume(out.size() / 2);  // a short send: the rest must stay in place
    const std::span<const uint8_t> rest = session.take_output();
    require(rest.size() >= out.size() - out.size() / 2);
    session.consume(rest.size());
    require(!session.has_output());
    if (seed & 1) session.shrink();
  }
  session.close_notify();
  (void)session.take_output();
  return 0;
}
