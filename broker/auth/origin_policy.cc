// Origin matching. Origins are compared case-insensitively (RFC 6454 §6.2 serialises the
// scheme and host in lower case; browsers do, other clients may not). "null" (sandboxed
// frames, file: pages) only matches when the list says "*".
#include "broker/auth/origin_policy.h"

#include <cctype>

namespace herald::broker::auth {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool valid_host_byte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == ':' ||
         c == '[' || c == ']';
}

}  // namespace

common::Status OriginPolicy::parse(std::string_view list) {
  entries_.clear();
  allow_any_ = trim(list) == "*";
  if (allow_any_) return common::Status::ok();
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (item.empty()) continue;
    Entry entry;
    std::string_view rest = item;
    if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
      entry.scheme = lower(rest.substr(0, sep));
      rest = rest.substr(sep + 3);
      if (entry.scheme.empty()) {
        return common::Status::invalid_argument("--allowed-origins: '" + std::string(item) +
                                                "' has an empty scheme");
      }
    }
    if (rest.starts_with("*.")) {
      entry.pattern = true;
      rest.remove_prefix(1);  // keep the dot: "*.example.com" must not match "badexample.com"
    } else if (entry.scheme.empty()) {
      return common::Status::invalid_argument(
          "--allowed-origins: '" + std::string(item) +
          "' needs a scheme (https://host) or a *.domain pattern");
    }
    bool valid = rest.size() > (entry.pattern ? 1u : 0u);
    for (char c : rest) valid = valid && valid_host_byte(c);
    if (!valid) {
      return common::Status::invalid_argument("--allowed-origins: '" + std::string(item) +
                                              "' is not an origin");
    }
    entry.host = lower(rest);
    entries_.push_back(std::move(entry));
  }
  if (entries_.empty()) {
    return common::Status::invalid_argument(
        "--allowed-origins: empty list (use * to allow any origin)");
  }
  return common::Status::ok();
}

bool OriginPolicy::allows(std::string_view origin) const {
  if (origin.empty()) return allow_missing_;
  if (allow_any_) return true;
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string scheme = lower(origin.substr(0, sep));
  const std::string host = lower(origin.substr(sep + 3));
  for (const Entry& entry : entries_) {
    if (!entry.scheme.empty() && entry.scheme != scheme) continue;
    if (!entry.pattern) {
      if (host == entry.host) return true;
      continue;
    }
    // "*.example.com" covers "a.example.com" and "a.b.example.com", with any port, but not
    // "example.com" itself. The suffix match ignores a port, so strip it first.
    std::string_view name = host;
    if (const size_t colon = name.rfind(':');
        colon != std::string_view::npos && name.find(']') == std::string_view::npos) {
      name = name.substr(0, colon);
    }
    if (name.size() > entry.host.size() && name.ends_with(entry.host)) return true;
  }
  return false;
}

}  // namespace herald::broker::auth
