#include "synth.h"

#include "json_fields.h"

#include <sys/wait.h>

#include <algorithm>

namespace json = boost::json;
using clawtrace::json_fields::from_array;
using clawtrace::json_fields::to_array;

namespace clawtrace {
namespace {

constexpr size_t kClosedSpansKept = 32;

std::string_view how_name(uint64_t kind) {
  switch (static_cast<wire::SpawnKind>(kind)) {
    case wire::SpawnKind::fork: return "fork";
    case wire::SpawnKind::vfork: return "vfork";
    case wire::SpawnKind::fork_raw: return "_Fork";
    case wire::SpawnKind::posix_spawn: return "posix_spawn";
    case wire::SpawnKind::posix_spawnp: return "posix_spawnp";
    case wire::SpawnKind::system: return "system";
    case wire::SpawnKind::popen: return "popen";
  }
  return "unknown";
}

std::string_view via_name(uint64_t via) {
  switch (static_cast<wire::Via>(via)) {
    case wire::Via::root: return "root";
    case wire::Via::child: return "spawn";
    case wire::Via::fork: return "fork";
    case wire::Via::exec: return "exec";
  }
  return "unknown";
}

std::string trace_hex(const SpoolRecord& r) {
  return hex_id(r.trace_hi.value_or(0)) + hex_id(r.trace_lo.value_or(0));
}

double seconds(uint64_t from, uint64_t to) {
  return to > from ? static_cast<double>(to - from) / 1e9 : 0.0;
}

std::string tool_name(const std::vector<std::string>& argv, std::string_view how) {
  if (argv.empty() || argv[0].empty()) return std::string(how);
  const std::string& a = argv[0];
  size_t slash = a.rfind('/');
  return slash == std::string::npos ? a : a.substr(slash + 1);
}

ProcSpan* find_span(SessionState& s, std::string_view id) {
  for (auto& sp : s.spans)
    if (sp.span == id) return &sp;
  return nullptr;
}

// Drops the oldest closed spans beyond what system()/popen() resolution needs.
void trim_closed(SessionState& s) {
  size_t closed = std::count_if(s.spans.begin(), s.spans.end(), [](auto& p) { return p.closed; });
  for (auto it = s.spans.begin(); closed > kClosedSpansKept && it != s.spans.end();) {
    if (it->closed) {
      it = s.spans.erase(it);
      --closed;
    } else {
      ++it;
    }
  }
}

}  // namespace

void put_wait_status(json::object& o, int status) {
  if (WIFEXITED(status)) o["exit_code"] = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) o["signal"] = WTERMSIG(status);
}

json::object to_json(const SessionState& s) {
  json::object o;
  o["info"] = to_json(s.info);
  json::array spans;
  for (const auto& p : s.spans) {
    json::object j;
    j["span"] = p.span;
    j["how"] = p.how;
    j["child_pid"] = p.child_pid;
    j["t_start"] = p.t_start;
    j["t_end"] = p.t_end;
    j["closed"] = p.closed;
    j["argv"] = to_array(p.argv);
    j["parent"] = p.parent;
    if (p.child_session) j["child_session"] = *p.child_session;
    spans.push_back(std::move(j));
  }
  o["spans"] = std::move(spans);
  o["argv_before_exec"] = to_array(s.argv_before_exec);
  if (s.observed_status) o["observed_status"] = *s.observed_status;
  o["observed_end_ns"] = s.observed_end_ns;
  o["last_record_ns"] = s.last_record_ns;
  o["ended"] = s.ended;
  o["llm"] = to_json(s.llm);
  if (s.subagent_of)
    o["subagent_of"] = json::object{{"session", s.subagent_of->session}, {"parent", s.subagent_of->parent},
                                    {"t_start", s.subagent_of->t_start}};
  o["nested_usage"] = to_json(s.nested_usage);
  o["nested_calls"] = s.nested_calls;
  return o;
}

