// OTLP/JSON traces (ExportTraceServiceRequest objects, one per line as the collector's
// file exporter writes them, or one document) into the eight hook events, by the
// OpenTelemetry GenAI conventions. One session per trace. Mapping: docs/interop.md.
#include <algorithm>
#include <map>
#include <optional>

#include "import.h"
#include "import_interop.h"
#include "import_interop_util.h"
#include "json_fields.h"

namespace json = boost::json;
using namespace clawtrace::interop;

namespace clawtrace {
namespace {

constexpr const char* kSource = "otlp";
constexpr int kMaxParentHops = 256;

using Attributes = std::map<std::string, json::value>;

struct Span {
  std::string trace, id, parent, name, service;
  uint64_t start = 0, end = 0;
  int status = 0;  // 0 unset, 1 ok, 2 error
  std::string status_message;
  Attributes attrs;
  std::string operation() const;
  std::string str(const std::string& k) const;
  int64_t count(const std::string& k) const;
};

// OTLP/JSON AnyValue: exactly one of the typed fields (64-bit integers may be strings).
json::value any_value(const json::object& v) {
  if (const auto* s = v.if_contains("stringValue"); s && s->is_string()) return *s;
  if (const auto* i = v.if_contains("intValue")) {
    if (i->is_string()) return json::value(std::strtoll(i->get_string().c_str(), nullptr, 10));
    if (i->is_number()) return json::value(json_fields::number_or<int64_t>(*i));
  }
  if (const auto* d = v.if_contains("doubleValue"); d && d->is_number()) return d->to_number<double>();
  if (const auto* b = v.if_contains("boolValue"); b && b->is_bool()) return *b;
  if (const auto* a = obj(v, "arrayValue")) {
    json::array out;
    if (const auto* values = a->if_contains("values"); values && values->is_array())
      for (const auto& x : values->get_array())
        if (x.is_object()) out.push_back(any_value(x.get_object()));
    return out;
  }
  return nullptr;
}

Attributes attributes_of(const json::object& o) {
  Attributes out;
  if (const auto* a = o.if_contains("attributes"); a && a->is_array())
    for (const auto& kv : a->get_array())
      if (const json::object* e = kv.if_object(); e && obj(*e, "value")) out[text(*e, "key")] = any_value(*obj(*e, "value"));
  return out;
}

std::string Span::str(const std::string& k) const {
  auto it = attrs.find(k);
  if (it == attrs.end()) return "";
  if (it->second.is_string()) return std::string(it->second.get_string());
  if (it->second.is_array() && !it->second.get_array().empty() && it->second.get_array()[0].is_string())
    return std::string(it->second.get_array()[0].get_string());
  return "";
}

int64_t Span::count(const std::string& k) const {
  auto it = attrs.find(k);
  if (it == attrs.end() || !it->second.is_number()) return 0;
  return std::max<int64_t>(0, json_fields::number_or<int64_t>(it->second));
}

// The GenAI operation: gen_ai.operation.name, else guessed from the span name's verb.
std::string Span::operation() const {
  std::string op = str("gen_ai.operation.name");
  if (!op.empty()) return op;
  for (const char* verb : {"chat", "execute_tool", "invoke_agent", "text_completion", "generate_content"})
    if (name.rfind(std::string(verb) + " ", 0) == 0 || name == verb) return verb;
  return "";
}

uint64_t nanos(const json::object& s, std::string_view k) {
  const auto* v = s.if_contains(k);
  if (!v) return 0;
  if (v->is_string()) return std::strtoull(v->get_string().c_str(), nullptr, 10);
  return v->is_number() ? json_fields::number_or<uint64_t>(*v) : 0;
}

bool is_llm(const std::string& op) { return op == "chat" || op == "text_completion" || op == "generate_content"; }

class OtlpConverter {
 public:
  explicit OtlpConverter(const SourceFile& file) : file_(file) {}

  Converted run() {
    read();
    for (const auto& s : spans_) by_id_.emplace(s.trace + "/" + s.id, &s);
    for (const auto& s : spans_) roots_.try_emplace(s.trace, root_of(s));
    std::map<std::string, std::vector<const Span*>> traces;
    for (const auto& s : spans_) traces[s.trace].push_back(&s);
    for (auto& [trace, spans] : traces) emit_trace(trace, spans);
    return std::move(out_);
  }

