// "<prefix><n>" for the cluster tests' topics and messages. Built with append: GCC 12 warns
// falsely (-Wrestrict) on "literal" + std::to_string(n).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald::broker::cluster {

inline std::string numbered(std::string_view prefix, uint64_t n) {
  std::string text(prefix);
  text.append(std::to_string(n));
  return text;
}

}  // namespace herald::broker::cluster
