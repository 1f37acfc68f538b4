// Seeded random runs of the engine model (engine_simulation.h) over the core classes, each
// client checked against the naive reference. A failure prints its seed;
// HERALD_MODEL_SEED=N runs that one seed alone and prints every step.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "tests/broker/core/engine_simulation.h"
#include "tests/test_seed.h"

namespace herald::broker::core::model {
namespace {

constexpr int kSteps = 400;
constexpr uint64_t kRuns = 10000;

// One run; an empty string when every check held.
std::string run(uint64_t seed, bool trace) {
  std::mt19937_64 random(seed);
  Simulation simulation(trace);
  for (int i = 0; i < kSteps; ++i) {
    const auto op = static_cast<uint8_t>(random());
    const auto arg = static_cast<uint8_t>(random());
    if (std::string error = simulation.step(op, arg); !error.empty()) {
      return "step " + std::to_string(i) + ": " + error;
    }
  }
  return simulation.settle();
}

TEST(EngineModelTest, RandomRunsKeepEveryMessageOnceInOrderOrTold) {
  if (const char* forced = std::getenv("HERALD_MODEL_SEED")) {
    const uint64_t seed = std::strtoull(forced, nullptr, 10);
    const std::string error = run(seed, true);
    EXPECT_TRUE(error.empty()) << "seed " << seed << ": " << error;
    return;
  }
  const uint64_t base = test_support::test_seed();
  for (uint64_t i = 0; i < kRuns; ++i) {
    const uint64_t seed = base + i;
    const std::string error = run(seed, false);
    ASSERT_TRUE(error.empty()) << "seed " << seed << " (HERALD_MODEL_SEED=" << seed
                               << " replays it): " << error;
  }
}

}  // namespace
}  // namespace herald::broker::core::model
