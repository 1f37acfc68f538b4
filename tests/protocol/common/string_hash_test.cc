// StringHash: tables keyed by std::string answer lookups by string_view, and equal strings
// hash equally whichever type they come in.
#include "protocol/common/string_hash.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace herald::common {
namespace {

TEST(StringHashTest, LooksUpByStringView) {
  StringMap<int> map;
  map.emplace("a.b", 1);
  std::string_view key = "xa.by";
  auto it = map.find(key.substr(1, 3));  // no std::string is built for the lookup
  ASSERT_NE(it, map.end());
  EXPECT_EQ(it->second, 1);
  EXPECT_EQ(map.find(std::string_view("a.c")), map.end());
  StringSet set{"t"};
  EXPECT_TRUE(set.contains(std::string_view("t")));
  EXPECT_EQ(StringHash{}(std::string("t")), StringHash{}(std::string_view("t")));
}

}  // namespace
}  // namespace herald::common