Result<SessionState> session_state_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o || !o->contains("info")) return fail("corrupt ingestion state");
  auto info = session_from_json(o->at("info"));
  if (!info) return fail(info.error());
  SessionState s;
  s.info = std::move(info.value());
  if (auto* spans = o->if_contains("spans"); spans && spans->is_array()) {
    for (const auto& j : spans->get_array()) {
      const json::object& p = j.as_object();
      ProcSpan sp;
      sp.span = json::value_to<std::string>(p.at("span"));
      sp.how = json::value_to<std::string>(p.at("how"));
      sp.child_pid = p.at("child_pid").to_number<int64_t>();
      sp.t_start = p.at("t_start").to_number<uint64_t>();
      sp.t_end = p.at("t_end").to_number<uint64_t>();
      sp.closed = p.at("closed").as_bool();
      sp.argv = from_array(p.if_contains("argv"));
      if (auto* par = p.if_contains("parent"); par && par->is_string()) sp.parent = par->get_string();
      if (auto* c = p.if_contains("child_session"); c && c->is_string())
        sp.child_session = std::string(c->get_string());
      s.spans.push_back(std::move(sp));
    }
  }
  s.argv_before_exec = from_array(o->if_contains("argv_before_exec"));
  if (auto* st = o->if_contains("observed_status"); st && st->is_number())
    s.observed_status = st->to_number<int>();
  if (auto* t = o->if_contains("observed_end_ns"); t && t->is_number()) s.observed_end_ns = t->to_number<uint64_t>();
  if (auto* t = o->if_contains("last_record_ns"); t && t->is_number()) s.last_record_ns = t->to_number<uint64_t>();
  if (auto* e = o->if_contains("ended"); e && e->is_bool()) s.ended = e->as_bool();
  s.llm = llm_state_from_json(o->if_contains("llm"));
  if (auto* l = o->if_contains("subagent_of"); l && l->is_object()) {
    const json::object& j = l->get_object();
    SubagentLink link;
    if (auto* x = j.if_contains("session"); x && x->is_string()) link.session = x->get_string();
    if (auto* x = j.if_contains("parent"); x && x->is_string()) link.parent = x->get_string();
    if (auto* x = j.if_contains("t_start"); x && x->is_number()) link.t_start = x->to_number<uint64_t>();
    s.subagent_of = std::move(link);
  }
  s.nested_usage = token_totals_from_json(o->if_contains("nested_usage"));
  if (auto* n = o->if_contains("nested_calls"); n && n->is_number()) s.nested_calls = n->to_number<uint64_t>();
  return s;
}

void Synthesizer::emit(SessionState& s, EventType type, uint64_t t_ns, std::string span,
                       std::optional<std::string> parent, json::object data) {
  Event e;
  e.t_ns = t_ns;
  e.type = type;
  e.session = s.info.id;
  e.span = std::move(span);
  e.parent = std::move(parent);
  e.data = std::move(data);
  ++s.info.events;
  book_.emit(std::move(e));
}

void Synthesizer::apply(const std::string& session, const SpoolRecord& r) {
  using T = wire::RecordType;
  if (r.type == T::proc_start) return on_start(session, r);
  SessionState* s = book_.find(session);
  if (!s) return;  // records before a session start are meaningless
  s->last_record_ns = std::max(s->last_record_ns, r.t_ns);
  if (!s->llm.held.empty()) llm_synth(*s).tick(r.t_ns);
  switch (r.type) {
    case T::exec:
      if (r.argv) {
        s->argv_before_exec = s->info.argv;
        s->info.argv = *r.argv;
      }
      break;
    case T::exec_failed:
      if (!s->argv_before_exec.empty()) s->info.argv = s->argv_before_exec;
      break;
    case T::spawn: on_spawn(*s, r); break;
    case T::spawn_end:
      if (ProcSpan* sp = r.span ? find_span(*s, hex_id(*r.span)) : nullptr; sp && !sp->closed) {
        std::optional<int> status, error;
        if (r.wait_status) status = static_cast<int>(*r.wait_status);
        if (r.error) error = static_cast<int>(*r.error);
        on_span_end(*s, *sp, r.t_ns, status, error);
      }
      break;
    case T::reap:
      for (auto& sp : s->spans) {
        if (!sp.closed && r.child_pid && sp.child_pid == static_cast<int64_t>(*r.child_pid)) {
          on_span_end(*s, sp, r.t_ns, static_cast<int>(r.wait_status.value_or(0)), std::nullopt);
          break;
        }
      }
      break;
    case T::proc_exit: on_exit(*s, r); break;
    case T::observed_exit:
      if (r.wait_status) observed_exit(session, static_cast<int>(*r.wait_status), r.t_ns);
      break;
    case T::conn_open:
    case T::conn_data:
    case T::conn_close:
    case T::conn_note:
      llm_synth(*s).apply(r);
      break;
    default: break;  // newer record types are for later passes of the synthesiser
  }
}

