// Foreign traces for `clawtrace import`, recognised by shape and converted into the eight
// hook events (SPEC §3): the original ClawTrace OpenClaw plugin's event stream, and
// OpenClaw's own session transcripts, and OTLP/JSON traces of GenAI-instrumented agents.
// Pure: no store, no I/O; the converted events go
// through import_events() (import.h) like native lines do. Formats and assumptions:
// docs/interop.md.
//
// Decisions:
// - The shape is decided by a file's first non-blank line; a line that is not JSON, or a
//   JSON object of none of the three shapes, makes the file "unknown" (named with that
//   line). Later lines that do not fit the file's format are rejected one by one.
// - Session ids derive from the source's own ids (plugin: traceId + the session span;
//   OpenClaw: the transcript's session id), so re-importing adds nothing.
// - Source cost figures are kept in llm_output data as "source_cost_usd"; the card prices
//   the tokens with ClawTrace's table as for any other call.
// - The plugin's one LLM span covers a whole agent run: it becomes one llm_input /
//   llm_output pair marked `"detail": "run"` (per-call detail is missing), never a
//   guessed number of calls.
// - A transcript has no end record: its session ends (status ok) at its last entry,
//   unless the file's last line is truncated, when the session stays `truncated`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "event.h"

namespace clawtrace {

enum class ImportFormat { native, clawtrace_plugin, openclaw_transcript, otlp, unknown };

// "clawtrace events", "clawtrace plugin", "openclaw transcript", "otlp traces", "unknown".
std::string_view format_name(ImportFormat f);

// The format a line of that shape belongs to (a file's first non-blank line decides).
ImportFormat detect_format(std::string_view line);

// One line of an input file, as read.
struct SourceLine {
  uint64_t number = 0;  // 1-based
  std::string text;
  bool unterminated = false;  // the file's last line, with no newline after it
};

struct SourceFile {
  std::string name;  // for messages: "NAME:LINE: reason"
  std::vector<SourceLine> lines;
};

struct Converted {
  std::vector<Event> events;          // sessions' events, each session's in time order
  std::vector<std::string> problems;  // "NAME:LINE: reason", one per rejected line
  uint64_t rejected = 0;
};

// The plugin's event stream (one file: a session and the sub-agents it spawned).
Converted convert_plugin(const SourceFile& file);

// OpenClaw transcripts, one session per file; converted together so that a sub-agent's
// transcript links to the sessions_spawn call of its parent when both are given.
Converted convert_openclaw(const std::vector<SourceFile>& files);

// OTLP/JSON traces (ExportTraceServiceRequest objects, one per line as an OpenTelemetry
// collector's file exporter writes them, or the whole file one document): one session per
// trace; spans by the GenAI conventions (chat, execute_tool, invoke_agent) become LLM
// calls, tool calls and in-process sub-agents; other spans are skipped but keep nesting.
Converted convert_otlp(const SourceFile& file);

// "NAME:LINE: truncated last line (...)" when `line` is an unterminated last line that is
// not complete JSON, else "NAME:LINE: <why>".
std::string line_problem(const std::string& name, const SourceLine& line, const std::string& why);

}  // namespace clawtrace