 private:
  // Every request in the file: each line one, or the whole file one document.
  void read() {
    std::string whole;
    for (const auto& l : file_.lines) whole += l.text + "\n";
    if (Parsed p = parse_object(whole); p.error.empty() && p.object.contains("resourceSpans")) {
      add_request(p.object);
      return;
    }
    for (const auto& line : file_.lines) {
      if (line.text.find_first_not_of(" \t\r") == std::string::npos) continue;
      Parsed p = parse_object(line.text);
      std::string why = p.error;
      if (why.empty() && !p.object.contains("resourceSpans")) why = "not an OTLP request (no \"resourceSpans\")";
      if (!why.empty()) {
        out_.problems.push_back(line_problem(file_.name, line, why));
        ++out_.rejected;
        continue;
      }
      add_request(p.object);
    }
  }

  void add_request(const json::object& request) {
    const auto* rs = request.if_contains("resourceSpans");
    if (!rs || !rs->is_array()) return;
    for (const auto& r : rs->get_array()) {
      const json::object* ro = r.if_object();
      if (!ro) continue;
      std::string service;
      if (const json::object* res = obj(*ro, "resource")) {
        const Attributes a = attributes_of(*res);
        if (auto it = a.find("service.name"); it != a.end() && it->second.is_string()) service = it->second.get_string();
      }
      const auto* scopes = ro->if_contains("scopeSpans");
      if (!scopes || !scopes->is_array()) continue;
      for (const auto& sc : scopes->get_array())
        if (const json::object* so = sc.if_object())
          if (const auto* spans = so->if_contains("spans"); spans && spans->is_array())
            for (const auto& sp : spans->get_array())
              if (const json::object* o = sp.if_object()) add_span(*o, service);
    }
  }

  void add_span(const json::object& o, const std::string& service) {
    Span s;
    s.trace = text(o, "traceId");
    s.id = text(o, "spanId");
    if (s.trace.empty() || s.id.empty()) return;
    s.parent = text(o, "parentSpanId");
    s.name = text(o, "name");
    s.service = service;
    s.start = nanos(o, "startTimeUnixNano");
    s.end = std::max(s.start, nanos(o, "endTimeUnixNano"));
    if (const json::object* st = obj(o, "status")) {
      if (auto code = number(*st, "code")) s.status = static_cast<int>(*code);
      s.status_message = text(*st, "message");
    }
    s.attrs = attributes_of(o);
    spans_.push_back(std::move(s));
  }

  const Span* parent(const Span& s) const {
    auto it = by_id_.find(s.trace + "/" + s.parent);
    return s.parent.empty() || it == by_id_.end() ? nullptr : it->second;
  }

  const Span* root_of(const Span& s) const {
    const Span* at = &s;
    for (int hop = 0; hop < kMaxParentHops; ++hop) {
      const Span* p = parent(*at);
      if (!p) return at;
      at = p;
    }
    return at;  // a cycle: stop somewhere fixed
  }

  // The nearest GenAI ancestor below the root, if any.
  const Span* genai_ancestor(const Span& s, const Span* root) const {
    const Span* at = parent(s);
    for (int hop = 0; at && at != root && hop < kMaxParentHops; ++hop, at = parent(*at))
      if (!at->operation().empty()) return at;
    return nullptr;
  }

  static bool is_agent(const std::string& op) { return op == "invoke_agent" || op == "create_agent"; }

  // An agent span right below another agent span is that agent's own run (ClawTrace's
  // export nests a sub-agent process's session under the sub-agent step): one sub-agent.
  bool collapsed(const Span& s, const Span* root) const {
    const Span* up = genai_ancestor(s, root);
    return is_agent(s.operation()) && up && is_agent(up->operation());
  }

  // The nearest ancestor that becomes a span of its own, else none (the session).
  std::optional<std::string> mapped_parent(const Span& s, const Span* root) const {
    for (const Span* at = genai_ancestor(s, root); at; at = genai_ancestor(*at, root))
      if (!collapsed(*at, root)) return at->id;
    return std::nullopt;
  }

