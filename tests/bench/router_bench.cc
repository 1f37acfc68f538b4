// Topic router costs: a match must not grow with the subscriptions that do not match, a
// fan-out list is read at memory speed, removals stay O(1) on a crowded topic, and the heap
// bytes each subscription costs.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "broker/core/router.h"

namespace herald::broker::core {
namespace {

using protocol::pubsub::Policy;

constexpr std::string_view kTopic = "prices.nasdaq.AAPL";

// `count` subscriptions none of which matches kTopic: a quarter each of exact topics beside
// it, exact topics elsewhere, patterns beside it, and patterns elsewhere.
void add_non_matching(Router& router, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const std::string id = std::to_string(i);
    const SubscriberId subscriber = 1'000'000 + i;
    std::string filter;
    switch (i % 4) {
      case 0:
        filter = "prices.x" + id + ".AAPL";
        break;
      case 1:
        filter = "t" + id + ".a.b";
        break;
      case 2:
        filter = "prices.x" + id + ".*";
        break;
      default:
        filter = "p" + id + ".*.>";
        break;
    }
    if (!router.subscribe(filter, subscriber, Policy::kDefault)) std::abort();
  }
}

// state.range(0): non-matching subscriptions; state.range(1): 0 when the one matching
// subscription is the exact topic, 1 when it is the pattern "prices.*.AAPL".
void BM_MatchOneAmongMany(benchmark::State& state) {
  Router router;
  add_non_matching(router, static_cast<size_t>(state.range(0)));
  if (!router.subscribe(state.range(1) == 0 ? kTopic : "prices.*.AAPL", 1, Policy::kDefault)) {
    std::abort();
  }
  std::vector<const Subscription*> out;
  for (auto _ : state) {
    out.clear();
    router.match(kTopic, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 1) state.SkipWithError("expected one match");
  state.SetLabel(state.range(1) == 0 ? "exact match" : "pattern match");
}
BENCHMARK(BM_MatchOneAmongMany)
    ->ArgsProduct({{1'000, 10'000, 100'000, 1'000'000}, {0, 1}})
    ->ArgNames({"others", "pattern"});

// state.range(0) subscribers on kTopic, as the exact topic (range(1) == 0) or "prices.>".
void BM_MatchFanout(benchmark::State& state) {
  Router router;
  const auto subscribers = static_cast<SubscriberId>(state.range(0));
  for (SubscriberId subscriber = 0; subscriber < subscribers; ++subscriber) {
    if (!router.subscribe(state.range(1) == 0 ? kTopic : "prices.>", subscriber,
                          Policy::kDefault)) {
      std::abort();
    }
  }
  std::vector<const Subscription*> out;
  for (auto _ : state) {
    out.clear();
    router.match(kTopic, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_MatchFanout)
    ->ArgsProduct({{1'000, 10'000}, {0, 1}})
    ->ArgNames({"subscribers", "pattern"});

// One subscribe plus one unsubscribe of a new filter while 100,000 others are held.
void BM_SubscribeUnsubscribe(benchmark::State& state) {
  Router router;
  add_non_matching(router, 100'000);
  std::vector<std::string> filters;
  for (int i = 0; i < 1024; ++i) {
    filters.push_back(state.range(0) == 0 ? "orders.eu.n" + std::to_string(i)
                                          : "orders.*.n" + std::to_string(i) + ".>");
  }
  size_t next = 0;
  for (auto _ : state) {
    const std::string& filter = filters[next++ % filters.size()];
    benchmark::DoNotOptimize(router.subscribe(filter, 7, Policy::kDefault));
    benchmark::DoNotOptimize(router.unsubscribe(filter, 7));
  }
  state.SetLabel(state.range(0) == 0 ? "exact" : "pattern");
}
BENCHMARK(BM_SubscribeUnsubscribe)->Arg(0)->Arg(1)->ArgName("pattern");

// A mass disconnect: every subscriber of one crowded topic leaves, in random order. Reports
// the time per removal, which stays flat as the topic grows.
void BM_UnsubscribeCrowdedTopic(benchmark::State& state) {
  const auto subscribers = static_cast<SubscriberId>(state.range(0));
  std::vector<SubscriberId> order(subscribers);
  for (SubscriberId i = 0; i < subscribers; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
  for (auto _ : state) {
    state.PauseTiming();
    auto router = std::make_unique<Router>();
    for (SubscriberId subscriber = 0; subscriber < subscribers; ++subscriber) {
      if (!router->subscribe(kTopic, subscriber, Policy::kDefault)) std::abort();
    }
    state.ResumeTiming();
    for (const SubscriberId subscriber : order) {
      benchmark::DoNotOptimize(router->unsubscribe(kTopic, subscriber));
    }
    state.PauseTiming();
    router.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_UnsubscribeCrowdedTopic)
    ->Arg(10'000)
    ->Arg(100'000)
    ->ArgName("subscribers")
    ->Unit(benchmark::kMillisecond);

// Heap bytes per subscription (glibc's count of bytes in use, chunk headers included) for
// 100,000 subscriptions: range(0) 0: distinct exact topics, one subscriber each; 1: one topic,
// 100,000 subscribers; 2: distinct short exact topics, whose names fit std::string's inline
// buffer; 3: distinct patterns "user.<n>.*", one subscriber each.
void BM_MemoryPerSubscription(benchmark::State& state) {
  constexpr size_t kSubscriptions = 100'000;
  for (auto _ : state) {
    const size_t before = mallinfo2().uordblks;
    auto router = std::make_unique<Router>();
    for (size_t i = 0; i < kSubscriptions; ++i) {
      const std::string id = std::to_string(i);
      bool added = false;
      switch (state.range(0)) {
        case 0:
          added = router->subscribe("prices.nasdaq.S" + id, i, Policy::kDefault);
          break;
        case 1:
          added = router->subscribe(kTopic, i, Policy::kDefault);
          break;
        case 2:
          added = router->subscribe("s." + id, i, Policy::kDefault);
          break;
        default:
          added = router->subscribe("user." + id + ".*", i, Policy::kDefault);
          break;
      }
      if (!added) std::abort();
    }
    const size_t after = mallinfo2().uordblks;
    state.counters["bytes_per_subscription"] =
        static_cast<double>(after - before) / static_cast<double>(kSubscriptions);
  }
  static constexpr const char* kLabels[] = {
      "distinct exact topics of ~20 bytes", "one topic, many subscribers",
      "distinct exact topics of <= 15 bytes", "distinct patterns"};
  state.SetLabel(kLabels[state.range(0)]);
}
BENCHMARK(BM_MemoryPerSubscription)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->ArgName("layout")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace herald::broker::core
