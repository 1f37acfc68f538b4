// What access checks cost: verifying one token (done once per connection and per refresh,
// never per message) for each algorithm, and the permission check done on every subscribe
// and publish with a token of several patterns.
#include <benchmark/benchmark.h>

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
  std::string error;
  auto verifier = Verifier::from_secret(secret, error);
  run(state, *verifier, testing::hs256_token(secret, kPayload));
}

void BM_VerifyRs256(benchmark::State& state) {
  testing::Key key = testing::make_rsa_key();
  std::string error;
  auto verifier = Verifier::from_public_key_pem(testing::public_pem(key.get()), error);
  run(state, *verifier, testing::key_token(key.get(), "RS256", kPayload));
}

void BM_VerifyEs256(benchmark::State& state) {
  testing::Key key = testing::make_ec_key();
  std::string error;
  auto verifier = Verifier::from_public_key_pem(testing::public_pem(key.get()), error);
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

BENCHMARK(BM_VerifyHs256);
BENCHMARK(BM_VerifyRs256);
BENCHMARK(BM_VerifyEs256);
BENCHMARK(BM_MayPublish);
BENCHMARK(BM_MaySubscribePattern);

}  // namespace
}  // namespace herald::broker::auth
