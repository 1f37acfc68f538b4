// What access checks cost: verifying one token (done once per connection and per refresh,
// never per message) for each algorithm, and the permission check done on every subscribe
// and publish with a token of several patterns.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <string>
#include <vector>

#include "broker/auth/jwt.h"
#include "broker/auth/permissions.h"
#include "tests/broker/auth/token_signer.h"

namespace herald::broker::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kPayload =
    R"({"sub":"alice","exp":1900000000,"sub_allow":["prices.nasdaq.>","prices.nyse.*",)"
    R"("news.>","chat.room1","chat.room2"],"pub_allow":["chat.room1","chat.room2"]})";

void run(benchmark::State& state, const Verifier& verifier, const std::string& token) {
  for (auto _ : state) {
    VerifyResult result = verifier.verify(token, kNow);
    if (result.error != TokenError::kNone) state.SkipWithError("token refused");
    benchmark::DoNotOptimize(result);
  }
}

void BM_VerifyHs256(benchmark::State& state) {
  const std::string secret(32, 's');
  auto verifier = Verifier::from_secret(secret).value;
  run(state, *verifier, testing::hs256_token(secret, kPayload));
}

void BM_VerifyRs256(benchmark::State& state) {
  testing::Key key = testing::make_rsa_key();
  auto verifier = Verifier::from_public_key_pem(testing::public_pem(key.get())).value;
  run(state, *verifier, testing::key_token(key.get(), "RS256", kPayload));
}

void BM_VerifyEs256(benchmark::State& state) {
  testing::Key key = testing::make_ec_key();
  auto verifier = Verifier::from_public_key_pem(testing::public_pem(key.get())).value;
  run(state, *verifier, testing::key_token(key.get(), "ES256", kPayload));
}

// The last pattern is the one that allows: the worst case for a five-pattern token.
void BM_MayPublish(benchmark::State& state) {
  const std::vector<std::string> allowed = {"prices.nasdaq.>", "prices.nyse.*", "news.>",
                                            "chat.room1", "chat.room2"};
  for (auto _ : state) benchmark::DoNotOptimize(may_publish(allowed, "chat.room2"));
}

void BM_MaySubscribePattern(benchmark::State& state) {
  const std::vector<std::string> allowed = {"prices.nasdaq.>", "prices.nyse.*", "news.>"};
  for (auto _ : state) benchmark::DoNotOptimize(may_subscribe(allowed, "news.tech.*"));
}

// The HMAC alone, two ways over the same signing input: OpenSSL's one-shot HMAC() (which
// fetches the algorithm and keys a context per call) against copying a context keyed once,
// as Verifier does.
const std::string kSigningInput(200, 'x');

void BM_HmacOneShot(benchmark::State& state) {
  const std::string secret(32, 's');
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int bytes = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(kSigningInput.data()), kSigningInput.size(), mac,
         &bytes);
    benchmark::DoNotOptimize(mac);
  }
}

void BM_HmacKeyedCopy(benchmark::State& state) {
  const std::string secret(32, 's');
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* keyed = EVP_MAC_CTX_new(hmac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                               OSSL_PARAM_construct_end()};
  EVP_MAC_init(keyed, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params);
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t bytes = 0;
  for (auto _ : state) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed);
    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(kSigningInput.data()),
                   kSigningInput.size());
    EVP_MAC_final(ctx, mac, &bytes, sizeof(mac));
    EVP_MAC_CTX_free(ctx);
    benchmark::DoNotOptimize(mac);
  }
  EVP_MAC_CTX_free(keyed);
  EVP_MAC_free(hmac);
}

BENCHMARK(BM_HmacOneShot);
BENCHMARK(BM_HmacKeyedCopy);
BENCHMARK(BM_VerifyHs256);
BENCHMARK(BM_VerifyRs256);
BENCHMARK(BM_VerifyEs256);
BENCHMARK(BM_MayPublish);
BENCHMARK(BM_MaySubscribePattern);

}  // namespace
}  // namespace herald::broker::auth
