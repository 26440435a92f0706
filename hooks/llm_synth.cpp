#include "llm_synth.h"

#include <algorithm>
#include <cstring>

namespace json = boost::json;

namespace clawtrace {
namespace {

constexpr size_t kThreadsKept = 64;

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z ? z : 1;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kB64[(v >> k) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string unbase64(std::string_view in) {
  std::string out;
  uint32_t v = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = c ? std::strchr(kB64, c) : nullptr;
    if (!p) continue;  // padding or junk
    v = (v << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xff);
    }
  }
  return out;
}

std::string str(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

uint64_t u64(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_number()) return v->to_number<uint64_t>();
  return 0;
}

double ms(uint64_t from, uint64_t to) {
  return to > from ? static_cast<double>(to - from) / 1e6 : 0.0;
}

std::string layer_name(uint64_t layer) {
  return static_cast<wire::Layer>(layer) == wire::Layer::tls ? "tls" : "socket";
}

json::array names(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// Common fields of llm_input and llm_output.
json::object call_fields(const llm::RequestInfo& req) {
  json::object d;
  d["provider"] = req.provider;
  d["api"] = llm::to_string(req.api);
  d["host"] = req.host;
  d["endpoint"] = req.endpoint;
  d["model"] = req.model;
  d["stream"] = req.stream;
  return d;
}

std::string exchange_span(uint64_t conn_id, uint64_t index) { return hex_id(mix(conn_id, index)); }

}  // namespace

// ---- state persistence -------------------------------------------------------------------

json::object to_json(const LlmState& s) {
  json::object o;
  json::object conns;
  for (const auto& [id, c] : s.conns) {
    json::object j;
    j["http"] = base64(c.http.save());
    j["host"] = c.host;
    j["peer"] = c.peer;
    j["layer"] = c.layer;
    conns[hex_id(id)] = std::move(j);
  }
  o["conns"] = std::move(conns);
  json::array calls;
  for (const auto& c : s.open_calls)
    calls.push_back(json::object{{"span", c.span}, {"id", c.id}, {"name", c.name},
                                 {"llm_span", c.llm_span}, {"t_start", c.t_start}});
  o["open_calls"] = std::move(calls);
  json::array threads;
  for (const auto& t : s.threads) {
    json::array m;
    for (uint64_t h : t.messages) m.emplace_back(h);
    threads.push_back(json::object{{"id", t.id}, {"messages", std::move(m)}, {"system", t.system},
                                   {"last_ns", t.last_ns}});
  }
  o["threads"] = std::move(threads);
  o["warnings"] = names(s.warnings);
  o["calls"] = s.calls;
  return o;
}

LlmState llm_state_from_json(const json::value* v) {
  LlmState s;
  const json::object* o = v ? v->if_object() : nullptr;
  if (!o) return s;
  if (auto* conns = o->if_contains("conns"); conns && conns->is_object()) {
    for (const auto& [key, jv] : conns->get_object()) {
      auto id = parse_hex_id(key);
      const json::object* j = jv.if_object();
      if (!id || !j) continue;
      CapturedConn c;
      c.http = http::Connection::restore(unbase64(str(*j, "http")));
      c.host = str(*j, "host");
      c.peer = str(*j, "peer");
      c.layer = str(*j, "layer");
      s.conns.emplace(*id, std::move(c));
    }
  }
  if (auto* calls = o->if_contains("open_calls"); calls && calls->is_array())
    for (const auto& jv : calls->get_array())
      if (const json::object* j = jv.if_object())
        s.open_calls.push_back({str(*j, "span"), str(*j, "id"), str(*j, "name"),
                                str(*j, "llm_span"), u64(*j, "t_start")});
  if (auto* threads = o->if_contains("threads"); threads && threads->is_array()) {
    for (const auto& jv : threads->get_array()) {
      const json::object* j = jv.if_object();
      if (!j) continue;
      Thread t{str(*j, "id"), {}, u64(*j, "system"), u64(*j, "last_ns")};
      if (auto* m = j->if_contains("messages"); m && m->is_array())
        for (const auto& h : m->get_array())
          if (h.is_number()) t.messages.push_back(h.to_number<uint64_t>());
      s.threads.push_back(std::move(t));
    }
  }
  if (auto* w = o->if_contains("warnings"); w && w->is_array())
    for (const auto& x : w->get_array())
      if (x.is_string()) s.warnings.emplace_back(x.get_string());
  s.calls = u64(*o, "calls");
  return s;
}

// ---- records -----------------------------------------------------------------------------

void LlmSynth::apply(const SpoolRecord& r) {
  using T = wire::RecordType;
  if (!r.conn) return;
  const uint64_t id = *r.conn;
  switch (r.type) {
    case T::conn_open: {
      CapturedConn& c = s_.conns[id];
      c.host = r.host.value_or("");
      c.peer = r.peer.value_or("");
      c.layer = layer_name(r.layer.value_or(0));
      break;
    }
    case T::conn_data: {
      auto it = s_.conns.find(id);
      if (it == s_.conns.end() || !r.payload) return;
      const auto dir = r.direction.value_or(0) == 0 ? http::Direction::out : http::Direction::in;
      it->second.http.feed(dir, r.stream_offset.value_or(0), *r.payload, r.t_ns);
      drain(id, it->second);
      break;
    }
    case T::conn_close: {
      auto it = s_.conns.find(id);
      if (it == s_.conns.end()) return;
      it->second.http.close(r.t_ns);
      drain(id, it->second);
      s_.conns.erase(it);
      break;
    }
    case T::conn_note: {
      std::string where = r.host.value_or(r.peer.value_or(""));
      if (static_cast<wire::NoteKind>(r.note.value_or(0)) == wire::NoteKind::http2_unsupported)
        s_.warnings.push_back("an HTTP/2 connection" + (where.empty() ? "" : " to " + where) +
                              " was not captured: HTTP/2 is not supported yet");
      break;
    }
    default: break;
  }
}

void LlmSynth::finish(uint64_t t_ns) {
  for (auto& [id, c] : s_.conns) {
    c.http.close(t_ns);
    drain(id, c);
  }
  s_.conns.clear();
  for (const auto& call : s_.open_calls) {
    json::object d;
    d["source"] = "model";
    d["id"] = call.id;
    d["name"] = call.name;
    d["abandoned"] = true;
    d["reason"] = "no result for this tool call before the session ended";
    d["duration_s"] = ms(call.t_start, t_ns) / 1e3;
    emit_(EventType::after_tool_call, t_ns, call.span, call.llm_span, std::move(d));
  }
  s_.open_calls.clear();
}

std::optional<std::string> LlmSynth::open_tool_span() const {
  if (s_.open_calls.empty()) return std::nullopt;
  return s_.open_calls.back().span;
}

void LlmSynth::drain(uint64_t conn_id, CapturedConn& c) {
  for (const auto& u : c.http.take_updates()) {
    if (u.kind == http::Update::Kind::request) on_request(conn_id, c, u.exchange);
    else on_exchange(conn_id, c, u.exchange);
  }
}

Thread& LlmSynth::thread_for(const std::vector<uint64_t>& hashes, uint64_t system,
                             size_t* first_new) {
  Thread* best = nullptr;
  size_t best_len = 0;
  for (auto& t : s_.threads) {
    if (t.messages.empty() || t.messages.size() > hashes.size()) continue;
    if (!std::equal(t.messages.begin(), t.messages.end(), hashes.begin())) continue;
    if (!best || t.messages.size() > best_len) {
      best = &t;
      best_len = t.messages.size();
    }
  }
  *first_new = best_len;
  if (!best) {
    if (s_.threads.size() >= kThreadsKept)
      s_.threads.erase(std::min_element(s_.threads.begin(), s_.threads.end(),
                                        [](auto& a, auto& b) { return a.last_ns < b.last_ns; }));
    s_.threads.push_back(Thread{hex_id(mix(fnv1a(session_), s_.calls + 1)), {}, system, 0});
    best = &s_.threads.back();
  }
  best->messages = hashes;
  return *best;
}

void LlmSynth::on_request(uint64_t conn_id, CapturedConn& c, const http::Exchange& ex) {
  auto api = llm::detect(ex.request);
  if (!api) return;
  const std::string span = exchange_span(conn_id, ex.index);
  auto req = llm::parse_request(*api, ex.request);
  ++s_.calls;
  if (!req) {
    json::object d;
    d["api"] = llm::to_string(*api);
    d["endpoint"] = std::string(ex.request.path());
    d["error"] = req.error();
    emit_(EventType::llm_input, ex.request.t_start_ns, span, session_, std::move(d));
    return;
  }
  std::vector<uint64_t> hashes;
  for (const auto& m : req->messages) hashes.push_back(fnv1a(json::serialize(m)));
  const uint64_t system = fnv1a(json::serialize(req->system));
  size_t first_new = 0;
  Thread& thread = thread_for(hashes, system, &first_new);
  const bool system_changed = first_new == 0 || thread.system != system;
  thread.system = system;
  thread.last_ns = ex.request.t_start_ns;
  const std::string thread_id = thread.id;
  close_answered_calls(req.value(), first_new, ex.request.t_start_ns);

  json::object d = call_fields(req.value());
  d["connection"] = hex_id(conn_id);
  d["exchange"] = ex.index;
  d["thread"] = thread_id;
  d["request_bytes"] = req->request_bytes;
  d["messages_total"] = req->messages.size();
  d["messages_added_from"] = first_new;
  json::array added;
  for (size_t i = first_new; i < req->messages.size(); ++i) added.push_back(req->messages[i]);
  d["messages_added"] = std::move(added);
  if (system_changed) d["system"] = req->system;
  d["tools"] = names(req->tools);
  if (!c.host.empty()) d["sni"] = c.host;
  if (!ex.request.error.empty()) d["error"] = ex.request.error;
  emit_(EventType::llm_input, ex.request.t_start_ns, span, session_, std::move(d));
}

void LlmSynth::close_answered_calls(const llm::RequestInfo& req, size_t first_new, uint64_t t_ns) {
  for (size_t i = first_new; i < req.messages.size(); ++i) {
    const json::object* m = req.messages[i].if_object();
    const json::value* content = m ? m->if_contains("content") : nullptr;
    if (!content || !content->is_array()) continue;
    for (const auto& b : content->get_array()) {
      const json::object* block = b.if_object();
      if (!block || str(*block, "type") != "tool_result") continue;
      const std::string id = str(*block, "tool_use_id");
      const std::string name = str(*block, "name");
      auto it = std::find_if(s_.open_calls.begin(), s_.open_calls.end(), [&](const ModelToolCall& c) {
        return id.empty() ? c.name == name : c.id == id;  // no id (Gemini, Ollama): by name
      });
      if (it == s_.open_calls.end()) continue;  // answered before tracing began, or twice
      const std::string result = str(*block, "content");
      json::object d;
      d["source"] = "model";
      d["id"] = it->id;
      d["name"] = it->name;
      d["result"] = result;
      d["result_bytes"] = result.size();
      const json::value* err = block->if_contains("is_error");
      d["is_error"] = err && err->is_bool() && err->get_bool();
      d["duration_s"] = ms(it->t_start, t_ns) / 1e3;
      emit_(EventType::after_tool_call, t_ns, it->span, it->llm_span, std::move(d));
      s_.open_calls.erase(it);
    }
  }
}

void LlmSynth::on_exchange(uint64_t conn_id, CapturedConn& c, const http::Exchange& ex) {
  auto api = llm::detect(ex.request);
  if (!api) return;
  const std::string span = exchange_span(conn_id, ex.index);
  auto req = llm::parse_request(*api, ex.request);
  llm::RequestInfo info = req ? std::move(req.value()) : llm::RequestInfo{};
  info.api = *api;
  llm::ResponseInfo resp;
  uint64_t t_end = ex.request.t_end_ns;
  if (ex.response) {
    resp = llm::parse_response(info, *ex.response);
    t_end = std::max(t_end, ex.response->t_end_ns);
  }
  std::string error = resp.error;
  if (error.empty() && ex.response) error = ex.response->error;
  if (error.empty()) error = ex.error;
  if (error.empty() && !ex.response) error = "no response";

  json::object d = call_fields(info);
  d["connection"] = hex_id(conn_id);
  d["exchange"] = ex.index;
  d["model_returned"] = resp.model;
  d["status"] = resp.status;
  if (resp.usage) d["usage"] = llm::to_json(*resp.usage);
  else d["usage"] = nullptr;
  if (resp.usage) d["usage_raw"] = resp.usage->raw;
  d["usage_missing"] = resp.usage_missing;
  d["stop_reason"] = resp.stop_reason;
  d["text"] = resp.text;
  if (!resp.thinking.empty()) d["thinking"] = resp.thinking;
  json::array calls;
  for (const auto& call : resp.tool_calls) calls.push_back(llm::to_json(call));
  d["tool_calls"] = std::move(calls);
  if (resp.t_first_token_ns) d["ttft_ms"] = ms(ex.request.t_start_ns, *resp.t_first_token_ns);
  d["duration_ms"] = ms(ex.request.t_start_ns, t_end);
  d["request_bytes"] = info.request_bytes;
  d["response_bytes"] = resp.response_bytes;
  if (!error.empty()) d["error"] = error;
  if (!c.host.empty()) d["sni"] = c.host;
  emit_(EventType::llm_output, t_end, span, session_, std::move(d));

  for (size_t k = 0; k < resp.tool_calls.size(); ++k) {
    const auto& call = resp.tool_calls[k];
    ModelToolCall open{hex_id(mix(fnv1a(span), k + 1)), call.id, call.name, span, t_end};
    json::object t;
    t["source"] = "model";
    t["id"] = call.id;
    t["name"] = call.name;
    t["arguments"] = call.arguments;
    emit_(EventType::before_tool_call, t_end, open.span, span, std::move(t));
    s_.open_calls.push_back(std::move(open));
  }
}

}  // namespace clawtrace
