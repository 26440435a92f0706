#include "llm_synth.h"

#include "json_fields.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace json = boost::json;
using clawtrace::json_fields::from_array;
using clawtrace::json_fields::str;
using clawtrace::json_fields::to_array;
using clawtrace::json_fields::u64;

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



double ms(uint64_t from, uint64_t to) {
  return to > from ? static_cast<double>(to - from) / 1e6 : 0.0;
}

std::string layer_name(uint64_t layer) {
  switch (static_cast<wire::Layer>(layer)) {
    case wire::Layer::tls: return "tls";
    case wire::Layer::relay: return "relay";
    default: return "socket";
  }
}


// How the bytes were captured: "tls", "socket" or "relay", and the TLS SNI or the relay's
// upstream host.
void add_connection_fields(json::object& d, const CapturedConn& c) {
  d["layer"] = c.layer;
  if (!c.host.empty()) d[c.layer == "relay" ? "upstream" : "sni"] = c.host;
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

constexpr size_t kRecentCallsKept = 16;     // closed calls a spawned child may still claim
constexpr size_t kAgentOutputsKept = 8;     // texts per sub-agent checked for provenance
constexpr size_t kTextKept = 64 * 1024;     // bytes of one kept output text
constexpr size_t kTaskMin = 16;             // shorter argument texts are too common to link by
constexpr size_t kTaskKept = 512;           // a task is recognised by its first bytes
constexpr size_t kTasksPerCall = 4;
constexpr size_t kMatchMin = 16;            // shorter outputs match anywhere by chance
constexpr size_t kPrefixMatch = 200;        // a long output counts as returned by its start
constexpr uint64_t kPendingWindowNs = 10'000'000'000;  // how long a first no-tools call waits for a role

std::string alnum(std::string_view id) {
  std::string out;
  for (char c : id)
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  return out;
}

std::string_view trimmed(std::string_view t) {
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  return t;
}

std::string capped(std::string_view t, size_t max) {
  if (t.size() <= max) return std::string(t);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8
  return std::string(t.substr(0, cut));
}

// The text a normalised message carries: text blocks and tool results, one per line.
std::string message_text(const json::value& m) {
  std::string out;
  const json::object* o = m.if_object();
  const json::value* content = o ? o->if_contains("content") : nullptr;
  if (!content || !content->is_array()) return out;
  for (const auto& b : content->get_array()) {
    const json::object* block = b.if_object();
    if (!block) continue;
    const std::string type = str(*block, "type");
    std::string text = type == "text" ? str(*block, "text") : type == "tool_result" ? str(*block, "content") : "";
    if (text.empty()) continue;
    if (!out.empty()) out += '\n';
    out += text;
  }
  return out;
}

std::string blocks_text(const json::array& blocks) {
  std::string out;
  for (const auto& b : blocks)
    if (const json::object* o = b.if_object()) out += str(*o, "text") + "\n";
  return out;
}

// How `text` (an assistant output) shows up in `haystack`: "full", "prefix" or "" (not).
std::string_view found_in(std::string_view haystack, std::string_view text) {
  text = trimmed(text);
  if (text.empty()) return "";
  if (trimmed(haystack) == text) return "full";
  if (text.size() < kMatchMin) return "";
  if (haystack.find(text) != std::string_view::npos) return "full";
  if (text.size() > kPrefixMatch && haystack.find(text.substr(0, kPrefixMatch)) != std::string_view::npos)
    return "prefix";
  return "";
}

void collect_strings(const json::value& v, std::vector<std::string>& out) {
  if (out.size() >= kTasksPerCall) return;
  if (v.is_string()) {
    std::string_view t = trimmed(v.get_string());
    if (t.size() >= kTaskMin) out.push_back(capped(t, kTaskKept));
  } else if (v.is_array()) {
    for (const auto& x : v.get_array()) collect_strings(x, out);
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) collect_strings(kv.value(), out);
  }
}

