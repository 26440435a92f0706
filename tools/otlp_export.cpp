#include "otlp_export.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "card.h"
#include "json_fields.h"
#include "text.h"
#include "tree.h"

namespace json = boost::json;

namespace clawtrace::otlp {
namespace {

using json_fields::str;

constexpr int kInternal = 1, kClient = 3;      // Span.SpanKind
constexpr int kStatusOk = 1, kStatusError = 2;  // Status.StatusCode

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// `chars` hex digits of SHA-256(text), never all zero (OTLP reserves the zero ids).
std::string hashed_id(std::string_view text, size_t chars) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  std::string id = hex(md, chars / 2);
  if (id.find_first_not_of('0') == std::string::npos) id.back() = '1';
  return id;
}

bool is_hex_id(std::string_view s, size_t chars) {
  return s.size() == chars && s.find_first_not_of("0123456789abcdef") == std::string_view::npos &&
         s.find_first_not_of('0') != std::string_view::npos;
}

json::object attr(std::string_view key, json::object value) { return {{"key", key}, {"value", std::move(value)}}; }
json::object text_attr(std::string_view key, std::string_view v) { return attr(key, {{"stringValue", v}}); }
json::object int_attr(std::string_view key, int64_t v) { return attr(key, {{"intValue", std::to_string(v)}}); }
json::object double_attr(std::string_view key, double v) { return attr(key, {{"doubleValue", v}}); }
json::object texts_attr(std::string_view key, const std::vector<std::string>& v) {
  json::array values;
  for (const auto& s : v) values.push_back(json::object{{"stringValue", s}});
  return attr(key, {{"arrayValue", json::object{{"values", std::move(values)}}}});
}

// OpenTelemetry's gen_ai.provider.name for ClawTrace's provider names.
std::string provider_name(std::string_view p) {
  if (p == "gemini" || p == "google") return "gcp.gemini";
  return std::string(p);
}

const json::object* data(const std::optional<Event>& e) { return e ? &e->data : nullptr; }

// Step costs of every card in the tree: the root's and each process sub-agent's own.
struct StepCost {
  double usd = 0;
  std::string card_session;  // whose card's partition this cost belongs to
};

class SpanBuilder {
 public:
  SpanBuilder(SpanTreeLoader& trees, const pricing::PriceTable& prices) : trees_(trees), prices_(prices) {}

  Result<std::vector<json::object>> build(const std::string& root) {
    auto tree = trees_.load(root);
    if (!tree) return fail(tree.error());
    tree_ = std::move(*tree);
    if (auto costs = collect_costs(root); !costs) return fail(costs.error());
    const auto it = tree_.sessions.find(root);
    const std::string trace = it == tree_.sessions.end() ? "" : it->second.trace;
    trace_id_ = is_hex_id(trace, 32) ? trace : hashed_id("trace/" + root, 32);
    std::vector<json::object> spans;
    std::deque<size_t> todo{0};  // breadth first: every parent before its children
    while (!todo.empty()) {
      const size_t i = todo.front();
      todo.pop_front();
      spans.push_back(span(i));
      for (size_t c : tree_.nodes[i].children) todo.push_back(c);
    }
    return spans;
  }

 private:
  Result<void> collect_costs(const std::string& root) {
    std::deque<std::string> todo{root};
    while (!todo.empty()) {
      const std::string session = todo.front();
      todo.pop_front();
      card::Card c;
      if (session == root) {
        c = card::compile(tree_, prices_);
      } else {
        auto sub = trees_.load(session);
        if (!sub) return fail(sub.error());
        c = card::compile(*sub, prices_);
      }
      session_cost_[session] = c.cost_usd;
      for (const auto& s : c.steps) {
        costs_.try_emplace(s.id, StepCost{s.cost_usd, session});
        if (s.kind == "subagent" && s.session != session && tree_.sessions.count(s.session) && !session_cost_.count(s.session))
          todo.push_back(s.session);
      }
    }
    return {};
  }

