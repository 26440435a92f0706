// The dashboard's page files, compiled into the binary (tools/serve/embed_assets.cmake).
#pragma once

#include <string_view>

namespace clawtrace::serve {

struct Asset {
  std::string_view path;  // "/index.html", "/app.js"…
  std::string_view content_type;
  std::string_view body;
};

const Asset* find_asset(std::string_view path);  // nullptr: no such file

}  // namespace clawtrace::serve