// The argument texts long enough to recognise in a child conversation's first message.
std::vector<std::string> task_texts(const std::string& arguments) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec);
  if (ec) v = json::string(arguments);  // not JSON: the whole text is the argument
  collect_strings(v, out);
  return out;
}

}  // namespace

// ---- state persistence -------------------------------------------------------------------

void TokenTotals::add(const llm::Usage& u) {
  input += u.input;
  output += u.output;
  cache_read += u.cache_read;
  cache_write += u.cache_write;
  reasoning += u.reasoning;
}

void TokenTotals::add(const TokenTotals& t) {
  input += t.input;
  output += t.output;
  cache_read += t.cache_read;
  cache_write += t.cache_write;
  reasoning += t.reasoning;
}

json::object to_json(const TokenTotals& t) {
  return json::object{{"input", t.input}, {"output", t.output}, {"cache_read", t.cache_read},
                      {"cache_write", t.cache_write}, {"reasoning", t.reasoning}};
}

TokenTotals token_totals_from_json(const json::value* v) {
  TokenTotals t;
  const json::object* o = v ? v->if_object() : nullptr;
  if (!o) return t;
  auto get = [&](std::string_view k) {
    const json::value* x = o->if_contains(k);
    return x && x->is_number() ? json_fields::number_or<int64_t>(*x) : int64_t{0};
  };
  t.input = get("input");
  t.output = get("output");
  t.cache_read = get("cache_read");
  t.cache_write = get("cache_write");
  t.reasoning = get("reasoning");
  return t;
}