  std::string id_of(size_t i) const {
    const SpanNode& n = tree_.nodes[i];
    return hashed_id(n.session + '\x1f' + n.span + '\x1f' + std::to_string(static_cast<int>(n.kind)), 16);
  }

  std::pair<uint64_t, uint64_t> times(const SpanNode& n) const {
    uint64_t start = n.t_start(), end = n.close ? n.close->t_ns : start;
    if (n.kind == SpanNode::Kind::session)
      if (auto it = tree_.sessions.find(n.session); it != tree_.sessions.end()) {
        if (it->second.start_ns) start = it->second.start_ns;
        if (it->second.end_ns) end = *it->second.end_ns;
      }
    return {start, std::max(start, end)};
  }

  json::object span(size_t i) {
    const SpanNode& n = tree_.nodes[i];
    json::array attributes;
    std::string name;
    int kind = kInternal;
    std::string error;
    describe(n, name, kind, attributes, error);
    if (auto c = costs_.find(n.span); c != costs_.end() && n.kind != SpanNode::Kind::session) {
      attributes.push_back(double_attr("clawtrace.cost_usd", c->second.usd));
      attributes.push_back(text_attr("clawtrace.cost.session", c->second.card_session));
    }
    const auto [start, end] = times(n);
    json::object s{{"traceId", trace_id_},
                   {"spanId", id_of(i)},
                   {"name", name},
                   {"kind", kind},
                   {"startTimeUnixNano", std::to_string(start)},
                   {"endTimeUnixNano", std::to_string(end)},
                   {"attributes", std::move(attributes)}};
    if (i != 0) s["parentSpanId"] = id_of(n.parent);
    s["status"] = error.empty() ? json::object{{"code", kStatusOk}} : json::object{{"code", kStatusError}, {"message", error}};
    return s;
  }

  void describe(const SpanNode& n, std::string& name, int& kind, json::array& a, std::string& error) {
    const json::object* open = data(n.open);
    const json::object* close = data(n.close);
    const json::object empty;
    const json::object& d = close ? *close : open ? *open : empty;
    switch (n.kind) {
      case SpanNode::Kind::session: {
        const SessionInfo* info = tree_.sessions.count(n.session) ? &tree_.sessions.at(n.session) : nullptr;
        const std::string agent = info && !info->name.empty() ? info->name : "agent";
        // A session is an agent when it called a model (or is the root); a plain child
        // process (`sh -c …`) is not.
        if (&n == &tree_.nodes[0] || (info && info->llm_calls > 0)) {
          name = "invoke_agent " + agent;
          a.push_back(text_attr("gen_ai.operation.name", "invoke_agent"));
          a.push_back(text_attr("gen_ai.agent.name", agent));
        } else {
          name = "session " + agent;
        }
        a.push_back(text_attr("clawtrace.session.id", n.session));
        if (auto c = session_cost_.find(n.session); c != session_cost_.end())
          a.push_back(double_attr("clawtrace.session.cost_usd", c->second));
        if (info) {
          a.push_back(int_attr("process.pid", info->pid));
          a.push_back(text_attr("process.command_line", text::shell_join(info->argv)));
          a.push_back(text_attr("clawtrace.session.status", to_string(info->status)));
          if (info->status == SessionStatus::failed) error = "failed";
          if (info->exit_code) a.push_back(int_attr("process.exit.code", *info->exit_code));
          for (const auto& [k, v] : info->tags) a.push_back(text_attr("clawtrace.tag." + k, v));
        }
        break;
      }
      case SpanNode::Kind::llm: describe_llm(n, open, close, name, a, error), kind = kClient; break;
      case SpanNode::Kind::tool:
        name = "execute_tool " + str(d, "name");
        a.push_back(text_attr("gen_ai.operation.name", "execute_tool"));
        a.push_back(text_attr("gen_ai.tool.name", str(d, "name")));
        a.push_back(text_attr("gen_ai.tool.type", "function"));
        if (!str(d, "id").empty()) a.push_back(text_attr("gen_ai.tool.call.id", str(d, "id")));
        if (close && close->contains("abandoned")) error = "abandoned: no result before the session ended";
        else if (auto* e = close ? close->if_contains("is_error") : nullptr; e && e->is_bool() && e->get_bool())
          error = "the tool reported an error";
        break;
      case SpanNode::Kind::process: {
        name = "process " + str(d, "name");
        a.push_back(text_attr("process.executable.name", str(d, "name")));
        a.push_back(texts_attr("process.command_args", json_fields::from_array(d.if_contains("argv"))));
        if (auto* code = d.if_contains("exit_code"); code && code->is_number()) {
          const int64_t exit_code = json_fields::number_or<int64_t>(*code);
          a.push_back(int_attr("process.exit.code", exit_code));
          if (exit_code != 0) error = "exit " + std::to_string(exit_code);
        }
        break;
      }
      case SpanNode::Kind::subagent: {
        const std::string tool = open ? str(*open, "tool_name") : str(d, "tool_name");
        name = "invoke_agent " + (tool.empty() ? std::string("subagent") : tool);
        a.push_back(text_attr("gen_ai.operation.name", "invoke_agent"));
        a.push_back(text_attr("gen_ai.agent.name", tool.empty() ? "subagent" : tool));
        a.push_back(text_attr("clawtrace.subagent.how", str(d, "how")));
        if (!str(d, "child_session").empty()) a.push_back(text_attr("clawtrace.subagent.session", str(d, "child_session")));
        if (close && str(*close, "status") != "ok") error = str(*close, "status");
        break;
      }
    }
  }

