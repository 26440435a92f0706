// Helpers shared by the fuzz targets: oracle checks that abort (so libFuzzer reports them),
// and a full textual dump of HTTP updates for comparing runs.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "http.h"

namespace fuzz {

inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz oracle failed: %s\n", what);
  std::abort();
}

// Prints both whole (they may hold NUL bytes) and where they first differ.
inline void check_equal(const std::string& a, const std::string& b, const char* what) {
  if (a == b) return;
  size_t at = 0;
  while (at < a.size() && at < b.size() && a[at] == b[at]) ++at;
  std::fprintf(stderr, "fuzz oracle failed: %s (first difference at byte %zu)\n--- expected\n", what, at);
  std::fwrite(a.data(), 1, a.size(), stderr);
  std::fprintf(stderr, "\n--- got\n");
  std::fwrite(b.data(), 1, b.size(), stderr);
  std::fprintf(stderr, "\n");
  std::abort();
}

inline std::string dump(const std::vector<clawtrace::http::Header>& hs) {
  std::string r;
  for (const auto& h : hs) r += h.name + "=" + h.value + ";";
  return r;
}

inline bool decoding_error(const std::string& e) {
  return e.rfind("content decoding failed", 0) == 0 || e.rfind("decoded body larger than", 0) == 0;
}

// Everything an update carries. `exact` false blurs what a failed content decoding produced
// (how much comes out, and whether the cap or the corruption is hit first, depends on how the
// input was split: libzstd decodes a whole frame at once differently).
inline std::string dump(const clawtrace::http::Update& u, bool exact = true) {
  using clawtrace::http::Update;
  const auto& e = u.exchange;
  const auto& q = e.request;
  auto blur = [&](const std::string& err) { return !exact && decoding_error(err); };
  auto error = [&](const std::string& err) { return blur(err) ? std::string("<decoding>") : err; };
  std::string r = (u.kind == Update::Kind::request ? "REQ " : "EXC ") + std::to_string(e.index) +
                  " " + q.method + " " + q.target + " " + q.version + " {" + dump(q.headers) +
                  "} " + (blur(q.error) ? "?" : q.body) + " w" + std::to_string(q.wire_bytes) +
                  " t" + std::to_string(q.t_start_ns) + "-" + std::to_string(q.t_end_ns) +
                  " e:" + error(q.error);
  if (e.response) {
    const auto& s = *e.response;
    r += " | " + std::to_string(s.status) + " " + s.reason + " {" + dump(s.headers) + "} ";
    if (!blur(s.error))
      for (const auto& p : s.body) r += std::to_string(p.t_ns) + ":" + p.bytes + ",";
    r += " w" + std::to_string(s.wire_bytes) + " t" + std::to_string(s.t_first_byte_ns) + "-" +
         std::to_string(s.t_end_ns) + " c" + std::to_string(s.complete) + " e:" + error(s.error);
  }
  return r + " x:" + error(e.error) + "\n";
}

}  // namespace fuzz
