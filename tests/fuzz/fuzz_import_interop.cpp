// The interop converters (store/import_interop.h) on arbitrary bytes: never crash, errors
// one line each and one per rejected line, every event in a session and well-typed.
// Input: up to four files separated by NUL bytes, each split into lines; the first file
// also goes through the plugin and OTLP converters and format detection.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "import_interop.h"

namespace {

clawtrace::SourceFile file_of(std::string_view bytes, int n) {
  clawtrace::SourceFile f;
  f.name = "agents/main/sessions/f" + std::to_string(n) + ".jsonl";
  uint64_t line = 0;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    f.lines.push_back({++line, std::string(bytes.substr(0, nl)), nl == std::string_view::npos});
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
  }
  return f;
}

void check(const clawtrace::Converted& c) {
  fuzz::check(c.problems.size() == c.rejected, "one problem per rejected line");
  for (const auto& p : c.problems) fuzz::check(!p.empty() && p.find('\n') == std::string::npos, "problems are one line");
  for (const auto& e : c.events) {
    fuzz::check(!e.session.empty(), "every event has a session");
    fuzz::check(!e.span.empty(), "every event has a span");
    const auto line = clawtrace::to_json_line(e);
    fuzz::check(clawtrace::event_from_json_line(line).ok(), "every event prints as a valid envelope");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<clawtrace::SourceFile> files;
  while (files.size() < 4) {
    const size_t nul = in.find('\0');
    files.push_back(file_of(in.substr(0, nul), static_cast<int>(files.size())));
    if (nul == std::string_view::npos) break;
    in.remove_prefix(nul + 1);
  }
  if (!files[0].lines.empty()) (void)clawtrace::detect_format(files[0].lines[0].text);
  check(clawtrace::convert_plugin(files[0]));
  check(clawtrace::convert_openclaw(files));
  check(clawtrace::convert_otlp(files[0]));
  return 0;
}