LlmSynth Synthesizer::llm_synth(SessionState& s) {
  return LlmSynth(s.llm, s.info.id,
                  [this, &s](EventType type, uint64_t t_ns, std::string span,
                             std::optional<std::string> parent, json::object data) {
                    if (type == EventType::llm_input && s.info.llm_calls++ == 0)
                      on_first_llm_call(s, t_ns, data);
                    if (type == EventType::before_tool_call) ++s.info.tool_calls;
                    emit(s, type, t_ns, std::move(span), std::move(parent), std::move(data));
                  });
}

void Synthesizer::on_start(const std::string& id, const SpoolRecord& r) {
  if (SessionState* existing = book_.find(id)) {
    // A new image of the same process (exec): same session, new command line.
    if (r.argv) existing->info.argv = *r.argv;
    if (r.cwd) existing->info.cwd = *r.cwd;
    existing->argv_before_exec.clear();
    return;
  }
  SessionState& s = book_.create(id);
  SessionInfo& info = s.info;
  info.id = id;
  info.trace = trace_hex(r);
  info.pid = r.pid;
  info.ppid = static_cast<int64_t>(r.ppid.value_or(0));
  info.argv = r.argv.value_or(std::vector<std::string>{});
  info.cwd = r.cwd.value_or("");
  info.tags = parse_tags(r.tags.value_or(""));
  info.name = r.name.value_or(tool_name(info.argv, "process"));
  info.start_ns = r.t_ns;
  info.status = SessionStatus::running;
  if (r.parent_session) {
    info.parent_session = hex_id(*r.parent_session);
    if (r.parent_span && *r.parent_span) info.parent_span = hex_id(*r.parent_span);
    if (!r.parent_exact.value_or(0)) {
      // The context came from an ancestor's environment: our parent is whichever session
      // of the trace has our parent's pid.
      if (auto p = book_.session_by_pid(info.trace, info.ppid, r.t_ns); p && *p != id) {
        info.parent_session = *p;
        info.parent_span.reset();
      }
    }
    link_child(s);
  }
  json::object d;
  d["pid"] = info.pid;
  d["ppid"] = info.ppid;
  d["argv"] = to_array(info.argv);
  d["cwd"] = info.cwd;
  json::object tags;
  for (const auto& [k, v] : info.tags) tags[k] = v;
  d["tags"] = std::move(tags);
  d["name"] = info.name;
  d["trace"] = info.trace;
  d["via"] = via_name(r.via.value_or(0));
  if (info.parent_session) d["parent_session"] = *info.parent_session;
  if (info.parent_span) d["parent_span"] = *info.parent_span;
  emit(s, EventType::session_start, r.t_ns, id, info.parent_span, std::move(d));
}

// Finds the span of the parent that started this child, and records the link both ways.
void Synthesizer::link_child(SessionState& child) {
  SessionInfo& info = child.info;
  SessionState* parent = book_.find(*info.parent_session);
  if (!parent) return;
  ProcSpan* match = nullptr;
  if (info.parent_span) match = find_span(*parent, *info.parent_span);
  if (!match)
    for (auto& sp : parent->spans)
      if (sp.child_pid == info.pid && sp.t_start <= info.start_ns) match = &sp;
  if (!match) {
    // system()/popen(): the child's pid is not known to the parent; the call that was
    // running when the child started is the one.
    for (auto& sp : parent->spans) {
      bool shell = sp.how == "system" || sp.how == "popen";
      bool covers = sp.t_start <= info.start_ns && (!sp.closed || sp.t_end >= info.start_ns);
      if (shell && covers && !sp.child_session && (!match || sp.t_start > match->t_start)) match = &sp;
    }
  }
  if (!match) {
    // A span the child was told of exactly is kept even before the parent's spawn record
    // is read (the child's records can be ingested first): on_spawn links it then.
    if (!info.parent_span) info.parent_span = info.parent_session;  // under the session span
    return;
  }
  info.parent_span = match->span;
  if (!match->child_session) match->child_session = info.id;
}