  void describe_llm(const SpanNode& n, const json::object* in, const json::object* out, std::string& name,
                    json::array& a, std::string& error) {
    const std::string requested = in ? str(*in, "model") : "";
    const std::string model = card::call_model(n);
    name = "chat " + (requested.empty() ? model : requested);
    a.push_back(text_attr("gen_ai.operation.name", "chat"));
    const std::string provider = provider_name(in ? str(*in, "provider") : out ? str(*out, "provider") : "");
    if (!provider.empty()) {
      a.push_back(text_attr("gen_ai.provider.name", provider));
      a.push_back(text_attr("gen_ai.system", provider));  // the attribute's older name, for older backends
    }
    if (!requested.empty()) a.push_back(text_attr("gen_ai.request.model", requested));
    if (out && !str(*out, "model_returned").empty()) a.push_back(text_attr("gen_ai.response.model", str(*out, "model_returned")));
    if (out && !str(*out, "stop_reason").empty()) a.push_back(texts_attr("gen_ai.response.finish_reasons", {str(*out, "stop_reason")}));
    if (const std::string host = in ? str(*in, "host") : ""; !host.empty()) {
      const size_t colon = host.rfind(':');
      a.push_back(text_attr("server.address", host.substr(0, colon)));
      if (colon != std::string::npos) a.push_back(int_attr("server.port", std::strtol(host.c_str() + colon + 1, nullptr, 10)));
    }
    if (in && !str(*in, "thread").empty()) a.push_back(text_attr("clawtrace.thread", str(*in, "thread")));
    if (auto t = card::call_usage(n)) {
      // Input tokens include the cached ones (the GenAI conventions); the classes apart.
      a.push_back(int_attr("gen_ai.usage.input_tokens", t->input + t->cache_read + t->cache_write));
      a.push_back(int_attr("gen_ai.usage.output_tokens", t->output));
      a.push_back(int_attr("gen_ai.usage.cache_read.input_tokens", t->cache_read));
      a.push_back(int_attr("gen_ai.usage.cache_creation.input_tokens", t->cache_write));
      a.push_back(int_attr("clawtrace.usage.reasoning_tokens", t->reasoning));
      if (auto cost = pricing::cost(prices_, model, *t)) a.push_back(double_attr("clawtrace.call_cost_usd", cost->total));
      else a.push_back(attr("clawtrace.priced", {{"boolValue", false}}));
    }
    if (!out) error = "no response";
    else if (!str(*out, "error").empty()) error = str(*out, "error");
  }

