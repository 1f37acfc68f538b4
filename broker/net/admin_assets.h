// The admin page's files (broker/admin/ and the JavaScript client's modules), compiled into the
// broker by broker/admin/embed.cmake: /admin serves them without reading files at run time.
#pragma once

#include <string_view>

namespace herald::broker::net {

struct AdminAsset {
  std::string_view path;  // "/admin", "/admin/admin.js", "/admin/js/client.js", ...
  std::string_view content_type;
  std::string_view body;
};

// The file served at `path`, or null. Static storage: valid for the whole run.
[[nodiscard]] const AdminAsset* find_admin_asset(std::string_view path);

}  // namespace herald::broker::net
