// Pattern coverage, token by token. `*` in the allowed pattern covers any one token of the
// filter, including the filter's own `*`, but not `>` (which can stand for several tokens);
// `>` covers the rest of the filter, whatever it holds, as long as at least one token is left.
#include "broker/auth/permissions.h"

namespace herald::broker::auth {

namespace {

// The next token of `text` (which is advanced past it and its dot).
std::string_view next_token(std::string_view& text) {
  const size_t dot = text.find('.');
  std::string_view token = text.substr(0, dot);
  text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  return token;
}

}  // namespace

bool filter_covers(std::string_view allowed, std::string_view filter) {
  bool allowed_done = allowed.empty();
  bool filter_done = filter.empty();
  while (!allowed_done && !filter_done) {
    const std::string_view a = next_token(allowed);
    const std::string_view f = next_token(filter);
    if (a == ">") return true;  // f is at least one token, and > stands for any number
    if (f == ">") return false;
    if (a != "*" && a != f) return false;
    allowed_done = allowed.empty();
    filter_done = filter.empty();
  }
  return allowed_done && filter_done;
}

bool may_subscribe(std::span<const std::string> sub_allow, std::string_view filter) {
  for (const std::string& allowed : sub_allow) {
    if (filter_covers(allowed, filter)) return true;
  }
  return false;
}

bool may_publish(std::span<const std::string> pub_allow, std::string_view topic) {
  return may_subscribe(pub_allow, topic);
}

}  // namespace herald::broker::auth
