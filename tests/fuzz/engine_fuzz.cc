// Fuzzing of the broker/core engine against the client model of tests/broker/core: the input
// is the run, two bytes a step, then it settles. Prints the first broken rule and traps when
// a client reads a message twice or out of order, misses one untold, or is told wrongly.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "tests/broker/core/engine_simulation.h"

namespace {

constexpr size_t kStepsMax = 4096;

void fail(const std::string& error) {
  std::fprintf(stderr, "engine_fuzz: %s\n", error.c_str());
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  herald::broker::core::model::Simulation simulation;
  for (size_t i = 0; i + 1 < size && i / 2 < kStepsMax; i += 2) {
    if (std::string error = simulation.step(data[i], data[i + 1]); !error.empty()) fail(error);
  }
  if (std::string error = simulation.settle(); !error.empty()) fail(error);
  return 0;
}
