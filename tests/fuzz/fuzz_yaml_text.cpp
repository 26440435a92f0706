// The TraceCard's YAML scalars (compiler/yaml_text.*) on arbitrary bytes: whatever the
// text, the written document parses (yaml-cpp) and reads back as the same string, plain,
// quoted or inside a flow sequence, with invalid UTF-8 read back as U+FFFD; a double
// from the input's first 8 bytes reads back within 15 significant digits.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "yaml_text.h"

namespace {

// The input with every byte that does not start a valid UTF-8 sequence (or is part of an
// invalid one) replaced by U+FFFD, one per byte: written independently of yaml_text.cpp.
std::string sanitized(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok && n == 3) {
      const auto d = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0);  // overlong, surrogate
    }
    if (ok && n == 4) {
      const auto d = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xF0 && d < 0x90) && !(c == 0xF4 && d >= 0x90);  // overlong, > U+10FFFF
    }
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    out.append(s, i, n);
    i += n;
  }
  return out;
}

[[noreturn]] void fail(const char* what, const std::string& doc) {
  std::fprintf(stderr, "%s\n--- document ---\n%s\n", what, doc.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string doc = "plain: ";
  clawtrace::yaml::append_string(doc, text);
  doc += "\nquoted: ";
  clawtrace::yaml::append_quoted(doc, text);
  doc += "\nflow: [";
  clawtrace::yaml::append_string(doc, text);
  doc += ", x]\nnumber: ";
  double v = 0;
  if (size >= sizeof v) std::memcpy(&v, data, sizeof v);
  clawtrace::yaml::append_double(doc, v);
  doc += '\n';
  YAML::Node y;
  try {
    y = YAML::Load(doc);
  } catch (const std::exception& e) {
    fail(e.what(), doc);
  }
  const std::string want = sanitized(text);
  try {
    if (y["plain"].as<std::string>() != want) fail("plain or quoted scalar read back differently", doc);
    if (y["quoted"].as<std::string>() != want) fail("quoted scalar read back differently", doc);
    if (y["flow"].size() != 2 || y["flow"][0].as<std::string>() != want) fail("flow item read back differently", doc);
    const double back = y["number"].as<double>();
    if (std::isnan(v) ? !std::isnan(back) : std::isinf(v) ? back != v : std::fabs(back - v) > std::fabs(v) * 1e-14)
      fail("number read back differently", doc);
  } catch (const std::exception& e) {
    fail(e.what(), doc);
  }
  return 0;
}
