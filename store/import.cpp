// Import and export of JSON lines. See import.h for the decisions.
#include "import.h"

#include "import_line.h"
#include "json_fields.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <set>

namespace json = boost::json;
using clawtrace::json_fields::all_strings;
using clawtrace::json_fields::as_int;

namespace clawtrace {
namespace {

constexpr size_t kKeptProblems = 1000;   // ImportStats::problems holds at most this many
constexpr uint64_t kProgressLines = 8192;

// ---- reading lines without buffering more than one (bounded) line -----------------------

class LineReader {
 public:
  LineReader(std::istream& in, size_t max_line) : in_(in), max_(max_line), buf_(size_t{1} << 16) {}

  // The next line, without its "\n" or "\r\n"; false at the end. A line longer than the
  // limit comes back empty with too_long set.
  bool next(std::string& line, bool& too_long) {
    line.clear();
    too_long = false;
    unterminated_ = false;
    bool any = false;
    for (;;) {
      if (pos_ == end_ && !fill()) return unterminated_ = any;
      any = true;
      const char* start = buf_.data() + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const size_t len = nl ? static_cast<size_t>(nl - start) : end_ - pos_;
      if (!too_long && line.size() + len <= max_) {
        line.append(start, len);
      } else if (!too_long) {
        too_long = true;
        std::string().swap(line);
      }
      pos_ += len;
      if (nl) {
        ++pos_;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
    }
  }

  uint64_t bytes() const { return consumed_ - (end_ - pos_); }
  // The line last returned ended the input without a newline.
  bool unterminated() const { return unterminated_; }

 private:
  bool fill() {
    if (!in_) return false;
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    const auto n = static_cast<size_t>(in_.gcount());
    pos_ = 0;
    end_ = n;
    consumed_ += n;
    return n > 0;
  }

  std::istream& in_;
  size_t max_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  uint64_t consumed_ = 0;
  bool unterminated_ = false;
};

// ---- sessions ---------------------------------------------------------------------------

struct ImportedSession {
  std::string original;  // the envelope's "session" string
  SessionInfo info;
  uint64_t lines = 0;    // its events (written or skipped)
  bool skipped = false;  // already in the store
  bool ended = false;
  uint64_t last_ns = 0;
};

std::string name_of(const ImportedSession& s) {
  return s.original == s.info.id ? s.info.id : "\"" + s.original + "\" (" + s.info.id + ")";
}

void apply_start(SessionInfo& info, const json::object& d) {
  using json_value = const json::value*;
  auto str = [&](std::string_view k, std::string& out) {
    if (json_value v = d.if_contains(k); v && v->is_string()) out = std::string(v->get_string());
  };
  if (json_value v = d.if_contains("pid"); v && v->is_number()) info.pid = as_int(*v);
  if (json_value v = d.if_contains("ppid"); v && v->is_number()) info.ppid = as_int(*v);
  if (json_value v = d.if_contains("argv"); v && v->is_array()) {
    info.argv.clear();
    for (const auto& a : v->get_array()) info.argv.emplace_back(a.get_string());
  }
  if (json_value v = d.if_contains("tags"); v && v->is_object()) {
    info.tags.clear();
    for (const auto& kv : v->get_object()) info.tags[std::string(kv.key())] = std::string(kv.value().get_string());
  }
  str("cwd", info.cwd);
  str("name", info.name);
  str("trace", info.trace);
  if (json_value v = d.if_contains("parent_session"); v && v->is_string())
    info.parent_session = import_session_id(v->get_string());
  if (json_value v = d.if_contains("parent_span"); v && v->is_string())
    info.parent_span = std::string(v->get_string());
}

void apply_end(ImportedSession& s, const Event& e) {
  SessionInfo& info = s.info;
  const json::object& d = e.data;
  s.ended = true;
  info.end_ns = e.t_ns;
  if (const json::value* v = d.if_contains("exit_code"); v && v->is_number())
    info.exit_code = static_cast<int>(as_int(*v));
  if (const json::value* v = d.if_contains("signal"); v && v->is_number())
    info.signal = static_cast<int>(as_int(*v));
  std::optional<SessionStatus> status;
  if (const json::value* v = d.if_contains("status"); v && v->is_string()) status = parse_session_status(v->get_string());
  if (!status) status = (info.signal || info.exit_code.value_or(0) != 0) ? SessionStatus::failed : SessionStatus::ok;
  info.status = *status;
}

void apply(ImportedSession& s, const Event& e) {
  SessionInfo& info = s.info;
  if (info.events++ == 0) info.start_ns = e.t_ns;
  s.last_ns = std::max(s.last_ns, e.t_ns);
  switch (e.type) {
    case EventType::session_start:
      info.start_ns = e.t_ns;
      apply_start(info, e.data);
      break;
    case EventType::session_end: apply_end(s, e); break;
    case EventType::llm_input: ++info.llm_calls; break;
    case EventType::before_tool_call: ++info.tool_calls; break;
    default: break;
  }
}

// The record as stored: a session the file has not ended (yet) is truncated at its last event.
SessionInfo record_of(const ImportedSession& s, const std::vector<std::string>* argv_after_exec) {
  SessionInfo info = s.info;
  if (argv_after_exec) info.argv = *argv_after_exec;
  if (info.name.empty()) info.name = s.original != info.id ? s.original : "imported";
  if (!s.ended) {
    info.status = SessionStatus::truncated;
    info.end_ns = s.last_ns;
  }
  // Durations are end minus start: an end before the start (odd clocks) is the start.
  if (info.end_ns) info.end_ns = std::max(*info.end_ns, info.start_ns);
  return info;
}

// ---- the import -------------------------------------------------------------------------

class Importer {
 public:
  Importer(Store& store, const ImportOptions& opt) : store_(store), opt_(opt) {}