  SpanTreeLoader& trees_;
  const pricing::PriceTable& prices_;
  SpanTree tree_;
  std::string trace_id_;
  std::map<std::string, StepCost> costs_;
  std::map<std::string, double> session_cost_;
};

// The ledger: {"URL": {"SESSION": {"accepted": N, "spans": M}}}, rewritten whole (temp
// file + rename) after every accepted batch. A session is exported once it ended with
// every session below it, so its spans (and their order) no longer change.
class Ledger {
 public:
  explicit Ledger(std::filesystem::path file) : file_(std::move(file)) {
    std::ifstream in(file_, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    boost::system::error_code ec;
    json::value v = json::parse(s.str(), ec);
    if (!ec && v.is_object()) doc_ = std::move(v.get_object());
  }
  uint64_t accepted(const std::string& url, const std::string& session) const { return field(url, session, "accepted"); }
  bool done(const std::string& url, const std::string& session) const {
    const uint64_t spans = field(url, session, "spans");
    return spans > 0 && accepted(url, session) >= spans;
  }
  Result<void> record(const std::string& url, const std::string& session, uint64_t accepted, uint64_t spans) {
    json::value& u = doc_[url];
    if (!u.is_object()) u = json::object{};
    u.get_object()[session] = json::object{{"accepted", accepted}, {"spans", spans}};
    std::error_code ec;
    // In the store, so private like the rest of it whatever the umask (docs/security.md).
    ::mkdir(file_.parent_path().c_str(), 0700);
    const std::filesystem::path tmp = file_.string() + ".tmp" + std::to_string(::getpid());
    const std::string text = json::serialize(doc_) + '\n';
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const bool written = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) ::close(fd);
    if (!written) return fail("cannot write the export ledger " + tmp.string());
    std::filesystem::rename(tmp, file_, ec);
    if (ec) return fail("cannot write the export ledger " + file_.string() + ": " + ec.message());
    return {};
  }

 private:
  uint64_t field(const std::string& url, const std::string& session, std::string_view key) const {
    const auto* u = doc_.if_contains(url);
    const auto* s = u && u->is_object() ? u->get_object().if_contains(session) : nullptr;
    return s && s->is_object() ? json_fields::u64(s->get_object(), key) : 0;
  }

  std::filesystem::path file_;
  json::object doc_;
};

// The first session still running in `root`'s tree (itself or any session below it).
std::optional<std::string> running_in(const SpanTreeLoader& trees, const std::string& root) {
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& [id, s] : trees.sessions())
    if (s.parent_session && *s.parent_session != id) children[*s.parent_session].push_back(id);
  std::vector<std::string> todo{root};
  std::set<std::string> seen;
  while (!todo.empty()) {
    const std::string id = todo.back();
    todo.pop_back();
    if (!seen.insert(id).second) continue;
    if (auto it = trees.sessions().find(id); it != trees.sessions().end() && it->second.status == SessionStatus::running)
      return id;
    for (const auto& c : children[id]) todo.push_back(c);
  }
  return std::nullopt;
}

// OTLP's partial success: the spans the endpoint says it rejected (not retryable).
std::string partial_rejection(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* p = o ? o->if_contains("partialSuccess") : nullptr;
  if (!p || !p->is_object()) return "";
  const json::value* n = p->get_object().if_contains("rejectedSpans");
  const int64_t rejected = n && n->is_string() ? std::strtoll(n->get_string().c_str(), nullptr, 10)
                           : n && n->is_number() ? json_fields::number_or<int64_t>(*n)
                                                 : 0;
  if (rejected <= 0) return "";
  return std::to_string(rejected) + " spans rejected: " + str(p->get_object(), "errorMessage");
}

}  // namespace