namespace {

json::object call_to_json(const ModelToolCall& c) {
  return json::object{{"span", c.span},         {"id", c.id},         {"name", c.name},
                      {"llm_span", c.llm_span}, {"t_start", c.t_start}, {"thread", c.thread},
                      {"task", to_array(c.task)}};
}


ModelToolCall call_from_json(const json::object& j) {
  return ModelToolCall{str(j, "span"),   str(j, "id"),     str(j, "name"),
                       str(j, "llm_span"), u64(j, "t_start"), str(j, "thread"),
                       from_array(j.if_contains("task"))};
}

std::vector<ModelToolCall> calls_from_json(const json::value* v) {
  std::vector<ModelToolCall> out;
  if (v && v->is_array())
    for (const auto& jv : v->get_array())
      if (const json::object* j = jv.if_object()) out.push_back(call_from_json(*j));
  return out;
}

json::object thread_to_json(const Thread& t) {
  json::array m;
  for (uint64_t h : t.messages) m.emplace_back(h);
  return json::object{{"id", t.id},     {"messages", std::move(m)}, {"system", t.system},
                      {"last_ns", t.last_ns}, {"role", t.role},   {"parent", t.parent},
                      {"tools", t.tools}, {"response_id", t.response_id}};
}

Thread thread_from_json(const json::object& j) {
  Thread t;
  t.id = str(j, "id");
  if (auto* m = j.if_contains("messages"); m && m->is_array())
    for (const auto& h : m->get_array())
      if (h.is_number()) t.messages.push_back(json_fields::number_or<uint64_t>(h));
  t.system = u64(j, "system");
  t.last_ns = u64(j, "last_ns");
  if (std::string role = str(j, "role"); !role.empty()) t.role = role;
  t.parent = str(j, "parent");
  const json::value* tools = j.if_contains("tools");
  t.tools = tools && tools->is_bool() && tools->get_bool();
  t.response_id = str(j, "response_id");
  return t;
}

json::object agent_to_json(const InProcessAgent& a) {
  json::array outputs;
  for (const auto& o : a.outputs) outputs.push_back(json::object{{"span", o.span}, {"text", o.text}});
  return json::object{{"span", a.span},
                      {"tool_span", a.tool_span},
                      {"tool_name", a.tool_name},
                      {"parent_thread", a.parent_thread},
                      {"t_start", a.t_start},
                      {"tool_returned", a.tool_returned},
                      {"answered", a.answered},
                      {"outputs", std::move(outputs)},
                      {"calls", a.calls},
                      {"usage", to_json(a.usage)}};
}

bool flag(const json::object& j, std::string_view key) {
  const json::value* v = j.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

InProcessAgent agent_from_json(const json::object& j) {
  InProcessAgent a;
  a.span = str(j, "span");
  a.tool_span = str(j, "tool_span");
  a.tool_name = str(j, "tool_name");
  a.parent_thread = str(j, "parent_thread");
  a.t_start = u64(j, "t_start");
  a.tool_returned = flag(j, "tool_returned");
  a.answered = flag(j, "answered");
  if (auto* o = j.if_contains("outputs"); o && o->is_array())
    for (const auto& x : o->get_array())
      if (const json::object* out = x.if_object()) a.outputs.push_back({str(*out, "span"), str(*out, "text")});
  a.calls = u64(j, "calls");
  a.usage = token_totals_from_json(j.if_contains("usage"));
  return a;
}

}  // namespace

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
  json::array open, recent, threads, agents;
  for (const auto& c : s.open_calls) open.push_back(call_to_json(c));
  for (const auto& c : s.recent_calls) recent.push_back(call_to_json(c));
  for (const auto& t : s.threads) threads.push_back(thread_to_json(t));
  for (const auto& a : s.agents) agents.push_back(agent_to_json(a));
  o["open_calls"] = std::move(open);
  o["recent_calls"] = std::move(recent);
  o["threads"] = std::move(threads);
  o["agents"] = std::move(agents);
  json::object pending;
  for (const auto& [span, ctx] : s.exchanges)
    pending[span] = json::object{{"thread", ctx.thread}, {"role", ctx.role}, {"parent", ctx.parent}};
  o["exchanges"] = std::move(pending);
  json::array held;
  for (const auto& h : s.held)
    held.push_back(json::object{{"thread", h.thread}, {"type", to_string(h.type)}, {"t_ns", h.t_ns},
                                {"span", h.span}, {"parent", h.parent}, {"data", h.data}});
  o["held"] = std::move(held);
  o["warnings"] = to_array(s.warnings);
  o["calls"] = s.calls;
  o["final_text"] = s.final_text;
  o["final_span"] = s.final_span;
  o["usage"] = to_json(s.usage);
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
  s.open_calls = calls_from_json(o->if_contains("open_calls"));
  s.recent_calls = calls_from_json(o->if_contains("recent_calls"));
  if (auto* threads = o->if_contains("threads"); threads && threads->is_array())
    for (const auto& jv : threads->get_array())
      if (const json::object* j = jv.if_object()) s.threads.push_back(thread_from_json(*j));
  if (auto* agents = o->if_contains("agents"); agents && agents->is_array())
    for (const auto& jv : agents->get_array())
      if (const json::object* j = jv.if_object()) s.agents.push_back(agent_from_json(*j));
  if (auto* pending = o->if_contains("exchanges"); pending && pending->is_object())
    for (const auto& [span, jv] : pending->get_object())
      if (const json::object* j = jv.if_object())
        s.exchanges[std::string(span)] = {str(*j, "thread"), str(*j, "role"), str(*j, "parent")};
  if (auto* held = o->if_contains("held"); held && held->is_array()) {
    for (const auto& jv : held->get_array()) {
      const json::object* j = jv.if_object();
      auto type = j ? parse_event_type(str(*j, "type")) : std::nullopt;
      if (!type) continue;
      const json::value* data = j->if_contains("data");
      s.held.push_back({str(*j, "thread"), *type, u64(*j, "t_ns"), str(*j, "span"), str(*j, "parent"),
                        data && data->is_object() ? data->get_object() : json::object{}});
    }
  }
  s.warnings = from_array(o->if_contains("warnings"));
  s.calls = u64(*o, "calls");
  s.final_text = str(*o, "final_text");
  s.final_span = str(*o, "final_span");
  s.usage = token_totals_from_json(o->if_contains("usage"));
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

void LlmSynth::finish(uint64_t t_ns, bool truncated) {
  for (auto& [id, c] : s_.conns) {
    c.http.close(t_ns);
    drain(id, c);
  }
  s_.conns.clear();
  s_.exchanges.clear();
  settle_pending("main");
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
  // Newest first, so a nested sub-agent ends (and rolls up) before the one around it.
  while (!s_.agents.empty()) {
    auto it = std::prev(s_.agents.end());
    const bool answered = it->answered;
    json::object why;
    why["reason"] = answered ? "its answer was not seen returning to the parent before the session ended"
                             : "the session ended before the sub-agent answered";
    end_agent(it, t_ns, answered ? "ok" : truncated ? "truncated" : "abandoned", std::move(why));
  }
}

std::optional<std::string> LlmSynth::open_tool_span() const {
  if (s_.open_calls.empty()) return std::nullopt;
  return s_.open_calls.back().span;
}

std::string LlmSynth::open_tool_name(const std::string& span) const {
  for (const auto& c : s_.open_calls)
    if (c.span == span) return c.name;
  return {};
}

void LlmSynth::drain(uint64_t conn_id, CapturedConn& c) {
  for (const auto& u : c.http.take_updates()) {
    if (u.kind == http::Update::Kind::request) on_request(conn_id, c, u.exchange);
    else on_exchange(conn_id, c, u.exchange);
  }
}

InProcessAgent* LlmSynth::agent(const std::string& span) {
  for (auto& a : s_.agents)
    if (a.span == span) return &a;
  return nullptr;
}

namespace {

size_t common_prefix(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

std::vector<uint64_t> message_hashes(const llm::RequestInfo& req) {
  std::vector<uint64_t> hashes;
  for (const auto& m : req.messages) hashes.push_back(fnv1a(json::serialize(m)));
  return hashes;
}

}  // namespace

// Which conversation a request belongs to, by the hashes of its messages:
// 1. a thread of the same kind (tools offered or not) it extends — its messages start
//    with all of the thread's — the most recently active such: the same conversation (the
//    same opening run again by a batch runner extends both runs' threads: the later one);
//    a no-tools request extending a tools conversation (a summary of it) is a side call
//    that leaves it as it was;
// 2. else a thread it branches from (shares a prefix, then differs): the same
//    conversation if the same kind and either the system prompt is unchanged (an edit,
//    a rewind) or, with tools, only the thread's last message differs (OpenClaw
//    re-renders a trailing context message, its system prompt and tools every turn);
//    a no-tools request on a tools conversation is again a side call;
// 3. else a new thread. A request that is a strict prefix of a thread (the same opening
//    again: a batch runner's next run of the same task) starts one too.
LlmSynth::Placement LlmSynth::place(const llm::RequestInfo& req, uint64_t t_ns) {
  const std::vector<uint64_t> hashes = message_hashes(req);
  const uint64_t system = fnv1a(json::serialize(req.system));
  const bool tools = !req.tools.empty();
  if (Thread* named = continued(req)) {
    // Server-side state: the request holds only what is new since the response it names.
    named->messages = hashes;
    named->last_ns = t_ns;
    return {named, 0, named->role, named->parent, named->system != system};
  }
  Thread* extended = nullptr;  // the latest active thread of the same kind it extends
  Thread* summarised = nullptr;  // a tools thread a no-tools request extends
  Thread* branched = nullptr;  // else the thread sharing the longest prefix
  size_t branch_len = 0;
  for (auto& t : s_.threads) {
    const size_t len = common_prefix(t.messages, hashes);
    if (len == 0) continue;
    if (len == t.messages.size()) {
      Thread*& slot = t.tools == tools ? extended : summarised;
      if (!slot || t.last_ns > slot->last_ns || (t.last_ns == slot->last_ns && len > slot->messages.size())) slot = &t;
    } else if (len < hashes.size() && (!branched || len > branch_len || (len == branch_len && t.last_ns > branched->last_ns))) {
      branched = &t;
      branch_len = len;
    }
  }
  if (extended) return continue_thread(*extended, extended->messages.size(), hashes, system, t_ns);
  if (summarised && !tools) return {summarised, summarised->messages.size(), "side", summarised->parent, false};
  if (branched && branched->tools == tools &&
      (branched->system == system || (tools && branch_len + 1 >= branched->messages.size())))
    return continue_thread(*branched, branch_len, hashes, system, t_ns);
  if (branched && !tools && branched->tools) return {branched, branch_len, "side", branched->parent, false};
  const ModelToolCall* call = spawning_call(req);
  Thread& t = new_thread(req, system, call != nullptr);
  t.messages = hashes;
  t.last_ns = t_ns;
  if (call) start_agent(t, *call, req, t_ns);
  return {&t, 0, t.role, t.parent, true};
}

LlmSynth::Placement LlmSynth::continue_thread(Thread& t, size_t first_new, const std::vector<uint64_t>& hashes,
                                              uint64_t system, uint64_t t_ns) {
  if (t.role == "pending") settle(t, "main");  // a follow-up turn: a chat of its own
  const bool changed = t.system != system;
  t.messages = hashes;
  t.system = system;
  t.last_ns = t_ns;
  return {&t, first_new, t.role, t.parent, changed};
}

Thread* LlmSynth::continued(const llm::RequestInfo& req) {
  if (req.continues.empty()) return nullptr;
  for (auto& t : s_.threads)
    if (t.response_id == req.continues) return &t;
  return nullptr;
}

Thread& LlmSynth::new_thread(const llm::RequestInfo& req, uint64_t system, bool spawned) {
  if (s_.threads.size() >= kThreadsKept) {
    auto oldest = std::min_element(s_.threads.begin(), s_.threads.end(),
                                   [](auto& a, auto& b) { return a.last_ns < b.last_ns; });
    if (oldest->role == "pending") settle(*oldest, "main");
    s_.threads.erase(oldest);
  }
  Thread t;
  t.id = hex_id(mix(fnv1a(session_), s_.calls));
  t.system = system;
  t.tools = !req.tools.empty();
  const bool conversation_exists =
      std::any_of(s_.threads.begin(), s_.threads.end(), [](const Thread& x) { return x.tools; });
  if (spawned) t.role = "subagent";
  else if (!t.tools) t.role = conversation_exists ? "side" : "pending";  // e.g. a title request
  else t.role = "main";
  if (t.tools) settle_pending("side");  // no-tools calls before the agent's conversation
  s_.threads.push_back(std::move(t));
  return s_.threads.back();
}

Thread* LlmSynth::thread(const std::string& id) {
  for (auto& t : s_.threads)
    if (t.id == id) return &t;
  return nullptr;
}

void LlmSynth::settle(Thread& t, const std::string& role) {
  t.role = role;
  std::vector<HeldEvent> keep;
  for (auto& h : s_.held) {
    if (h.thread != t.id) {
      keep.push_back(std::move(h));
      continue;
    }
    if (h.type == EventType::llm_input) h.data["thread_role"] = role;
    emit_(h.type, h.t_ns, h.span, h.parent, std::move(h.data));
  }
  s_.held = std::move(keep);
}

void LlmSynth::settle_pending(const std::string& role) {
  for (auto& t : s_.threads)
    if (t.role == "pending") settle(t, role);
}

void LlmSynth::tick(uint64_t t_ns) {
  for (auto& t : s_.threads)
    if (t.role == "pending" && t_ns > t.last_ns + kPendingWindowNs) settle(t, "main");
}

void LlmSynth::emit_call(EventType type, uint64_t t_ns, const std::string& span, const std::string& parent,
                         json::object data, const std::string& thread_id, const std::string& role) {
  const std::string& at = parent.empty() ? session_ : parent;
  if (role == "pending") {
    s_.held.push_back({thread_id, type, t_ns, span, at, std::move(data)});
    return;
  }
  if (type == EventType::llm_input) data["thread_role"] = role;
  emit_(type, t_ns, span, at, std::move(data));
}

// The tool call a new conversation was started by: one whose task text its first user
// message (or system prompt) carries, open or recently returned (spawn-style tools return
// at once); else, for a conversation with tools, the newest open call (it runs inside it).
const ModelToolCall* LlmSynth::spawning_call(const llm::RequestInfo& req) const {
  const std::string first = first_user_text(req.messages);
  const std::string system = blocks_text(req.system);
  auto carries_task = [&](const ModelToolCall& c) {
    return std::any_of(c.task.begin(), c.task.end(), [&](const std::string& t) {
      return first.find(t) != std::string::npos || system.find(t) != std::string::npos;
    });
  };
  for (auto it = s_.open_calls.rbegin(); it != s_.open_calls.rend(); ++it)
    if (carries_task(*it)) return &*it;
  for (auto it = s_.recent_calls.rbegin(); it != s_.recent_calls.rend(); ++it)
    if (carries_task(*it)) return &*it;
  if (!req.tools.empty() && !s_.open_calls.empty()) return &s_.open_calls.back();
  return nullptr;
}

void LlmSynth::start_agent(Thread& t, const ModelToolCall& call, const llm::RequestInfo& req, uint64_t t_ns) {
  InProcessAgent a;
  a.span = t.id;
  a.tool_span = call.span;
  a.tool_name = call.name;
  a.parent_thread = call.thread;
  a.t_start = t_ns;
  const bool open = std::any_of(s_.open_calls.begin(), s_.open_calls.end(),
                                [&](const ModelToolCall& c) { return c.span == call.span; });
  a.tool_returned = !open;
  json::object d;
  d["how"] = "in_process";
  d["thread"] = t.id;
  d["tool_name"] = call.name;
  d["tool_id"] = call.id;
  d["task"] = capped(first_user_text(req.messages), kTextKept);
  d["tool_returned"] = a.tool_returned;
  t.parent = a.span;
  emit_(EventType::subagent_spawned, t_ns, a.span, call.span, std::move(d));
  if (!open) {
    // A returned call starts one child: later conversations carrying its task are not it.
    auto it = std::find_if(s_.recent_calls.begin(), s_.recent_calls.end(),
                           [&](const ModelToolCall& c) { return c.span == a.tool_span; });
    if (it != s_.recent_calls.end()) s_.recent_calls.erase(it);
  }
  s_.agents.push_back(std::move(a));
}

void LlmSynth::end_agent(std::vector<InProcessAgent>::iterator it, uint64_t t_ns, std::string status,
                         json::object provenance) {
  InProcessAgent a = std::move(*it);
  s_.agents.erase(it);
  json::object d;
  d["how"] = "in_process";
  d["thread"] = a.span;
  d["tool_name"] = a.tool_name;
  d["status"] = status;
  d["final_text"] = a.outputs.empty() ? "" : a.outputs.back().text;
  d["provenance"] = std::move(provenance);
  d["llm_calls"] = a.calls;
  d["usage"] = to_json(a.usage);
  d["duration_s"] = ms(a.t_start, t_ns) / 1e3;
  emit_(EventType::subagent_ended, t_ns, a.span, a.tool_span, std::move(d));
  // A sub-agent of a sub-agent: its calls count towards the one that started it.
  if (InProcessAgent* up = agent(a.parent_thread)) {
    up->calls += a.calls;
    up->usage.add(a.usage);
  }
}

// Spawn-style sub-agents end when their answer shows up in another conversation's new
// messages (OpenClaw announces a child's result into its parent's conversation).
void LlmSynth::end_announced_agents(const llm::RequestInfo& req, size_t first_new, const std::string& thread,
                                    const std::string& span, uint64_t t_ns) {
  for (size_t k = 0; k < s_.agents.size();) {
    InProcessAgent& a = s_.agents[k];
    json::object where;
    if (a.tool_returned && a.span != thread && !a.outputs.empty()) {
      for (size_t i = first_new; i < req.messages.size() && where.empty(); ++i) {
        std::string_view how = found_in(message_text(req.messages[i]), a.outputs.back().text);
        if (how.empty()) continue;
        where["returned_in"] = "message";
        where["llm_span"] = span;
        where["thread"] = thread;
        where["message"] = i;
        where["role"] = str(req.messages[i].as_object(), "role");
        where["outputs"] = json::array{json::object{{"span", a.outputs.back().span}, {"match", how}}};
      }
    }
    if (where.empty()) {
      ++k;
      continue;
    }
    end_agent(s_.agents.begin() + static_cast<std::ptrdiff_t>(k), t_ns, "ok", std::move(where));
  }
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
  const uint64_t t = ex.request.t_start_ns;
  Placement p = place(req.value(), t);
  const std::string thread_id = p.thread->id;
  // The system prompt when new to the reader: a new conversation, a changed or a side one.
  const bool show_system = p.first_new == 0 || p.role == "side" || p.system_changed;
  close_answered_calls(req.value(), p.first_new, t);
  end_announced_agents(req.value(), p.first_new, thread_id, span, t);
  if (InProcessAgent* a = agent(p.parent)) ++a->calls;
  s_.exchanges[span] = {thread_id, p.role, p.parent};

  json::object d = call_fields(req.value());
  d["connection"] = hex_id(conn_id);
  d["exchange"] = ex.index;
  d["thread"] = thread_id;
  d["request_bytes"] = req->request_bytes;
  d["messages_total"] = req->messages.size();
  d["messages_added_from"] = p.first_new;
  json::array added;
  for (size_t i = p.first_new; i < req->messages.size(); ++i) added.push_back(req->messages[i]);
  d["messages_added"] = std::move(added);
  if (show_system) d["system"] = req->system;
  d["tools"] = to_array(req->tools);
  if (!req->continues.empty()) d["continues"] = req->continues;
  add_connection_fields(d, c);
  if (!ex.request.error.empty()) d["error"] = ex.request.error;
  emit_call(EventType::llm_input, t, span, p.parent, std::move(d), thread_id, p.role);
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
      if (it == s_.open_calls.end() && !id.empty())  // OpenClaw strips ids to [A-Za-z0-9]
        it = std::find_if(s_.open_calls.begin(), s_.open_calls.end(),
                          [&](const ModelToolCall& c) { return alnum(c.id) == alnum(id); });
      if (it != s_.open_calls.end()) close_call(it, *block, t_ns);  // else: answered before tracing began, or twice
    }
  }
}

