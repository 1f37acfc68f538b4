// RFC 3986 percent-decoding of a request target's parts (the /publish topic, a ?token=).
// '+' stays '+': it is a topic and base64 character here, not a space.
#pragma once

#include <string>
#include <string_view>

namespace herald::broker::net {

// Decodes `in` into `out`; false on a malformed escape.
inline bool percent_decode(std::string_view in, std::string& out) {
  auto hex_value = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int high = hex_value(in[i + 1]);
    const int low = hex_value(in[i + 2]);
    if (high < 0 || low < 0) return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

}  // namespace herald::broker::net
