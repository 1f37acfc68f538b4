// One seed per run for the randomized tests: HERALD_TEST_SEED replays a failure; otherwise
// each run draws a fresh seed and prints it once, so a failure can always be reproduced.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace herald::test_support {

inline uint64_t test_seed() {
  static const uint64_t seed = [] {
    const char* forced = std::getenv("HERALD_TEST_SEED");
    const uint64_t value = forced != nullptr
                               ? std::strtoull(forced, nullptr, 10)
                               : (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
    std::printf("test seed %llu (set HERALD_TEST_SEED to replay)\n",
                static_cast<unsigned long long>(value));
    return value;
  }();
  return seed;
}

}  // namespace herald::test_support
