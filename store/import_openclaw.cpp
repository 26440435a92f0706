// OpenClaw session transcripts (a header line {"type":"session","version","id",...}, then
// entries {"type","id","parentId","timestamp",...}; "message" entries carry user,
// assistant and toolResult messages) into the eight hook events. docs/interop.md.
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

constexpr const char* kSource = "openclaw-transcript";

// A sessions_spawn call the child accepted: where its sub-agent hangs.
struct Spawn {
  std::string key, run_id, task, tool_span;
  uint64_t t_ns = 0;
};

struct Transcript {
  std::string file, agent;  // agent: from .../agents/<agent>/sessions/<id>.jsonl
  std::string source_id, id, cwd;
  uint64_t start_ns = 0, last_ns = 0;
  bool header = false, truncated = false, failed = false;
  std::vector<Event> body;  // every event but session_start / session_end
  std::set<std::string> run_ids;
  std::vector<Spawn> spawns;
  std::string final_text;
  uint64_t llm_calls = 0;
  std::string parent_session, parent_span;  // when a spawn of another transcript started it
};

std::string stem_of(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
  if (auto dot = base.find(".jsonl"); dot != std::string::npos) base.resize(dot);
  return base;
}

std::string agent_of(const std::string& path) {
  const std::string marker = "/agents/";
  auto at = path.rfind(marker);
  if (at == std::string::npos) return "";
  auto end = path.find('/', at + marker.size());
  return end == std::string::npos ? "" : path.substr(at + marker.size(), end - at - marker.size());
}

// The text blocks of a message's content (a string, or an array of {type, text} blocks).
std::string text_of(const json::value* content, std::string_view type = "text") {
  if (!content) return "";
  if (content->is_string()) return std::string(content->get_string());
  std::string out;
  if (content->is_array())
    for (const auto& b : content->get_array())
      if (b.is_object() && text(b.get_object(), "type") == type) {
        if (!out.empty()) out += "\n";
        out += text(b.get_object(), type == "thinking" ? "thinking" : "text");
      }
  return out;
}

json::object text_message(const std::string& role, const std::string& body) {
  return {{"role", role}, {"content", json::array{json::object{{"type", "text"}, {"text", body}}}}};
}

class TranscriptReader {
 public:
  TranscriptReader(const SourceFile& f, Converted& out) : f_(f), out_(out) {}