void Synthesizer::on_spawn(SessionState& s, const SpoolRecord& r) {
  ProcSpan sp;
  sp.span = hex_id(r.span.value_or(0));
  sp.how = std::string(how_name(r.kind.value_or(0)));
  sp.child_pid = static_cast<int64_t>(r.child_pid.value_or(0));
  sp.t_start = r.t_ns;
  sp.argv = r.argv.value_or(std::vector<std::string>{});
  // The child may have been ingested first (its start record raced ours).
  if (sp.child_pid) {
    if (auto c = book_.session_by_pid(s.info.trace, sp.child_pid, UINT64_MAX)) {
      SessionState* cs = book_.find(*c);
      if (cs && cs->info.parent_span == sp.span) sp.child_session = *c;
    }
  }
  json::object d;
  d["source"] = "process";
  d["how"] = sp.how;
  d["name"] = tool_name(sp.argv, sp.how);
  if (!sp.argv.empty()) d["argv"] = to_array(sp.argv);
  d["cwd"] = s.info.cwd;
  if (sp.child_pid) d["child_pid"] = sp.child_pid;
  ++s.info.tool_calls;
  // Nested under the model tool call that is open, if any (the model asked for it).
  sp.parent = llm_synth(s).open_tool_span().value_or(s.info.id);
  emit(s, EventType::before_tool_call, r.t_ns, sp.span, sp.parent, std::move(d));
  s.spans.push_back(std::move(sp));
  if (r.error) {
    on_span_end(s, s.spans.back(), r.t_ns, std::nullopt, static_cast<int>(*r.error));
  }
}

void Synthesizer::on_span_end(SessionState& s, ProcSpan& sp, uint64_t t_ns,
                              std::optional<int> status, std::optional<int> error) {
  sp.closed = true;
  sp.t_end = t_ns;
  json::object d;
  d["source"] = "process";
  d["how"] = sp.how;
  std::vector<std::string> argv = sp.argv;
  SessionState* child = sp.child_session ? book_.find(*sp.child_session) : nullptr;
  if (child && !child->info.argv.empty()) argv = child->info.argv;  // after its exec
  d["name"] = tool_name(argv, sp.how);
  d["argv"] = to_array(argv);
  if (status) {
    put_wait_status(d, *status);
    if (child && !child->ended) {
      child->observed_status = *status;
      child->observed_end_ns = t_ns;
    }
  } else if (error) {
    d["error"] = std::string("spawn failed: errno ") + std::to_string(*error);
    d["errno"] = *error;
  } else {
    // The parent exited without waiting: report what the child itself said, if anything.
    d["waited"] = false;
    if (child && child->ended && child->info.exit_code) d["exit_code"] = *child->info.exit_code;
  }
  d["duration_s"] = seconds(sp.t_start, t_ns);
  if (sp.child_session) d["child_session"] = *sp.child_session;
  emit(s, EventType::after_tool_call, t_ns, sp.span, sp.parent.empty() ? s.info.id : sp.parent,
       std::move(d));
  trim_closed(s);
}

void Synthesizer::on_exit(SessionState& s, const SpoolRecord& r) {
  if (s.ended) return;
  json::object d;
  SessionStatus status = SessionStatus::ok;
  if (r.exit_code) {
    int code = static_cast<int>(*r.exit_code) & 0xff;
    s.info.exit_code = code;
    d["exit_code"] = code;
    if (code != 0) status = SessionStatus::failed;
  } else {
    d["exit_code"] = nullptr;
  }
  switch (static_cast<wire::ExitVia>(r.exit_via.value_or(0))) {
    case wire::ExitVia::main_return: d["via"] = "main"; break;
    case wire::ExitVia::exit: d["via"] = "exit"; break;
    case wire::ExitVia::exit_now: d["via"] = "_exit"; break;
    case wire::ExitVia::destructor: d["via"] = "exit"; break;
  }
  end_session(s, r.t_ns, std::move(d), status);
}

void Synthesizer::end_session(SessionState& s, uint64_t t_ns, json::object data,
                              SessionStatus status) {
  for (auto& sp : s.spans)
    if (!sp.closed) on_span_end(s, sp, t_ns, std::nullopt, std::nullopt);
  llm_synth(s).finish(t_ns, status == SessionStatus::truncated);
  if (!s.llm.warnings.empty()) {
    json::array w;
    for (const auto& x : s.llm.warnings) w.emplace_back(x);
    data["warnings"] = std::move(w);
  }
  s.ended = true;
  s.info.end_ns = t_ns;
  s.info.status = status;
  data["status"] = to_string(status);
  data["duration_s"] = seconds(s.info.start_ns, t_ns);
  emit(s, EventType::session_end, t_ns, s.info.id, s.info.parent_span, std::move(data));
  end_subagent(s, t_ns, status);
}