  void emit_trace(const std::string& trace, std::vector<const Span*>& spans) {
    const Span* root = roots_.at(trace);
    std::stable_sort(spans.begin(), spans.end(), [](const Span* a, const Span* b) { return a->start < b->start; });
    const std::string session = import_session_id(std::string(kSource) + ":" + trace);
    auto event = [&](EventType type, uint64_t t, const std::string& span, std::optional<std::string> parent, json::object d) {
      Event e;
      e.type = type;
      e.t_ns = t;
      e.session = session;
      e.span = span;
      e.parent = std::move(parent);
      d["source_format"] = kSource;
      e.data = std::move(d);
      out_.events.push_back(std::move(e));
    };
    const std::string name = !root->str("gen_ai.agent.name").empty() ? root->str("gen_ai.agent.name")
                             : !root->service.empty()                 ? root->service
                                                                      : root->name;
    event(EventType::session_start, spans.front()->start, session, std::nullopt,
          {{"name", name}, {"trace", trace}, {"tags", json::object{{"source", kSource}, {"trace", trace}}}});
    uint64_t last = root->end;
    for (const Span* s : spans) {
      last = std::max(last, s->end);
      if (s == root) continue;
      const std::string op = s->operation();
      const auto parent = mapped_parent(*s, root);
      if (is_llm(op)) llm(*s, parent, event);
      else if (op == "execute_tool") tool(*s, parent, event);
      else if (is_agent(op) && !collapsed(*s, root)) agent(*s, parent, event);
    }
    json::object end{{"status", root->status == 2 ? "failed" : "ok"}};
    if (!root->status_message.empty()) end["error"] = root->status_message;
    event(EventType::session_end, last, session, std::nullopt, std::move(end));
    // Every event of the session in time order (a span's open before its close).
    auto first = std::find_if(out_.events.begin(), out_.events.end(), [&](const Event& e) { return e.session == session; });
    std::stable_sort(first, out_.events.end(), [](const Event& a, const Event& b) { return a.t_ns < b.t_ns; });
  }

  template <class Emit>
  void llm(const Span& s, const std::optional<std::string>& parent, Emit& event) {
    const std::string provider = !s.str("gen_ai.provider.name").empty() ? s.str("gen_ai.provider.name") : s.str("gen_ai.system");
    const std::string model = s.str("gen_ai.request.model");
    event(EventType::llm_input, s.start, s.id, parent,
          {{"provider", provider == "gcp.gemini" ? "gemini" : provider}, {"model", model}, {"span_name", s.name}});
    // gen_ai.usage.input_tokens counts every input token, cached ones included.
    const int64_t read = s.count("gen_ai.usage.cache_read.input_tokens"), write = s.count("gen_ai.usage.cache_creation.input_tokens");
    const int64_t input = std::max<int64_t>(0, s.count("gen_ai.usage.input_tokens") - read - write);
    json::object out{{"provider", provider}, {"model", model}};
    if (!s.str("gen_ai.response.model").empty()) out["model_returned"] = s.str("gen_ai.response.model");
    if (s.attrs.count("gen_ai.usage.input_tokens") || s.attrs.count("gen_ai.usage.output_tokens"))
      out["usage"] = json::object{{"input", input},
                                  {"output", s.count("gen_ai.usage.output_tokens")},
                                  {"cache_read", read},
                                  {"cache_write", write},
                                  {"cache_write_5m", write},
                                  {"cache_write_1h", 0},
                                  {"reasoning", std::max(s.count("gen_ai.usage.reasoning.output_tokens"),
                                                         s.count("clawtrace.usage.reasoning_tokens"))}};
    if (!s.str("gen_ai.response.finish_reasons").empty()) out["stop_reason"] = s.str("gen_ai.response.finish_reasons");
    if (s.status == 2) out["error"] = s.status_message.empty() ? "error" : s.status_message;
    if (auto it = s.attrs.find("clawtrace.call_cost_usd"); it != s.attrs.end() && it->second.is_number())
      out["source_cost_usd"] = it->second.to_number<double>();
    event(EventType::llm_output, s.end, s.id, parent, std::move(out));
  }

  template <class Emit>
  void tool(const Span& s, const std::optional<std::string>& parent, Emit& event) {
    json::object d{{"source", "model"}, {"name", s.str("gen_ai.tool.name")}, {"id", s.str("gen_ai.tool.call.id")}};
    json::object open = d;
    open["arguments"] = s.str("gen_ai.tool.call.arguments");
    event(EventType::before_tool_call, s.start, s.id, parent, std::move(open));
    d["result"] = s.str("gen_ai.tool.call.result");
    if (s.status == 2) {
      d["is_error"] = true;
      d["error"] = s.status_message;
    }
    event(EventType::after_tool_call, s.end, s.id, parent, std::move(d));
  }

  template <class Emit>
  void agent(const Span& s, const std::optional<std::string>& parent, Emit& event) {
    const std::string name = s.str("gen_ai.agent.name");
    event(EventType::subagent_spawned, s.start, s.id, parent, {{"how", "in_process"}, {"tool_name", name}});
    event(EventType::subagent_ended, s.end, s.id, parent,
          {{"how", "in_process"}, {"tool_name", name}, {"status", s.status == 2 ? "failed" : "ok"}});
  }

  const SourceFile& file_;
  std::vector<Span> spans_;
  std::map<std::string, const Span*> by_id_;
  std::map<std::string, const Span*> roots_;
  Converted out_;
};

}  // namespace

Converted convert_otlp(const SourceFile& file) { return OtlpConverter(file).run(); }

}  // namespace clawtrace
