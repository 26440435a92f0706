// sse::parse and sse::split_lines over a body cut into pieces chosen by the input must give
// what they give over the whole body; event times must follow the pieces' times.
// Input: byte 0 seeds the piece sizes, the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "sse.h"

using namespace clawtrace;

namespace {

std::string dump(const std::vector<sse::Event>& es, bool times) {
  std::string r;
  for (const auto& e : es)
    r += e.event + "|" + e.data + "|" + e.id + (times ? "@" + std::to_string(e.t_ns) : "") + "\n";
  return r;
}

std::string dump(const std::vector<sse::Line>& ls, bool times) {
  std::string r;
  for (const auto& l : ls) r += l.text + (times ? "@" + std::to_string(l.t_ns) : "") + "\n";
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t state = data[0] * 2654435761u + 1;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<http::BodyPiece> whole = {{5, body}}, same_time, timed;
  for (size_t i = 0; i < body.size();) {
    state ^= state << 13, state ^= state >> 17, state ^= state << 5;
    size_t n = 1 + state % (data[0] % 16 + 1);
    same_time.push_back({5, body.substr(i, n)});
    timed.push_back({10 + i, body.substr(i, n)});
    i += n;
  }
  fuzz::check_equal(dump(sse::parse(whole), true), dump(sse::parse(same_time), true),
                    "sse: split changes nothing");
  fuzz::check_equal(dump(sse::split_lines(whole), true), dump(sse::split_lines(same_time), true),
                    "lines: split changes nothing");
  auto events = sse::parse(timed);
  fuzz::check_equal(dump(sse::parse(whole), false), dump(events, false),
                    "sse: times change nothing else");
  for (size_t i = 1; i < events.size(); ++i)
    fuzz::check(events[i - 1].t_ns <= events[i].t_ns, "event times in order");
  auto lines = sse::split_lines(timed);
  for (size_t i = 1; i < lines.size(); ++i)
    fuzz::check(lines[i - 1].t_ns <= lines[i].t_ns, "line times in order");
  return 0;
}
