# Writes OUTPUT, a C++ source holding the dashboard's page files (NAMES, comma-separated,
# each NAME under DIR or NAME=PATH for a file from elsewhere, e.g. the chart library npm
# installed in the build directory), so an installed clawtrace serves them with no data
# directory. Run with cmake -DDIR=… -DNAMES=a,b=/x/b -DOUTPUT=… -P.
string(REPLACE "," ";" names "${NAMES}")
set(arrays "")
set(table "")
set(index 0)
foreach(entry IN LISTS names)
  if(entry MATCHES "^([^=]+)=(.+)$")
    set(name "${CMAKE_MATCH_1}")
    set(path "${CMAKE_MATCH_2}")
  else()
    set(name "${entry}")
    set(path "${DIR}/${entry}")
  endif()
  file(READ "${path}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){24})" "\\1\n" bytes "${bytes}")
  get_filename_component(ext "${name}" LAST_EXT)
  set(type "application/octet-stream")
  if(ext STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(ext STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  elseif(ext STREQUAL ".svg")
    set(type "image/svg+xml")
  endif()
  string(APPEND arrays "const unsigned char kFile${index}[] = {\n${bytes}\n0};\n")
  string(APPEND table "    {\"/${name}\", \"${type}\", {reinterpret_cast<const char*>(kFile${index}), ${size}}},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from tools/serve/web by tools/serve/embed_assets.cmake. Do not edit.
#include \"assets.h\"

namespace clawtrace::serve {
namespace {
${arrays}
const Asset kAssets[] = {
${table}};
}  // namespace

const Asset* find_asset(std::string_view path) {
  for (const Asset& a : kAssets)
    if (a.path == path) return &a;
  return nullptr;
}
}  // namespace clawtrace::serve
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
