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
--tree prints the span tree instead: the session, its LLM calls (model, usage, stop
reason), the tool calls the model asked for, the processes started (nested under the tool
call that was open), and the sessions of those processes, to any depth.
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

// A command line for one line of the tree: newlines shown as ⏎, long ones cut.
std::string one_line(std::string text, size_t max) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "⏎";
    else if (c != '\r') out += c;
  }
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8
    out = out.substr(0, cut) + "…";
  }
  return out;
}

std::string num(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_number()) return "?";
  return std::to_string(v->to_number<int64_t>());
}

// One span of a session: an LLM call (llm_input/llm_output) or a tool call (model or
// process), with the events that opened and closed it.
struct SpanNode {
  std::string kind;  // llm, tool
  const Event* open = nullptr;
  const Event* close = nullptr;
  std::string parent;
};

std::string llm_line(const SpanNode& n) {
  const json::object& in = n.open->data;
  std::string line = "llm " + str(in, "model") + "  (" + str(in, "api");
  if (auto* st = in.if_contains("stream"); st && st->is_bool() && st->get_bool()) line += ", stream";
  line += ")";
  if (!n.close) return line + "  waiting";
  const json::object& out = n.close->data;
  if (auto* u = out.if_contains("usage"); u && u->is_object()) {
    const json::object& usage = u->get_object();
    line += "  in " + num(usage, "input") + " · cache r " + num(usage, "cache_read") + " w " +
            num(usage, "cache_write") + " · out " + num(usage, "output");
  } else if (auto* m = out.if_contains("usage_missing"); m && m->is_bool() && m->get_bool()) {
    line += "  usage not reported";
  }
  if (!str(out, "stop_reason").empty()) line += "  " + str(out, "stop_reason");
  if (auto* d = out.if_contains("duration_ms"); d && d->is_number())
    line += ", " + format_duration(d->to_number<double>() / 1e3);
  if (!str(out, "error").empty()) line += "  error: " + str(out, "error").substr(0, 80);
  return line;
}

std::string tool_line(const SpanNode& n) {
  const json::object& d = (n.close ? n.close : n.open)->data;
  std::string took;
  if (auto* ds = d.if_contains("duration_s"); ds && ds->is_number())
    took = ", " + format_duration(ds->to_number<double>());
  if (str(d, "source") == "model") {
    std::string state = !n.close ? "open" : d.contains("abandoned") ? "abandoned"
                      : (d.contains("is_error") && d.at("is_error").is_bool() && d.at("is_error").get_bool()) ? "error" : "ok";
    std::string args = str(n.open->data, "arguments");
    if (args.size() > 60) args = args.substr(0, 57) + "...";
    return "tool " + str(d, "name") + " " + args + "  (model, " + state + took + ")";
  }
  return "process " + str(d, "name") + "  (" + str(d, "how") + ", " +
         (n.close ? outcome(d) : std::string("running")) + took + ")";
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
                id.c_str(), one_line(shell_join(s.argv), 160).c_str(), status.c_str(), dur.c_str());
    const std::string inner = prefix + (root ? "" : (last ? "   " : "│  "));
    auto events = store_.events(id);
    if (!events) {
      std::printf("%s  (events unreadable: %s)\n", inner.c_str(), events.error().c_str());
      return;
    }
    spans_.clear();
    kids_.clear();
    for (const auto& e : *events) add_event(id, e);
    for (const auto& child : children_[id]) {
      const auto& cs = sessions_.at(child);
      const std::string at = cs.parent_span && spans_.count(*cs.parent_span) ? *cs.parent_span : id;
      kids_[at].push_back(Kid{child, true});
    }
    print_children(id, inner, std::map<std::string, SpanNode>(spans_), std::map<std::string, std::vector<Kid>>(kids_));
  }

 private:
  struct Kid {
    std::string id;
    bool session = false;
  };

  void add_event(const std::string& session, const Event& e) {
    const bool opens = e.type == EventType::llm_input || e.type == EventType::before_tool_call;
    const bool closes = e.type == EventType::llm_output || e.type == EventType::after_tool_call;
    if (!opens && !closes) return;
    auto [it, fresh] = spans_.try_emplace(e.span);
    SpanNode& n = it->second;
    if (fresh) {
      n.kind = e.type == EventType::llm_input || e.type == EventType::llm_output ? "llm" : "tool";
      n.parent = e.parent.value_or(session);
      kids_[n.parent].push_back(Kid{e.span, false});
    }
    if (opens) n.open = &e;
    else n.close = &e;
    if (!n.open) n.open = &e;
  }

  void print_children(const std::string& at, const std::string& prefix,
                      const std::map<std::string, SpanNode>& spans,
                      const std::map<std::string, std::vector<Kid>>& kids) {
    auto it = kids.find(at);
    if (it == kids.end()) return;
    const auto& list = it->second;
    for (size_t i = 0; i < list.size(); ++i) {
      const bool last = i + 1 == list.size();
      if (list[i].session) {
        print_session(list[i].id, prefix, last, false);
        continue;
      }
      const SpanNode& n = spans.at(list[i].id);
      std::printf("%s%s%s\n", prefix.c_str(), last ? "└─ " : "├─ ",
                  (n.kind == "llm" ? llm_line(n) : tool_line(n)).c_str());
      print_children(list[i].id, prefix + (last ? "   " : "│  "), spans, kids);
    }
  }

  Store& store_;
  std::map<std::string, SessionInfo> sessions_;
  std::map<std::string, std::vector<std::string>> children_;
  std::map<std::string, SpanNode> spans_;
  std::map<std::string, std::vector<Kid>> kids_;
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
