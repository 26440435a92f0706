// `clawtrace score`: an oracle's outcome quality Q in [0,1] on session records (SPEC §4),
// one at a time or from an outcomes file (costcraft/outcomes.h). Every entry is resolved
// before anything is written, and all of a file is written in one transaction.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>

#include "cli.h"
#include "outcomes.h"

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace score SESSION|K=V Q [--note TEXT]
       clawtrace score --outcomes FILE

Records an outcome quality Q in [0,1] (an oracle's grade: 1 = success, 0 = failure) on
a session, or on every root session tagged K=V (e.g. task=X); `sessions` and the
session's TraceCard show it, and `distill` learns from it.
--note TEXT      the oracle's evidence for the grade (kept with it; a repair whose error
                 the note names counts as confirmed)
--outcomes FILE  many grades at once (FILE or - for stdin), one per line:
                   SESSION Q [NOTE]      a session id, unique prefix or `last`
                   task=X Q [NOTE]       every root session tagged task=X (any K=V works)
                 blank lines and lines starting with # are skipped; or JSON:
                   {"SESSION or K=V": Q or {"q": Q, "note": "..."}, ...}
                   [{"session": S | "task": X | "tag": "K=V", "q": Q, "note": "..."}, ...]
                 Later entries win. Nothing is written unless every entry is valid.
)";

constexpr size_t kMaxOutcomesBytes = size_t{64} << 20;

struct Grade {
  double quality = 0;
  std::string note;
};

Result<std::string> read_all(const std::string& file) {
  std::ifstream f;
  std::istream* in = &std::cin;
  if (file != "-") {
    f.open(file, std::ios::binary);
    if (!f) return fail("cannot read " + file);
    in = &f;
  }
  std::string text;
  char buf[1 << 16];
  while (in->read(buf, sizeof buf) || in->gcount() > 0) {
    text.append(buf, static_cast<size_t>(in->gcount()));
    if (text.size() > kMaxOutcomesBytes) return fail(file + " is larger than 64 MiB");
  }
  return text;
}

// The root sessions whose tag K has value V.
std::vector<std::string> tagged(const std::vector<SessionInfo>& sessions, const std::string& selector) {
  const size_t eq = selector.find('=');
  const std::string key = selector.substr(0, eq), value = selector.substr(eq + 1);
  std::vector<std::string> ids;
  for (const auto& s : sessions) {
    auto it = s.tags.find(key);
    if (!s.parent_session && it != s.tags.end() && it->second == value) ids.push_back(s.id);
  }
  return ids;
}

Result<std::map<std::string, Grade>> resolve_all(Store& store, const std::vector<costcraft::OutcomeEntry>& entries) {
  auto sessions = store.sessions();
  if (!sessions) return Error{sessions.error()};
  std::map<std::string, Grade> grades;
  for (const auto& e : entries) {
    auto at = [&](const std::string& message) { return fail(e.where.empty() ? message : e.where + ": " + message); };
    std::vector<std::string> ids;
    if (costcraft::is_tag_selector(e.selector)) {
      ids = tagged(*sessions, e.selector);
      if (ids.empty()) return at("no session is tagged " + e.selector);
    } else {
      auto id = store.resolve(e.selector);
      if (!id) return at(id.error());
      ids.push_back(*id);
    }
    for (const auto& id : ids) grades[id] = {e.quality, e.note};
  }
  return grades;
}

Result<void> write_grades(Store& store, const std::map<std::string, Grade>& grades) {
  return store.write([&](Store::Writer& w) -> Result<void> {
    for (const auto& [id, grade] : grades) {
      auto s = w.get_session(id);
      if (!s) return Error{s.error()};
      if (!s->has_value()) return fail("session " + id + " vanished");
      SessionInfo info = **s;
      info.quality = grade.quality;
      info.note = grade.note.empty() ? std::nullopt : std::optional<std::string>(grade.note);
      if (auto r = w.put_session(info); !r) return r;
    }
    return {};
  });
}

}  // namespace

int cmd_score(const Globals& g, const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  std::optional<std::string> note, outcomes;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--note" || a == "--outcomes") {
      if (i + 1 >= args.size()) return usage_error("score", a + " needs a value");
      (a == "--note" ? note : outcomes) = args[++i];
    } else if (a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9') && a[1] != '.') {
      return usage_error("score", "unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  std::vector<costcraft::OutcomeEntry> entries;
  if (outcomes) {
    if (!positional.empty() || note) return usage_error("score", "--outcomes takes no SESSION, Q or --note");
    auto text = read_all(*outcomes);
    if (!text) return error("score: " + text.error());
    auto parsed = costcraft::parse_outcomes(*text, *outcomes);
    if (!parsed) return error("score: " + parsed.error());
    entries = std::move(parsed.value());
  } else {
    if (positional.size() != 2) return usage_error("score", "expected SESSION Q (or --outcomes FILE)");
    auto q = costcraft::parse_quality(positional[1]);
    if (!q) return error("score: " + q.error());
    entries.push_back({positional[0], *q, note.value_or(""), ""});
  }
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  auto grades = resolve_all(**store, entries);
  if (!grades) return error("score: " + grades.error());
  if (auto r = write_grades(**store, *grades); !r) return error("score: " + r.error());
  if (grades->size() == 1) std::printf("scored %s: %g\n", grades->begin()->first.c_str(), grades->begin()->second.quality);
  else std::printf("scored %zu sessions\n", grades->size());
  return 0;
}

}  // namespace clawtrace::cli
