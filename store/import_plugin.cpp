// The original ClawTrace OpenClaw plugin's event stream into the eight hook events.
// Payload field names beyond those SPEC §3 lists are assumptions: docs/interop.md.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "import.h"
#include "import_interop.h"
#include "import_interop_util.h"

namespace json = boost::json;
using namespace clawtrace::interop;

namespace clawtrace {
namespace {

constexpr const char* kSource = "clawtrace-plugin";
constexpr int kMaxParentHops = 64;  // a parentSpanId chain is followed at most this far

struct PluginEvent {
  uint64_t line = 0;
  std::string type, trace, span, parent, agent, id;
  uint64_t t_ns = 0;
  json::object payload;
};

const std::set<std::string>& plugin_types() {
  static const std::set<std::string> types = {"session_start",    "session_end",     "llm_before_call",
                                              "llm_after_call",   "tool_before_call", "tool_after_call",
                                              "subagent_spawn",   "subagent_join"};
  return types;
}

// One line checked against the envelope; the reason when it does not fit.
std::optional<PluginEvent> parse_plugin_line(const SourceLine& line, std::string& why) {
  Parsed p = parse_object(line.text);
  if (!p.error.empty()) return why = p.error, std::nullopt;
  const json::object* ev = obj(p.object, "event");
  if (!ev) return why = "not a plugin event (no \"event\" object)", std::nullopt;
  PluginEvent e;
  e.line = line.number;
  e.type = text(*ev, "eventType");
  if (!plugin_types().count(e.type))
    return why = "\"event.eventType\": \"" + e.type.substr(0, 60) + "\" is not a plugin event type", std::nullopt;
  e.trace = text(*ev, "traceId");
  e.id = text(*ev, "eventId");
  e.span = text(*ev, "spanId");
  if (e.span.empty()) return why = "\"event.spanId\" is missing or not a string", std::nullopt;
  e.parent = text(*ev, "parentSpanId");
  auto ts = number(*ev, "tsMs");
  if (!ts) return why = "\"event.tsMs\" is missing or not a number", std::nullopt;
  e.t_ns = ms_to_ns(*ts);
  e.agent = text(p.object, "agentId");
  if (const json::object* pl = obj(*ev, "payload")) e.payload = *pl;
  return e;
}

struct PluginSession {
  std::string id;   // store id
  std::string key;  // payload.sessionKey
  std::string parent_session, parent_span;
};

class PluginConverter {
 public:
  explicit PluginConverter(const SourceFile& file) : file_(file) {}

