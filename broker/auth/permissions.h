// What a token lets its holder do (PROTOCOL.md section 10): the patterns it may subscribe
// to and publish to. Pure functions over validated filters; no allocation when checking.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace herald::broker::auth {

// True when every topic `filter` can match is matched by `allowed` (both valid filters,
// protocol::pubsub::check_filter). For a concrete topic this is plain matching.
[[nodiscard]] bool filter_covers(std::string_view allowed, std::string_view filter);

// A subscribe is allowed when one allowed pattern covers the whole filter; a publish when
// one allowed pattern matches the topic.
[[nodiscard]] bool may_subscribe(std::span<const std::string> sub_allow, std::string_view filter);
[[nodiscard]] bool may_publish(std::span<const std::string> pub_allow, std::string_view topic);

}  // namespace herald::broker::auth
