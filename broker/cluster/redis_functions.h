// The `herald` Redis function library (herald.lua), embedded at build time.
#pragma once

#include <string_view>

namespace herald::broker::cluster {

extern const std::string_view kHeraldFunctions;

}  // namespace herald::broker::cluster