  Result<ImportStats> run(std::istream& in) {
    LineReader reader(in, opt_.max_line_bytes);
    std::string line;
    bool too_long = false;
    while (reader.next(line, too_long)) {
      ++stats_.lines;
      if (auto r = take(line, too_long, reader.unterminated()); !r) return Error{r.error()};
      if (batch_bytes_ >= opt_.batch_bytes)
        if (auto r = flush(); !r) return Error{r.error()};
      if (stats_.lines % kProgressLines == 0) progress(reader.bytes(), false);
    }
    if (auto r = flush(); !r) return Error{r.error()};
    if (stats_.lines >= kProgressLines) progress(reader.bytes(), true);
    return finish();
  }

  Result<ImportStats> run(std::vector<Event>& events) {
    converted_ = true;
    for (auto& e : events) {
      size_t bytes = 256;  // the envelope, roughly; the data counted as JSON would print it
      for (const auto& kv : e.data) bytes += kv.key().size() + json_fields::serialized_size(kv.value());
      if (auto r = take_event(std::move(e), bytes); !r) return Error{r.error()};
      if (batch_bytes_ >= opt_.batch_bytes)
        if (auto r = flush(); !r) return Error{r.error()};
    }
    if (auto r = flush(); !r) return Error{r.error()};
    return finish();
  }

 private:
  Result<ImportStats> finish() {
    for (const std::string& id : order_) {
      const ImportedSession& s = sessions_.at(id);
      if (!s.skipped) ++stats_.sessions;
      stats_.per_session.push_back({id, record_of(s, argv_after_exec(id)).name, s.lines, s.skipped});
    }
    return std::move(stats_);
  }

  Result<void> take(const std::string& line, bool too_long, bool unterminated) {
    if (too_long) return reject("line longer than " + std::to_string(opt_.max_line_bytes >> 20) + " MiB");
    if (line.find_first_not_of(" \t") == std::string::npos) return {};  // blank
    auto e = import_line(line);
    if (!e && unterminated && e.error().rfind("not JSON", 0) == 0)
      return reject("truncated last line (no newline, incomplete JSON); the lines before it are kept");
    if (!e) return reject(e.error());
    return take_event(std::move(*e), line.size());
  }

