// `clawtrace events`: a session's event stream (SPEC §3) or its span tree across sessions.
#include <cstdio>
#include <functional>
#include <map>

#include "cli.h"

namespace json = boost::json;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace events SESSION [--tree]

Prints the session's events as JSON lines, in order:
  {"seq":N,"t_ns":N,"type":"...","session":"ID","span":"ID","parent":"ID"|null,"data":{...}}
--tree prints the span tree instead: the session, the processes it started, and the
sessions of those processes, to any depth.
)";

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string outcome(const json::object& d) {
  if (auto* c = d.if_contains("exit_code"); c && c->is_number()) return "exit " + std::to_string(c->to_number<int>());
  if (auto* s = d.if_contains("signal"); s && s->is_number()) return "signal " + std::to_string(s->to_number<int>());
  if (auto* e = d.if_contains("error"); e && e->is_string()) return std::string(e->get_string());
  if (auto* w = d.if_contains("waited"); w && w->is_bool() && !w->as_bool()) return "not waited for";
  return "running";
}

class TreePrinter {
 public:
  explicit TreePrinter(Store& store) : store_(store) {}

  Result<void> load() {
    auto all = store_.sessions();
    if (!all) return fail(all.error());
    for (auto& s : *all) {
      if (s.parent_session) children_[*s.parent_session].push_back(s.id);
      sessions_[s.id] = std::move(s);
    }
    return {};
  }

  void print_session(const std::string& id, const std::string& prefix, bool last, bool root) {
    const SessionInfo& s = sessions_.at(id);
    std::string status(to_string(s.status));
    if (s.exit_code) status += ", exit " + std::to_string(*s.exit_code);
    if (s.signal) status += ", signal " + std::to_string(*s.signal);
    std::string dur = s.end_ns ? format_duration(static_cast<double>(*s.end_ns - s.start_ns) / 1e9) : "running";
    std::printf("%s%ssession %s  %s  [%s, %s]\n", prefix.c_str(), root ? "" : (last ? "└─ " : "├─ "),
                id.c_str(), shell_join(s.argv).c_str(), status.c_str(), dur.c_str());
    const std::string inner = prefix + (root ? "" : (last ? "   " : "│  "));
    auto events = store_.events(id);
    if (!events) {
      std::printf("%s  (events unreadable: %s)\n", inner.c_str(), events.error().c_str());
      return;
    }
    // Spans of this session in order, with their end events and the sessions under them.
    std::vector<std::string> order;
    std::map<std::string, const Event*> opened, closed;
    for (const auto& e : *events) {
      if (e.type == EventType::before_tool_call) {
        order.push_back(e.span);
        opened[e.span] = &e;
      } else if (e.type == EventType::after_tool_call) {
        closed[e.span] = &e;
      }
    }
    std::map<std::string, std::vector<std::string>> under;
    std::vector<std::string> loose;
    for (const auto& child : children_[id]) {
      const auto& cs = sessions_.at(child);
      if (cs.parent_span && opened.count(*cs.parent_span)) under[*cs.parent_span].push_back(child);
      else loose.push_back(child);
    }
    const size_t total = order.size() + loose.size();
    size_t n = 0;
    for (const auto& span : order) {
      const bool is_last = ++n == total;
      const json::object& d = (closed.count(span) ? closed[span] : opened[span])->data;
      std::string took;
      if (auto* ds = d.if_contains("duration_s"); ds && ds->is_number()) took = ", " + format_duration(ds->to_number<double>());
      std::printf("%s%sprocess %s  (%s, %s%s)\n", inner.c_str(), is_last ? "└─ " : "├─ ",
                  str(d, "name").c_str(), str(d, "how").c_str(),
                  closed.count(span) ? outcome(d).c_str() : "running", took.c_str());
      const auto& kids = under[span];
      for (size_t k = 0; k < kids.size(); ++k)
        print_session(kids[k], inner + (is_last ? "   " : "│  "), k + 1 == kids.size(), false);
    }
    for (const auto& child : loose) print_session(child, inner, ++n == total, false);
  }

 private:
  Store& store_;
  std::map<std::string, SessionInfo> sessions_;
  std::map<std::string, std::vector<std::string>> children_;
};

}  // namespace

int cmd_events(const Globals& g, const std::vector<std::string>& args) {
  bool tree = false;
  std::string spec;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--tree") tree = true;
    else if (!a.empty() && a[0] == '-') return usage_error("events", "unknown option " + a);
    else if (spec.empty()) spec = a;
    else return usage_error("events", "unexpected argument '" + a + "'");
  }
  if (spec.empty()) return usage_error("events", "which session? (an id, a prefix, or last)");
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  auto id = (*store)->resolve(spec);
  if (!id) return error(id.error());
  if (tree) {
    TreePrinter printer(**store);
    if (auto r = printer.load(); !r) return error(r.error());
    printer.print_session(*id, "", true, true);
    return 0;
  }
  auto events = (*store)->events(*id);
  if (!events) return error(events.error());
  for (const auto& e : *events) std::printf("%s\n", to_json_line(e).c_str());
  return 0;
}

}  // namespace clawtrace::cli
