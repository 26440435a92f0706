// `clawtrace events`: a session's event stream (SPEC §3) or its span tree across sessions.
#include <cstdio>
#include <functional>
#include <map>

#include "cli.h"
#include "json_fields.h"
#include "tree.h"

namespace json = boost::json;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace events SESSION [--tree]

Prints the session's events as JSON lines, in order:
  {"seq":N,"t_ns":N,"type":"...","session":"ID","span":"ID","parent":"ID"|null,"data":{...}}
--tree prints the span tree instead: the session, its LLM calls (model, usage, stop
reason; side calls marked), the tool calls the model asked for, the processes started
(nested under the tool call that was open), the sessions of those processes, and
sub-agents (under the call that started them, with their own calls or session), to any
depth.
)";

using json_fields::str;

std::string outcome(const json::object& d) {
  if (auto* c = d.if_contains("exit_code"); c && c->is_number()) return "exit " + std::to_string(json_fields::number_or<int>(*c));
  if (auto* s = d.if_contains("signal"); s && s->is_number()) return "signal " + std::to_string(json_fields::number_or<int>(*s));
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
  return std::to_string(json_fields::number_or<int64_t>(*v));
}

std::string llm_line(const SpanNode& n) {
  const json::object& in = n.open ? n.open->data : n.close->data;
  std::string line = "llm " + str(in, "model") + "  (" + str(in, "api");
  if (auto* st = in.if_contains("stream"); st && st->is_bool() && st->get_bool()) line += ", stream";
  if (std::string role = str(in, "thread_role"); role == "side") line += ", side call";
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

std::string took(const json::object& d) {
  if (auto* ds = d.if_contains("duration_s"); ds && ds->is_number())
    return ", " + format_duration(ds->to_number<double>());
  return "";
}

std::string tool_line(const SpanNode& n) {
  const json::object& d = (n.close ? n.close : n.open)->data;
  std::string state = !n.close ? "open" : d.contains("abandoned") ? "abandoned"
                    : (d.contains("is_error") && d.at("is_error").is_bool() && d.at("is_error").get_bool()) ? "error" : "ok";
  std::string args = n.open ? str(n.open->data, "arguments") : "";
  return "tool " + str(d, "name") + " " + one_line(args, 60) + "  (model, " + state + took(d) + ")";
}

std::string process_line(const SpanNode& n) {
  const json::object& d = (n.close ? n.close : n.open)->data;
  return "process " + str(d, "name") + "  (" + str(d, "how") + ", " +
         (n.close ? outcome(d) : std::string("running")) + took(d) + ")";
}

std::string subagent_line(const SpanNode& n) {
  const json::object& d = (n.open ? n.open : n.close)->data;
  std::string line = "sub-agent via " + str(d, "tool_name") + "  (" + (str(d, "how") == "process" ? "process" : "in-process");
  if (!n.close) return line + ", running)  " + one_line(str(d, "task"), 80);
  const json::object& end = n.close->data;
  line += ", " + str(end, "status") + ", " + num(end, "llm_calls") + " calls" + took(end) + ")";
  if (auto* u = end.if_contains("usage"); u && u->is_object())
    line += "  in " + num(u->get_object(), "input") + " · out " + num(u->get_object(), "output");
  if (!str(end, "final_text").empty()) line += "  → " + one_line(str(end, "final_text"), 60);
  return line;
}

std::string session_line(const SpanTree& tree, const SpanNode& n) {
  auto it = tree.sessions.find(n.session);
  if (it == tree.sessions.end()) return "session " + n.session;
  const SessionInfo& s = it->second;
  std::string status(to_string(s.status));
  if (s.exit_code) status += ", exit " + std::to_string(*s.exit_code);
  if (s.signal) status += ", signal " + std::to_string(*s.signal);
  std::string dur = s.end_ns ? format_duration(static_cast<double>(*s.end_ns - s.start_ns) / 1e9) : "running";
  return "session " + s.id + "  " + one_line(shell_join(s.argv), 160) + "  [" + status + ", " + dur + "]";
}

std::string node_line(const SpanTree& tree, const SpanNode& n) {
  switch (n.kind) {
    case SpanNode::Kind::session: return session_line(tree, n);
    case SpanNode::Kind::llm: return llm_line(n);
    case SpanNode::Kind::tool: return tool_line(n);
    case SpanNode::Kind::process: return process_line(n);
    case SpanNode::Kind::subagent: return subagent_line(n);
  }
  return {};
}

void print_tree(const SpanTree& tree, size_t at, const std::string& prefix, bool last, bool root) {
  std::printf("%s%s%s\n", prefix.c_str(), root ? "" : (last ? "└─ " : "├─ "), node_line(tree, tree.nodes[at]).c_str());
  const std::string inner = prefix + (root ? "" : (last ? "   " : "│  "));
  const auto& kids = tree.nodes[at].children;
  for (size_t i = 0; i < kids.size(); ++i) print_tree(tree, kids[i], inner, i + 1 == kids.size(), false);
}

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
    auto t = load_span_tree(**store, *id);
    if (!t) return error(t.error());
    print_tree(*t, 0, "", true, true);
    return 0;
  }
  auto events = (*store)->events(*id);
  if (!events) return error(events.error());
  for (const auto& e : *events) std::printf("%s\n", to_json_line(e).c_str());
  return 0;
}

}  // namespace clawtrace::cli
