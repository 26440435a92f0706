// http::Connection::restore on arbitrary bytes: never crashes, and a restored connection
// saved and restored again behaves exactly like itself (same updates to the end).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "http.h"

using namespace clawtrace::http;

namespace {

std::string finish(Connection& c) {
  std::string r;
  for (const auto& u : c.take_updates()) r += fuzz::dump(u);
  // Whatever the state, a response and a request more, then the end.
  c.feed(Direction::in, 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1000);
  c.feed(Direction::out, 0, "GET / HTTP/1.1\r\n\r\n", 1001);
  c.close(1002);
  for (const auto& u : c.take_updates()) r += fuzz::dump(u);
  fuzz::check(c.save().empty() || c.abandoned(), "nothing pending after close and take");
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view saved(reinterpret_cast<const char*>(data), size);
  Connection a = Connection::restore(saved);
  std::string again = a.save();
  bool abandoned = a.abandoned();
  std::string updates = finish(a);
  if (again.empty()) return 0;  // closed with nothing pending, or fresh: nothing to carry over
  Connection b = Connection::restore(again);
  fuzz::check(abandoned == b.abandoned(), "abandonment survives save/restore");
  fuzz::check_equal(updates, finish(b), "a restored connection saves and restores exactly");
  return 0;
}
