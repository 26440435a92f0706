// `clawtrace score --outcomes FILE` (costcraft/outcomes.*) on arbitrary bytes: never crashes;
// an error is one line naming its place; every accepted entry has a selector, a finite Q in
// [0,1] and a place.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "outcomes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = clawtrace::costcraft::parse_outcomes(text, "f");
  if (!entries) {
    fuzz::check(entries.error().rfind("f", 0) == 0 && entries.error().find('\n') == std::string::npos,
                "errors are one line, naming the file");
    return 0;
  }
  fuzz::check(!entries->empty(), "an accepted file has entries");
  for (const auto& e : *entries) {
    fuzz::check(!e.selector.empty(), "every entry selects something");
    fuzz::check(std::isfinite(e.quality) && e.quality >= 0 && e.quality <= 1, "Q is in [0,1]");
    fuzz::check(e.where.rfind("f", 0) == 0, "every entry knows its place");
  }
  return 0;
}