  Result<void> take_event(Event&& e, size_t bytes) {
    auto s = session_for(e.session);
    if (!s) return Error{s.error()};
    ++(*s)->lines;
    if ((*s)->skipped) {
      ++stats_.skipped_lines;
      return {};
    }
    e.session = (*s)->info.id;
    apply(**s, e);
    dirty_.insert((*s)->info.id);
    note_exec(e);
    batch_bytes_ += bytes;
    batch_.push_back(std::move(e));
    return {};
  }

  // The session a line belongs to; the first line of one already in the store marks it skipped.
  Result<ImportedSession*> session_for(const std::string& original) {
    const std::string id = import_session_id(original);
    if (auto it = sessions_.find(id); it != sessions_.end()) return &it->second;
    ImportedSession& s = sessions_[id];
    order_.push_back(id);
    s.original = original;
    s.info.id = id;
    auto existing = store_.session(id);
    if (!existing) return Error{existing.error()};
    if (existing->has_value()) {
      s.info.name = (*existing)->name;  // for the dry run's listing
      s.skipped = true;
      ++stats_.skipped_sessions;
      problem("session " + name_of(s) + " is already in the store; its lines are skipped");
    }
    return &s;
  }

  // A child process's command line after its exec shows only in the parent's
  // after_tool_call (session_start has the one it was started with); ingestion's record
  // has the later one.
  void note_exec(const Event& e) {
    if (e.type != EventType::after_tool_call) return;
    const json::value* child = e.data.if_contains("child_session");
    const json::value* argv = e.data.if_contains("argv");
    if (!child || !child->is_string() || !argv || !argv->is_array() || argv->get_array().empty() ||
        !all_strings(argv->get_array()))
      return;
    const std::string id = import_session_id(child->get_string());
    std::vector<std::string>& out = argv_after_exec_[id];
    out.clear();
    for (const auto& a : argv->get_array()) out.emplace_back(a.get_string());
    if (auto it = sessions_.find(id); it != sessions_.end() && !it->second.skipped) dirty_.insert(id);
  }

  const std::vector<std::string>* argv_after_exec(const std::string& id) const {
    auto it = argv_after_exec_.find(id);
    return it == argv_after_exec_.end() ? nullptr : &it->second;
  }

  Result<void> flush() {
    if (batch_.empty()) return {};
    if (opt_.dry_run) {
      stats_.events += batch_.size();
      batch_.clear();
      dirty_.clear();
      batch_bytes_ = 0;
      return {};
    }
    auto r = store_.write([&](Store::Writer& w) -> Result<void> {
      for (auto& e : batch_)
        if (auto a = w.append_event(e); !a) return Error{a.error()};
      for (const auto& id : dirty_)
        if (auto p = w.put_session(record_of(sessions_.at(id), argv_after_exec(id))); !p) return p;
      return {};
    });
    if (!r) return fail("writing to the store after " + std::to_string(stats_.events) + " events: " + r.error());
    stats_.events += batch_.size();
    batch_.clear();
    dirty_.clear();
    batch_bytes_ = 0;
    return {};
  }

  Result<void> reject(const std::string& why) {
    ++stats_.rejected;
    problem(why);
    return {};
  }

  void problem(const std::string& why) {
    // Converted events have no line of their own: their problems name the source only.
    std::string msg = opt_.source + (converted_ ? "" : ":" + std::to_string(stats_.lines)) + ": " + why;
    if (opt_.on_problem) opt_.on_problem(msg);
    else if (stats_.problems.size() < kKeptProblems) stats_.problems.push_back(std::move(msg));
  }