  Transcript run() {
    t_.file = f_.name;
    t_.agent = agent_of(f_.name);
    t_.source_id = stem_of(f_.name);
    for (const auto& line : f_.lines) {
      if (line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (auto why = take(line); !why.empty()) {
        out_.problems.push_back(line_problem(f_.name, line, why));
        ++out_.rejected;
        if (line.unterminated) t_.truncated = true;
      }
    }
    close_open_tools();
    t_.id = import_session_id(std::string("openclaw:") + t_.source_id);
    for (auto& e : t_.body) e.session = t_.id;
    return std::move(t_);
  }

 private:
  // Why the line was rejected, or empty.
  std::string take(const SourceLine& line) {
    Parsed p = parse_object(line.text);
    if (!p.error.empty()) return p.error;
    const json::object& o = p.object;
    const std::string type = text(o, "type");
    if (type.empty()) return "not an OpenClaw transcript entry (no \"type\")";
    const uint64_t t = iso_to_ns(text(o, "timestamp"));
    if (type == "session") return header(o, t);
    if (t) {
      if (!t_.start_ns) t_.start_ns = t;
      t_.last_ns = std::max(t_.last_ns, t);
    }
    if (type != "message") return "";  // model changes, custom state, compactions: no event
    const json::object* m = obj(o, "message");
    if (!m) return "\"message\" is missing or not an object";
    const std::string role = text(*m, "role");
    if (const json::object* oc = obj(*m, "__openclaw"); oc && !text(*oc, "runId").empty())
      t_.run_ids.insert(text(*oc, "runId"));
    if (auto key = text(*m, "idempotencyKey"); key.size() > 5 && key.compare(key.size() - 5, 5, ":user") == 0)
      t_.run_ids.insert(key.substr(0, key.size() - 5));
    if (role == "assistant") assistant(o, *m, t);
    else if (role == "toolResult") tool_result(*m, t);
    else pending_.push_back(text_message(role.empty() ? "user" : role, text_of(m->if_contains("content"))));
    return "";
  }

  std::string header(const json::object& o, uint64_t t) {
    if (t_.header) return "a second session header";
    t_.header = true;
    if (auto id = text(o, "id"); !id.empty()) t_.source_id = id;
    t_.cwd = text(o, "cwd");
    if (t) t_.start_ns = t;
    t_.last_ns = std::max(t_.last_ns, t);
    return "";
  }

  Event event(EventType type, uint64_t t, std::string span, std::optional<std::string> parent) {
    Event e;
    e.type = type;
    e.t_ns = t;
    e.span = std::move(span);
    e.parent = std::move(parent);
    return e;
  }

  // One assistant message is one LLM call: the request at the message's own timestamp
  // (when the call started), the response when the entry was written.
  void assistant(const json::object& entry, const json::object& m, uint64_t t_out) {
    const std::string span = "llm:" + text(entry, "id");
    uint64_t t_in = ms_to_ns(number(m, "timestamp").value_or(0));
    if (!t_in || t_in > t_out) t_in = t_out;
    t_in = std::max(t_in, last_event_ns_);
    t_out = std::max(t_out, t_in);
    last_event_ns_ = t_out;
    ++t_.llm_calls;
    const std::string provider = text(m, "provider"), model = text(m, "model");
    // What the request carried beyond the previous one: the previous answer, then the
    // messages since, in the normalised block form. Kept as transcript_messages, not
    // messages_added: the transcript lacks the system prompt, tool definitions and request
    // sizes — most of each request — so splitting a call's input cost over these messages
    // alone would charge them for the rest; each imported call keeps its own input cost.
    json::array added;
    if (last_answer_) added.push_back(std::move(*last_answer_));
    last_answer_.reset();
    for (auto& msg : pending_) added.push_back(std::move(msg));
    pending_.clear();
    Event in = event(EventType::llm_input, t_in, span, std::nullopt);
    in.data = {{"provider", provider}, {"model", model}, {"api", text(m, "api")}, {"transcript_messages_from", conversation_}};
    conversation_ += added.size();
    in.data["transcript_messages"] = std::move(added);
    t_.body.push_back(std::move(in));
    Event out = event(EventType::llm_output, t_out, span, std::nullopt);
    out.data = {{"provider", provider}, {"model", model}, {"model_returned", model}};
    usage(m, out.data);
    const json::value* content = m.if_contains("content");
    out.data["text"] = text_of(content);
    if (auto th = text_of(content, "thinking"); !th.empty()) out.data["thinking"] = th;
    const std::string stop = text(m, "stopReason");
    if (!stop.empty()) out.data["stop_reason"] = stop;
    if (auto id = text(m, "responseId"); !id.empty()) out.data["response_id"] = id;
    if (auto err = text(m, "errorMessage"); !err.empty() || stop == "error") out.data["error"] = err.empty() ? stop : err;
    t_.failed = stop == "error" || stop == "aborted";
    if (!text_of(content).empty()) t_.final_text = text_of(content);
    json::array calls;
    json::array answer;  // the message as the next request carries it
    if (!text_of(content).empty()) answer.push_back(json::object{{"type", "text"}, {"text", text_of(content)}});
    std::vector<Event> opened;
    if (content && content->is_array())
      for (const auto& b : content->get_array())
        if (b.is_object() && text(b.get_object(), "type") == "toolCall") {
          const json::object& c = b.get_object();
          const std::string id = text(c, "id");
          const std::string args = as_text(c.if_contains("arguments"));
          calls.push_back(json::object{{"id", id}, {"name", text(c, "name")}, {"arguments", args}});
          answer.push_back(json::object{{"type", "tool_use"}, {"id", id}, {"name", text(c, "name")}, {"arguments", args}});
          Event before = event(EventType::before_tool_call, t_out, tool_span(id), span);
          before.data = {{"source", "model"}, {"id", id}, {"name", text(c, "name")}, {"arguments", args}};
          open_tools_[id] = {before.span, text(c, "name"), args, span};
          opened.push_back(std::move(before));
        }
    out.data["tool_calls"] = std::move(calls);
    last_answer_ = json::object{{"role", "assistant"}, {"content", std::move(answer)}};
    t_.body.push_back(std::move(out));
    for (auto& e : opened) t_.body.push_back(std::move(e));
  }

  // Usage as SPEC §5 billing classes (pi-ai's `input` already excludes cache reads), and
  // OpenClaw's own cost figure alongside.
  static void usage(const json::object& m, json::object& data) {
    const json::object* u = obj(m, "usage");
    if (!u) return;
    data["usage"] = json::object{{"input", tokens(*u, "input")},
                                 {"output", tokens(*u, "output")},
                                 {"cache_read", tokens(*u, "cacheRead")},
                                 {"cache_write", tokens(*u, "cacheWrite")},
                                 {"reasoning", tokens(*u, "reasoningTokens")}};
    if (const json::object* c = obj(*u, "cost"))
      if (auto total = number(*c, "total")) data["source_cost_usd"] = *total;
  }

  std::string tool_span(const std::string& id) {
    std::string span = "tool:" + id;
    if (const size_t n = ++tool_spans_[span]; n > 1) span += "#" + std::to_string(n);
    return span;
  }

  void tool_result(const json::object& m, uint64_t t) {
    const std::string id = text(m, "toolCallId");
    const std::string result = text_of(m.if_contains("content"));
    const json::value* err = m.if_contains("isError");
    const bool is_error = err && err->is_bool() && err->get_bool();
    pending_.push_back(json::object{
        {"role", "user"},
        {"content", json::array{json::object{
                        {"type", "tool_result"}, {"tool_use_id", id}, {"content", result}, {"is_error", is_error}}}}});
    auto it = open_tools_.find(id);
    if (it == open_tools_.end()) return;  // a result of no call seen: context only
    const OpenTool tool = it->second;
    open_tools_.erase(it);
    t = std::max(t, last_event_ns_);
    last_event_ns_ = t;
    Event after = event(EventType::after_tool_call, t, tool.span, tool.parent);
    after.data = {{"source", "model"}, {"id", id}, {"name", tool.name}, {"result", result}, {"is_error", is_error}};
    t_.body.push_back(std::move(after));
    const json::object* details = obj(m, "details");
    if (tool.name == "sessions_spawn" && details && !text(*details, "childSessionKey").empty()) {
      Parsed args = parse_object(tool.args);
      t_.spawns.push_back({text(*details, "childSessionKey"), text(*details, "runId"),
                           args.error.empty() ? text(args.object, "task") : "", tool.span, t});
    }
  }

  // A call whose result never came: closed at the end, marked abandoned (as live tracing does).
  void close_open_tools() {
    for (const auto& [id, tool] : open_tools_) {
      Event after = event(EventType::after_tool_call, std::max(t_.last_ns, last_event_ns_), tool.span, tool.parent);
      after.data = {{"source", "model"}, {"id", id}, {"name", tool.name}, {"abandoned", true}};
      t_.body.push_back(std::move(after));
    }
  }

  struct OpenTool {
    std::string span, name, args, parent;
  };

  const SourceFile& f_;
  Converted& out_;
  Transcript t_;
  json::array pending_;                      // user and tool-result messages since the last call
  std::optional<json::object> last_answer_;  // the last call's answer, not yet carried
  uint64_t conversation_ = 0;                // messages carried so far
  std::map<std::string, OpenTool> open_tools_;
  std::map<std::string, size_t> tool_spans_;
  uint64_t last_event_ns_ = 0;
};

// Sub-agents: a spawn in one transcript and the transcript whose messages carry its runId.
void link_subagents(std::vector<Transcript>& ts) {
  for (auto& parent : ts)
    for (const auto& sp : parent.spawns) {
      Transcript* child = nullptr;
      for (auto& c : ts)
        if (&c != &parent && !sp.run_id.empty() && c.run_ids.count(sp.run_id) && c.parent_session.empty()) child = &c;
      const std::string span = "subagent:" + sp.key;
      Event open;
      open.type = EventType::subagent_spawned;
      open.t_ns = sp.t_ns;
      open.session = parent.id;
      open.span = span;
      open.parent = sp.tool_span;
      open.data = {{"how", "in_process"}, {"tool_name", "sessions_spawn"}, {"task", sp.task},
                   {"child_session_key", sp.key}, {"run_id", sp.run_id}};
      if (!child) {
        parent.body.push_back(std::move(open));
        continue;
      }
      child->parent_session = parent.id;
      child->parent_span = span;
      open.data["child_session"] = child->id;
      Event end = open;
      end.type = EventType::subagent_ended;
      end.t_ns = std::max(child->last_ns, sp.t_ns);
      end.data = {{"how", "in_process"}, {"child_session", child->id}, {"child_session_key", sp.key},
                  {"status", child->failed ? "failed" : "ok"}, {"final_text", child->final_text},
                  {"llm_calls", child->llm_calls}};
      parent.body.push_back(std::move(open));
      parent.body.push_back(std::move(end));
    }
}

void emit(Transcript& t, Converted& out) {
  Event start;
  start.type = EventType::session_start;
  start.t_ns = t.start_ns;
  start.session = start.span = t.id;
  start.data = {{"name", "openclaw " + (t.agent.empty() ? "" : t.agent + " ") + t.source_id},
                {"tags", json::object{{"source", kSource}, {"openclaw_session", t.source_id}}}};
  if (!t.agent.empty()) start.data["tags"].as_object()["agent"] = t.agent;
  if (!t.cwd.empty()) start.data["cwd"] = t.cwd;
  if (!t.parent_session.empty()) {
    start.data["parent_session"] = t.parent_session;
    start.data["parent_span"] = t.parent_span;
  }
  std::stable_sort(t.body.begin(), t.body.end(), [](const Event& a, const Event& b) { return a.t_ns < b.t_ns; });
  const std::string thread_role = t.parent_session.empty() ? "main" : "subagent";
  out.events.push_back(std::move(start));
  for (auto& e : t.body) {
    e.data["source_format"] = kSource;
    if (e.type == EventType::llm_input) {
      e.data["thread"] = t.id;
      e.data["thread_role"] = thread_role;
    }
    out.events.push_back(std::move(e));
  }
  if (t.truncated) return;  // the session stays truncated: its record was cut off
  Event end;
  end.type = EventType::session_end;
  end.t_ns = std::max(t.last_ns, t.start_ns);
  end.session = end.span = t.id;
  end.data = {{"status", t.failed ? "failed" : "ok"}, {"source_format", kSource}, {"note", "end of transcript"}};
  out.events.push_back(std::move(end));
}

}  // namespace

Converted convert_openclaw(const std::vector<SourceFile>& files) {
  Converted out;
  std::vector<Transcript> ts;
  for (const auto& f : files) ts.push_back(TranscriptReader(f, out).run());
  link_subagents(ts);
  for (auto& t : ts) emit(t, out);
  return out;
}

}  // namespace clawtrace
