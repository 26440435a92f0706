// `clawtrace import`'s line check (store/import_line.*) on arbitrary bytes: never crashes,
// and a line it accepts, printed back in the envelope, is accepted again as the same event.
// Doubles may come back one ulp off: Boost.JSON 1.81 does not parse every printed double
// back to the same bits (its precise mode arrived in 1.83); everything else must be equal.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <cmath>

#include "fuzz_support.h"
#include "import_line.h"

namespace {

bool same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 4e-16 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &p = a.get_array(), &q = b.get_array();
    if (p.size() != q.size()) return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (!same(p[i], q[i])) return false;
    return true;
  }
  if (a.is_object()) {
    const auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size()) return false;
    for (auto i = p.begin(), j = q.begin(); i != p.end(); ++i, ++j)
      if (i->key() != j->key() || !same(i->value(), j->value())) return false;
    return true;
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto e = clawtrace::import_line(line);
  if (!e) {
    fuzz::check(!e.error().empty() && e.error().find('\n') == std::string::npos, "errors are one line");
    return 0;
  }
  const std::string printed = clawtrace::to_json_line(*e);
  auto again = clawtrace::import_line(printed);
  fuzz::check(again.ok(), "an accepted event, printed, is accepted again");
  const std::string reprinted = clawtrace::to_json_line(*again);
  if (!same(boost::json::parse(printed), boost::json::parse(reprinted)))
    fuzz::check_equal(printed, reprinted, "printing is stable");
  return 0;
}
