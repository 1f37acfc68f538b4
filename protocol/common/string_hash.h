// Transparent hashing for tables keyed by std::string, so that lookups take a string_view
// without building a std::string. The one definition every layer uses.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace herald::common {

// Deliberately not noexcept: libstdc++ then caches each key's hash in its node, and walking a
// bucket compares cached hashes instead of rehashing the neighbouring keys.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

}  // namespace herald::common