// A child session making its first LLM call is a sub-agent of the nearest agent session
// above it: sessions in between (`sh -c`, `xargs`, `npm run`, a launcher script) only
// carried it. With no agent above, it is a top-level agent, not anyone's sub-agent. It
// hangs under the model tool call that was open when its process was started, else under
// that process span.
void Synthesizer::on_first_llm_call(SessionState& s, uint64_t t_ns, const json::object& input) {
  if (!s.info.parent_session || s.subagent_of) return;
  SessionState* anchor = nullptr;
  std::string at;
  const SessionState* cur = &s;
  for (int depth = 0; depth < 256 && !anchor && cur->info.parent_session; ++depth) {
    SessionState* up = book_.find(*cur->info.parent_session);
    if (!up || up == &s) break;
    at = cur->info.parent_span.value_or(up->info.id);
    if (up->info.llm_calls > 0) anchor = up;
    cur = up;
  }
  if (!anchor) return;
  std::string parent = at;
  if (const ProcSpan* sp = find_span(*anchor, at); sp && !sp->parent.empty()) parent = sp->parent;
  std::string tool = llm_synth(*anchor).open_tool_name(parent);
  json::object d;
  d["how"] = "process";
  d["child_session"] = s.info.id;
  d["process_span"] = at;
  d["tool_name"] = tool.empty() ? tool_name(s.info.argv, "process") : tool;
  d["pid"] = s.info.pid;
  d["argv"] = to_array(s.info.argv);
  if (auto* added = input.if_contains("messages_added"); added && added->is_array())
    d["task"] = first_user_text(added->get_array());
  emit(*anchor, EventType::subagent_spawned, t_ns, s.info.id, parent, std::move(d));
  s.subagent_of = SubagentLink{anchor->info.id, parent, t_ns};
}

// The sub-agent's end, reported in the agent session that announced it, with its answer
// and token totals (its own calls and those of the sub-agents under it).
void Synthesizer::end_subagent(SessionState& s, uint64_t t_ns, SessionStatus status) {
  if (!s.subagent_of) return;
  SessionState* up = book_.find(s.subagent_of->session);
  if (!up) return;
  TokenTotals total = s.llm.usage;
  total.add(s.nested_usage);
  const uint64_t calls = s.info.llm_calls + s.nested_calls;
  json::object d;
  d["how"] = "process";
  d["child_session"] = s.info.id;
  d["status"] = to_string(status);
  if (s.info.exit_code) d["exit_code"] = *s.info.exit_code;
  if (s.info.signal) d["signal"] = *s.info.signal;
  d["final_text"] = s.llm.final_text;
  d["provenance"] = json::object{{"returned_in", "process"}, {"session", s.info.id}, {"llm_span", s.llm.final_span}};
  d["llm_calls"] = calls;
  d["usage"] = to_json(total);
  d["duration_s"] = seconds(s.subagent_of->t_start, t_ns);
  emit(*up, EventType::subagent_ended, t_ns, s.info.id, s.subagent_of->parent, std::move(d));
  up->nested_usage.add(total);
  up->nested_calls += calls;
}

void Synthesizer::finish_truncated(const std::string& session, uint64_t t_ns) {
  SessionState* s = book_.find(session);
  if (!s || s->ended) return;
  json::object d;
  d["truncated"] = true;
  d["reason"] = "the process ended without reporting its exit (killed, or exited by a path "
                "ClawTrace does not see)";
  if (s->observed_status) {
    put_wait_status(d, *s->observed_status);
    if (WIFSIGNALED(*s->observed_status)) s->info.signal = WTERMSIG(*s->observed_status);
    if (WIFEXITED(*s->observed_status)) s->info.exit_code = WEXITSTATUS(*s->observed_status);
  }
  // It died between its last record and when its parent (or `clawtrace run`) reaped it.
  const uint64_t end = s->observed_end_ns ? s->observed_end_ns : std::max(t_ns, s->last_record_ns);
  end_session(*s, std::max(end, s->info.start_ns), std::move(d), SessionStatus::truncated);
}

void Synthesizer::observed_exit(const std::string& session, int wait_status, uint64_t t_ns) {
  SessionState* s = book_.find(session);
  if (!s) return;
  if (!s->ended) {
    s->observed_status = wait_status;
    s->observed_end_ns = t_ns;
    return;
  }
  // The process reported its end but not its code (exit() called inside libc).
  if (!s->info.exit_code && WIFEXITED(wait_status)) {
    s->info.exit_code = WEXITSTATUS(wait_status);
    if (*s->info.exit_code != 0 && s->info.status == SessionStatus::ok)
      s->info.status = SessionStatus::failed;
  }
  if (WIFSIGNALED(wait_status)) s->info.signal = WTERMSIG(wait_status);
}

}  // namespace clawtrace
