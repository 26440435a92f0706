// Import: hook events as JSON lines in the SPEC §3 envelope (what `clawtrace export` and
// `clawtrace events` print, or generic JSON from any framework) into the store, one
// session record rebuilt per session from its events; and export, the same lines out.
//
// Decisions:
// - Events are stored in file order per session; the store numbers them 1, 2, … (a line's
//   own "seq" is optional and ignored), so export → import → export is byte-identical.
// - A session id of 16 hex digits is kept; any other string is mapped to a stable id
//   (the first 8 bytes of its SHA-256), and that original string names the session unless
//   its session_start gives a name.
// - A session already in the store is not touched: every line of it is skipped, with one
//   message at its first line. Re-importing a file therefore adds nothing.
// - A session without session_start gets a minimal record starting at its first event; a
//   session without session_end is `truncated` (an imported session never continues),
//   ending at its last event. No event is invented for either.
// - A bad line (not JSON, a missing or mistyped envelope field, an unknown event type, a
//   mistyped session_start/session_end field the session record is built from) is
//   rejected with "SOURCE:LINE: reason"; every good line is still imported. A last line
//   with no newline that is not complete JSON is reported as truncated.
// - Foreign formats (import_interop.h) are converted to events first and then take the
//   same path (import_events), so skipping, session records and dry runs are shared.
// - A dry run reads and checks everything, consults the store for sessions already in
//   it, and writes nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "result.h"
#include "store.h"

namespace clawtrace {

struct ImportOptions {
  std::string source = "-";                 // the name messages give the input
  size_t max_line_bytes = size_t{64} << 20;  // longer lines are rejected, never buffered
  size_t batch_bytes = size_t{8} << 20;      // events written per transaction (bounds memory)
  bool progress = false;                     // a progress line on stderr
  uint64_t total_bytes = 0;                  // the input's size, when known, for progress
  // Called with each problem ("SOURCE:LINE: reason") as it is found; when empty, problems
  // are collected in ImportStats::problems.
  std::function<void(const std::string&)> on_problem;
  bool dry_run = false;  // count what would be imported; write nothing
};

// What one session of the input came to.
struct ImportedSessionCount {
  std::string id;    // store id
  std::string name;  // the record's name
  uint64_t events = 0;
  bool skipped = false;  // already in the store
};

struct ImportStats {
  uint64_t lines = 0;             // lines read (blank ones included)
  uint64_t events = 0;            // events written
  uint64_t sessions = 0;          // sessions created
  uint64_t rejected = 0;          // bad lines
  uint64_t skipped_sessions = 0;  // sessions already in the store
  uint64_t skipped_lines = 0;     // their lines
  std::vector<std::string> problems;
  std::vector<ImportedSessionCount> per_session;  // in order of first appearance
};

// Streams `in` into the store. Fails only when the store cannot be written; what was
// committed before that stays.
Result<ImportStats> import_jsonl(Store& store, std::istream& in, const ImportOptions& options = {});

// Events already converted (import_interop.h) into the store: each event's `session` is
// its source's session string, mapped like a line's. Problems name `options.source`.
Result<ImportStats> import_events(Store& store, std::vector<Event> events, const ImportOptions& options = {});

// The store id an envelope's "session" string is imported under.
std::string import_session_id(std::string_view session);

// Export: `ids` (resolved session ids) and every session below each of them (children by
// parent_session, to any depth), each once, in start order.
Result<std::vector<std::string>> sessions_with_descendants(Store& store, const std::vector<std::string>& ids);

// Writes the events of `ids`, in that order, each session's in seq order, as JSON lines in
// the SPEC §3 envelope. Returns the number of events written.
Result<uint64_t> export_jsonl(Store& store, const std::vector<std::string>& ids, std::ostream& out);

// "imported N events in M sessions; K lines rejected[; S sessions skipped (already in the store)]"
// ("would import" for a dry run).
std::string import_summary(const ImportStats& stats, bool dry_run = false);

// Adds `b` into `a` (several files in one command).
void add_stats(ImportStats& a, ImportStats b);

}  // namespace clawtrace