void LlmSynth::close_call(std::vector<ModelToolCall>::iterator it, const json::object& block, uint64_t t_ns) {
  ModelToolCall call = std::move(*it);
  s_.open_calls.erase(it);
  const std::string result = str(block, "content");
  json::object d;
  d["source"] = "model";
  d["id"] = call.id;
  d["name"] = call.name;
  d["result"] = result;
  d["result_bytes"] = result.size();
  const json::value* err = block.if_contains("is_error");
  d["is_error"] = err && err->is_bool() && err->get_bool();
  d["duration_s"] = ms(call.t_start, t_ns) / 1e3;
  emit_(EventType::after_tool_call, t_ns, call.span, call.llm_span, std::move(d));

  // Sub-agents this call ran end with it when their output came back in its result, or
  // when they had answered; otherwise the call only started them (spawn-style).
  for (size_t k = 0; k < s_.agents.size();) {
    InProcessAgent& a = s_.agents[k];
    if (a.tool_span != call.span) {
      ++k;
      continue;
    }
    json::array outputs;
    for (const auto& o : a.outputs)
      if (std::string_view how = found_in(result, o.text); !how.empty())
        outputs.push_back(json::object{{"span", o.span}, {"match", how}});
    if (outputs.empty() && !a.answered) {
      a.tool_returned = true;
      ++k;
      continue;
    }
    json::object where{{"returned_in", "tool_result"}, {"tool_span", call.span}, {"outputs", std::move(outputs)}};
    end_agent(s_.agents.begin() + static_cast<std::ptrdiff_t>(k), t_ns, "ok", std::move(where));
  }
  if (!call.task.empty()) {
    s_.recent_calls.push_back(std::move(call));
    if (s_.recent_calls.size() > kRecentCallsKept) s_.recent_calls.erase(s_.recent_calls.begin());
  }
}