  Converted run() {
    for (const auto& line : file_.lines) {
      if (line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string why;
      auto e = parse_plugin_line(line, why);
      if (!e) {
        out_.problems.push_back(line_problem(file_.name, line, why));
        ++out_.rejected;
        continue;
      }
      by_span_.emplace(e->trace + "/" + e->span, events_.size());
      events_.push_back(std::move(*e));
    }
    find_sessions();
    for (const auto& e : events_) emit(e);
    std::stable_sort(out_.events.begin(), out_.events.end(), [&](const Event& a, const Event& b) {
      return order_.at(a.session) != order_.at(b.session) ? order_.at(a.session) < order_.at(b.session) : a.t_ns < b.t_ns;
    });
    return std::move(out_);
  }

 private:
  std::string span_key(const PluginEvent& e) const { return e.trace + "/" + e.span; }

  void find_sessions() {
    for (const auto& e : events_)
      if (e.type == "session_start") {
        PluginSession s;
        s.id = import_session_id(std::string(kSource) + ":" + span_key(e));
        s.key = text(e.payload, "sessionKey");
        sessions_[span_key(e)] = s;
        if (!s.key.empty()) by_key_.emplace(s.key, span_key(e));
      }
    // A spawned session: under the spawn whose childSessionKey it has.
    for (const auto& e : events_)
      if (e.type == "subagent_spawn") {
        const std::string child = text(e.payload, "childSessionKey");
        auto it = by_key_.find(child);
        if (child.empty() || it == by_key_.end()) continue;
        PluginSession& c = sessions_.at(it->second);
        c.parent_session = session_of(e).id;
        c.parent_span = e.span;
        spawn_of_key_[child] = &e;
      }
  }

  // The session an event belongs to: the one whose span it has (session_end), else the
  // nearest session_start up its parentSpanId chain; else the one its payload's
  // sessionKey names; else one for its trace.
  const PluginSession& session_of(const PluginEvent& e) {
    if (auto own = by_span_.find(span_key(e)); own != by_span_.end() && events_[own->second].type == "session_start")
      return sessions_.at(span_key(e));
    const PluginEvent* at = &e;
    for (int hop = 0; at && hop < kMaxParentHops; ++hop) {
      if (at->type == "session_start") return sessions_.at(span_key(*at));
      auto it = by_span_.find(at->trace + "/" + at->parent);
      at = at->parent.empty() || it == by_span_.end() ? nullptr : &events_[it->second];
    }
    if (auto k = by_key_.find(text(e.payload, "sessionKey")); k != by_key_.end()) return sessions_.at(k->second);
    for (const auto& [key, s] : sessions_)
      if (key.compare(0, e.trace.size() + 1, e.trace + "/") == 0) return s;
    PluginSession& orphan = sessions_["trace:" + e.trace];
    if (orphan.id.empty()) orphan.id = import_session_id(std::string(kSource) + ":" + e.trace);
    return orphan;
  }

  // The event's parent span in its own session (null: the session itself).
  std::optional<std::string> parent_of(const PluginEvent& e, const PluginSession& s) {
    auto it = by_span_.find(e.trace + "/" + e.parent);
    if (e.parent.empty() || it == by_span_.end()) return std::nullopt;
    const PluginEvent& p = events_[it->second];
    if (p.type == "session_start" || session_of(p).id != s.id) return std::nullopt;
    return p.span;
  }

  void emit(const PluginEvent& e) {
    const PluginSession& s = session_of(e);
    order_.emplace(s.id, order_.size());
    Event out;
    out.t_ns = e.t_ns;
    out.session = s.id;
    const bool session_event = e.type == "session_start" || e.type == "session_end";
    out.span = session_event ? s.id : e.span;
    out.parent = session_event ? std::nullopt : parent_of(e, s);
    const json::object& p = e.payload;
    if (e.type == "session_start") session_start(e, s, out);
    else if (e.type == "session_end") session_end(p, out);
    else if (e.type == "llm_before_call") llm_before(p, out);
    else if (e.type == "llm_after_call") llm_after(p, out);
    else if (e.type == "tool_before_call") tool_before(e, out);
    else if (e.type == "tool_after_call") tool_after(e, out);
    else if (e.type == "subagent_spawn") spawn(e, out);
    else if (!join(e, out)) return;
    out.data["source_format"] = kSource;
    if (!e.id.empty()) out.data["source_event_id"] = e.id;
    out_.events.push_back(std::move(out));
  }

  void session_start(const PluginEvent& e, const PluginSession& s, Event& out) {
    out.type = EventType::session_start;
    const std::string agent = text(e.payload, "agentId").empty() ? e.agent : text(e.payload, "agentId");
    out.data["name"] = "openclaw plugin " + (s.key.empty() ? agent : s.key);
    json::object tags{{"source", kSource}, {"trace", e.trace}};
    if (!agent.empty()) tags["agent"] = agent;
    if (!s.key.empty()) tags["session_key"] = s.key;
    out.data["tags"] = std::move(tags);
    out.data["trace"] = e.trace;
    if (auto cwd = text(e.payload, "cwd"); !cwd.empty()) out.data["cwd"] = cwd;
    if (!s.parent_session.empty()) {
      out.data["parent_session"] = s.parent_session;
      out.data["parent_span"] = s.parent_span;
    }
  }

  static void session_end(const json::object& p, Event& out) {
    out.type = EventType::session_end;
    const std::string outcome = text(p, "outcome");
    const bool failed = !as_text(p.if_contains("error")).empty() ||
                        (!outcome.empty() && outcome != "ok" && outcome != "success" && outcome != "completed");
    out.data["status"] = failed ? "failed" : "ok";
    if (!outcome.empty()) out.data["outcome"] = outcome;
    if (auto err = as_text(p.if_contains("error")); !err.empty()) out.data["error"] = err;
  }

  static void llm_before(const json::object& p, Event& out) {
    out.type = EventType::llm_input;
    out.data["provider"] = text(p, "provider");
    out.data["model"] = text(p, "model");
    out.data["detail"] = "run";  // one span per agent run: the calls inside are not known
    if (auto run = text(p, "runId"); !run.empty()) out.data["run_id"] = run;
    if (auto prompt = text(p, "prompt"); !prompt.empty())
      out.data["transcript_messages"] = json::array{json::object{{"role", "user"}, {"content", prompt}}};
  }

  static void llm_after(const json::object& p, Event& out) {
    out.type = EventType::llm_output;
    out.data["provider"] = text(p, "provider");
    out.data["model"] = text(p, "model");
    if (!text(p, "model").empty()) out.data["model_returned"] = text(p, "model");
    out.data["detail"] = "run";
    if (const json::object* u = obj(p, "usage"))
      out.data["usage"] = json::object{{"input", tokens(*u, "input")},
                                       {"output", tokens(*u, "output")},
                                       {"cache_read", tokens(*u, "cacheRead")},
                                       {"cache_write", tokens(*u, "cacheWrite")},
                                       {"reasoning", tokens(*u, "reasoning")}};
    if (auto cost = number(p, "costUsd")) out.data["source_cost_usd"] = *cost;
    if (auto t = text(p, "assistantText"); !t.empty()) out.data["text"] = t;
    if (auto r = text(p, "stopReason"); !r.empty()) out.data["stop_reason"] = r;
    if (auto d = number(p, "durationMs")) out.data["duration_ms"] = *d;
    if (auto err = as_text(p.if_contains("error")); !err.empty()) out.data["error"] = err;
  }

  static json::object tool_data(const PluginEvent& e) {
    const json::object& p = e.payload;
    const std::string id = text(p, "toolCallId");
    return {{"source", "model"}, {"name", text(p, "toolName")}, {"id", id.empty() ? e.span : id}};
  }

  static void tool_before(const PluginEvent& e, Event& out) {
    out.type = EventType::before_tool_call;
    out.data = tool_data(e);
    out.data["arguments"] = as_text(e.payload.if_contains("params"));
  }

  static void tool_after(const PluginEvent& e, Event& out) {
    out.type = EventType::after_tool_call;
    out.data = tool_data(e);
    const std::string err = as_text(e.payload.if_contains("error"));
    out.data["result"] = err.empty() ? as_text(e.payload.if_contains("result")) : err;
    out.data["is_error"] = !err.empty();
    if (!err.empty()) out.data["error"] = err;
    if (auto d = number(e.payload, "durationMs")) out.data["duration_ms"] = *d;
  }

  void spawn(const PluginEvent& e, Event& out) {
    out.type = EventType::subagent_spawned;
    const json::object& p = e.payload;
    const std::string key = text(p, "childSessionKey");
    out.data = {{"how", "in_process"}, {"tool_name", "sessions_spawn"}, {"child_session_key", key}};
    if (auto task = text(p, "task"); !task.empty()) out.data["task"] = task;
    if (auto label = text(p, "label"); !label.empty()) out.data["label"] = label;
    if (auto it = by_key_.find(key); it != by_key_.end()) out.data["child_session"] = sessions_.at(it->second).id;
  }

  // subagent_join closes its spawn's span; a join of no known spawn is kept as its own.
  bool join(const PluginEvent& e, Event& out) {
    out.type = EventType::subagent_ended;
    const json::object& p = e.payload;
    const std::string key = text(p, "targetSessionKey");
    const std::string outcome = text(p, "outcome");
    out.data = {{"how", "in_process"}, {"child_session_key", key}};
    out.data["status"] = outcome.empty() || outcome == "ok" || outcome == "success" || outcome == "completed" ? "ok" : outcome;
    if (auto t = text(p, "resultText"); !t.empty()) out.data["final_text"] = t;
    if (auto it = spawn_of_key_.find(key); it != spawn_of_key_.end()) {
      out.span = it->second->span;
      out.parent = parent_of(*it->second, session_of(*it->second));
      if (auto c = by_key_.find(key); c != by_key_.end()) out.data["child_session"] = sessions_.at(c->second).id;
    }
    return true;
  }

  const SourceFile& file_;
  Converted out_;
  std::vector<PluginEvent> events_;
  std::map<std::string, size_t> by_span_;                  // trace/span -> its first event
  std::map<std::string, PluginSession> sessions_;          // trace/span of session_start
  std::map<std::string, std::string> by_key_;              // sessionKey -> trace/span
  std::map<std::string, const PluginEvent*> spawn_of_key_;  // childSessionKey -> its spawn
  std::map<std::string, size_t> order_;                    // store id -> first seen
};

}  // namespace

Converted convert_plugin(const SourceFile& file) { return PluginConverter(file).run(); }

}  // namespace clawtrace