Result<std::vector<json::object>> session_spans(SpanTreeLoader& trees, const std::string& root,
                                                const pricing::PriceTable& prices) {
  return SpanBuilder(trees, prices).build(root);
}

json::object export_request(const SessionInfo& root, const std::vector<json::object>& spans) {
  json::array resource_attributes{text_attr("service.name", root.name.empty() ? "agent" : root.name),
                                  text_attr("clawtrace.session.id", root.id)};
  json::array span_values(spans.begin(), spans.end());
  json::object scope{{"scope", json::object{{"name", "clawtrace"}, {"version", CLAWTRACE_VERSION}}},
                     {"spans", std::move(span_values)}};
  json::object resource_spans{{"resource", json::object{{"attributes", std::move(resource_attributes)}}},
                              {"scopeSpans", json::array{std::move(scope)}}};
  return {{"resourceSpans", json::array{std::move(resource_spans)}}};
}

// One root session's spans, from where the ledger says the endpoint stopped accepting.
static Result<void> export_one(SpanTreeLoader& trees, const std::string& id, const pricing::PriceTable& prices, const Options& o,
                        const http::PostOptions& post, Ledger& ledger, Stats& stats) {
  auto info = trees.sessions().find(id);
  if (info == trees.sessions().end()) return fail("no session " + id);
  auto spans = session_spans(trees, id, prices);
  if (!spans) return fail(id + ": " + spans.error());
  const size_t batch = std::max<size_t>(1, o.batch_spans);
  for (size_t from = ledger.accepted(o.url, id); from < spans->size(); from += batch) {
    const size_t to = std::min(spans->size(), from + batch);
    const std::vector<json::object> part(spans->begin() + static_cast<std::ptrdiff_t>(from),
                                         spans->begin() + static_cast<std::ptrdiff_t>(to));
    auto response = http::post(o.url, json::serialize(export_request(info->second, part)), post);
    ++stats.requests;
    if (!response)
      return fail(id + ": spans " + std::to_string(from) + "-" + std::to_string(to - 1) + " not accepted: " +
                  response.error() + " (" + std::to_string(from) + " accepted before; a rerun resumes)");
    if (const std::string rejected = partial_rejection(response->body); !rejected.empty())
      if (o.on_note) o.on_note(id + ": " + rejected);
    if (auto r = ledger.record(o.url, id, to, spans->size()); !r) return fail(r.error());
    stats.spans_sent += to - from;
  }
  if (o.on_note) o.on_note(id + ": " + std::to_string(spans->size()) + " spans exported");
  return {};
}

Result<Stats> export_sessions(Store& store, const std::vector<std::string>& roots, const pricing::PriceTable& prices,
                              const Options& o) {
  Stats stats;
  Ledger ledger(o.ledger);
  auto note = [&](const std::string& s) {
    if (o.on_note) o.on_note(s);
  };
  auto trees = SpanTreeLoader::open(store);
  if (!trees) return fail(trees.error());
  http::PostOptions post = o.post;
  post.headers.push_back("Content-Type: application/json");
  std::string first_error;
  size_t failed = 0;
  for (const auto& id : roots) {
    if (ledger.done(o.url, id)) {
      note(id + ": already exported");
      ++stats.skipped;
      continue;
    }
    if (auto running = running_in(*trees, id)) {
      note(id + ": " + (*running == id ? "still running" : "session " + *running + " below it is still running") +
           ", not exported yet (it is once the whole tree has ended)");
      ++stats.skipped;
      continue;
    }
    auto exported = export_one(*trees, id, prices, o, post, ledger, stats);
    if (!exported) {
      note(exported.error());
      if (first_error.empty()) first_error = exported.error();
      ++failed;
      continue;
    }
    ++stats.sessions;
  }
  if (failed) return fail(std::to_string(failed) + " of " + std::to_string(roots.size()) + " sessions not exported; first: " + first_error);
  return stats;
}

}  // namespace clawtrace::otlp
