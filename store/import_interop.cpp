// Format detection and messages shared by the interop converters. See import_interop.h.
#include "import_interop.h"

#include "import_interop_util.h"

namespace json = boost::json;

namespace clawtrace {

std::string_view format_name(ImportFormat f) {
  switch (f) {
    case ImportFormat::native: return "clawtrace events";
    case ImportFormat::clawtrace_plugin: return "clawtrace plugin";
    case ImportFormat::openclaw_transcript: return "openclaw transcript";
    case ImportFormat::otlp: return "otlp traces";
    case ImportFormat::unknown: break;
  }
  return "unknown";
}

ImportFormat detect_format(std::string_view line) {
  const interop::Parsed p = interop::parse_object(line);
  if (!p.error.empty()) return ImportFormat::unknown;
  const json::object& o = p.object;
  if (const json::object* ev = interop::obj(o, "event"); ev && o.contains("schemaVersion") && ev->contains("eventType"))
    return ImportFormat::clawtrace_plugin;
  if (o.contains("resourceSpans")) return ImportFormat::otlp;
  const std::string type = interop::text(o, "type");
  if (!type.empty() && o.contains("t_ns") && o.contains("session")) return ImportFormat::native;
  // A transcript starts with its header; a headless fragment still has entries with ids.
  if ((type == "session" && o.contains("version") && o.if_contains("id")) ||
      (!type.empty() && interop::obj(o, "message") && o.contains("id") && o.contains("timestamp")))
    return ImportFormat::openclaw_transcript;
  return ImportFormat::unknown;
}

std::string line_problem(const std::string& name, const SourceLine& line, const std::string& why) {
  std::string where = name + ":" + std::to_string(line.number) + ": ";
  if (line.unterminated && interop::parse_object(line.text).error.rfind("not JSON", 0) == 0)
    return where + "truncated last line (no newline, incomplete JSON); the lines before it are kept";
  return where + why;
}

}  // namespace clawtrace