void LlmSynth::on_exchange(uint64_t conn_id, CapturedConn& c, const http::Exchange& ex) {
  auto api = llm::detect(ex.request);
  if (!api) return;
  const std::string span = exchange_span(conn_id, ex.index);
  LlmState::ExchangeContext ctx;
  if (auto it = s_.exchanges.find(span); it != s_.exchanges.end()) {
    ctx = std::move(it->second);
    s_.exchanges.erase(it);
  }
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
  if (!ctx.thread.empty()) d["thread"] = ctx.thread;
  d["model_returned"] = resp.model;
  if (!resp.id.empty()) d["response_id"] = resp.id;
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
  add_connection_fields(d, c);
  const Thread* th = thread(ctx.thread);
  emit_call(EventType::llm_output, t_end, span, ctx.parent, std::move(d), ctx.thread, th ? th->role : "main");

  for (size_t k = 0; k < resp.tool_calls.size(); ++k) {
    const auto& call = resp.tool_calls[k];
    ModelToolCall open{hex_id(mix(fnv1a(span), k + 1)), call.id, call.name, span, t_end, ctx.thread,
                       task_texts(call.arguments)};
    json::object t;
    t["source"] = "model";
    t["id"] = call.id;
    t["name"] = call.name;
    t["arguments"] = call.arguments;
    emit_(EventType::before_tool_call, t_end, open.span, span, std::move(t));
    s_.open_calls.push_back(std::move(open));
  }
  on_output(ctx, span, resp);
}