  void progress(uint64_t bytes, bool last) {
    if (!opt_.progress) return;
    const double mib = static_cast<double>(bytes) / (1 << 20);
    if (opt_.total_bytes)
      std::fprintf(stderr, "\rclawtrace: importing %s: %.1f/%.1f MiB, %llu lines", opt_.source.c_str(), mib,
                   static_cast<double>(opt_.total_bytes) / (1 << 20), static_cast<unsigned long long>(stats_.lines));
    else
      std::fprintf(stderr, "\rclawtrace: importing %s: %.1f MiB, %llu lines", opt_.source.c_str(), mib,
                   static_cast<unsigned long long>(stats_.lines));
    if (last) std::fputc('\n', stderr);
  }

  Store& store_;
  const ImportOptions& opt_;
  ImportStats stats_;
  std::map<std::string, ImportedSession> sessions_;
  std::vector<std::string> order_;  // session ids, first seen first
  bool converted_ = false;          // events, not lines
  std::vector<Event> batch_;
  std::set<std::string> dirty_;
  std::map<std::string, std::vector<std::string>> argv_after_exec_;
  size_t batch_bytes_ = 0;
};

}  // namespace

Result<ImportStats> import_jsonl(Store& store, std::istream& in, const ImportOptions& options) {
  try {
    return Importer(store, options).run(in);
  } catch (const std::exception& ex) {
    return fail(std::string("import: ") + ex.what());
  }
}

Result<ImportStats> import_events(Store& store, std::vector<Event> events, const ImportOptions& options) {
  try {
    return Importer(store, options).run(events);
  } catch (const std::exception& ex) {
    return fail(std::string("import: ") + ex.what());
  }
}

Result<std::vector<std::string>> sessions_with_descendants(Store& store, const std::vector<std::string>& ids) {
  auto all = store.sessions();
  if (!all) return Error{all.error()};
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& s : *all)
    if (s.parent_session) children[*s.parent_session].push_back(s.id);
  std::set<std::string> wanted;
  std::vector<std::string> todo(ids.begin(), ids.end());
  while (!todo.empty()) {
    std::string id = std::move(todo.back());
    todo.pop_back();
    if (!wanted.insert(id).second) continue;  // seen (a cycle cannot loop)
    if (auto it = children.find(id); it != children.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
  }
  std::vector<std::string> out;
  for (const auto& s : *all)
    if (wanted.count(s.id)) out.push_back(s.id);
  return out;
}

Result<uint64_t> export_jsonl(Store& store, const std::vector<std::string>& ids, std::ostream& out) {
  uint64_t n = 0;
  for (const auto& id : ids) {
    auto events = store.events(id);
    if (!events) return Error{events.error()};
    for (const auto& e : *events) {
      out << to_json_line(e) << '\n';
      ++n;
    }
    if (!out) return fail("writing the export failed");
  }
  out.flush();
  if (!out) return fail("writing the export failed");
  return n;
}

void add_stats(ImportStats& a, ImportStats b) {
  a.lines += b.lines;
  a.events += b.events;
  a.sessions += b.sessions;
  a.rejected += b.rejected;
  a.skipped_sessions += b.skipped_sessions;
  a.skipped_lines += b.skipped_lines;
  for (auto& p : b.problems) a.problems.push_back(std::move(p));
  for (auto& s : b.per_session) a.per_session.push_back(std::move(s));
}

std::string import_summary(const ImportStats& s, bool dry_run) {
  auto n = [](uint64_t v, const char* one, const char* many) { return std::to_string(v) + " " + (v == 1 ? one : many); };
  std::string out = std::string(dry_run ? "would import " : "imported ") + n(s.events, "event", "events") + " in " + n(s.sessions, "session", "sessions") + "; " +
                    n(s.rejected, "line", "lines") + " rejected";
  if (s.skipped_sessions)
    out += "; " + n(s.skipped_sessions, "session", "sessions") + " skipped (already in the store)";
  return out;
}

}  // namespace clawtrace
