// The Origin allow-list against cross-site WebSocket hijacking (RFC 6455 §10.2). Entries are
// exact origins ("https://app.example.com", port included when not the default) or
// subdomain patterns ("*.example.com" for any scheme, "https://*.example.com" for one). Built
// once from the flag; allows() is const and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/common/status.h"

namespace herald::broker::auth {

class OriginPolicy {
 public:
  // "*" (any origin) or a comma-separated list. Fails with a line naming the bad entry.
  [[nodiscard]] common::Status parse(std::string_view list);

  // `origin` is the Origin header's value, empty when the request had none.
  [[nodiscard]] bool allows(std::string_view origin) const;

  void set_allow_missing(bool allow) { allow_missing_ = allow; }
  [[nodiscard]] bool allow_any() const { return allow_any_; }

 private:
  struct Entry {
    std::string scheme;  // empty: any scheme (only for patterns)
    std::string host;    // lower case; for a pattern, the suffix with its leading dot
    bool pattern = false;
  };

  std::vector<Entry> entries_;
  bool allow_any_ = true;
  bool allow_missing_ = true;
};

}  // namespace herald::broker::auth