// Totals and the latest answer, of the session and of the sub-agent the call belongs to.
void LlmSynth::on_output(const LlmState::ExchangeContext& ctx, const std::string& span,
                         const llm::ResponseInfo& resp) {
  if (resp.usage) s_.usage.add(*resp.usage);
  if (!resp.id.empty() && ctx.role != "side")
    for (auto& t : s_.threads)
      if (t.id == ctx.thread) t.response_id = resp.id;
  const bool answer = ctx.role != "side" && !resp.text.empty();
  if (answer) {
    s_.final_text = capped(resp.text, kTextKept);
    s_.final_span = span;
  }
  InProcessAgent* a = agent(ctx.parent);
  if (!a) return;
  if (resp.usage) a->usage.add(*resp.usage);
  if (ctx.role != "subagent" || ctx.thread != a->span) return;  // a side call of the sub-agent
  a->answered = resp.tool_calls.empty() && resp.error.empty() && resp.status < 300;
  if (answer) {
    a->outputs.push_back({span, capped(resp.text, kTextKept)});
    if (a->outputs.size() > kAgentOutputsKept) a->outputs.erase(a->outputs.begin());
  }
}

std::string first_user_text(const json::array& messages) {
  for (const auto& m : messages) {
    const json::object* o = m.if_object();
    if (o && str(*o, "role") == "user") return message_text(m);
  }
  return {};
}

}  // namespace clawtrace
