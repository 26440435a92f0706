# Writes OUTPUT, a C++ source holding the bytes of INPUT (the bundled price table), so an
# installed clawtrace needs no data directory. Run with cmake -DINPUT=… -DOUTPUT=… -P.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){24})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp" "// Generated from compiler/data/prices.json by compiler/embed.cmake. Do not edit.
#include <cstddef>
#include <string_view>

namespace clawtrace::pricing::detail {
namespace {
const unsigned char kPrices[] = {
${bytes}
0};
}  // namespace
std::string_view builtin_prices_json() {
  return {reinterpret_cast<const char*>(kPrices), ${size}};
}
}  // namespace clawtrace::pricing::detail
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
