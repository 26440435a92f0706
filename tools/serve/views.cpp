#include "views.h"

#include <algorithm>
#include <unordered_map>

namespace clawtrace::serve {
namespace json = boost::json;
namespace {

const json::object* data_of(const std::optional<Event>& e) { return e ? &e->data : nullptr; }

std::string str(const json::object* o, std::string_view key) {
  if (!o) return {};
  const json::value* v = o->if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

void add(card::TokenSum& sum, const pricing::Tokens& t) {
  sum.input += t.input;
  sum.output += t.output;
  sum.cache_read += t.cache_read;
  sum.cache_write += t.cache_write;
  sum.reasoning += t.reasoning;
}

std::string_view kind_name(SpanNode::Kind k) {
  switch (k) {
    case SpanNode::Kind::session: return "session";
    case SpanNode::Kind::llm: return "llm";
    case SpanNode::Kind::tool: return "tool";
    case SpanNode::Kind::process: return "process";
    case SpanNode::Kind::subagent: return "subagent";
  }
  return "session";
}

std::string command_of(const SessionInfo& s) {
  std::string out;
  for (const auto& a : s.argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return cut_utf8(out, 300);
}

json::value opt_num(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

// The subtree below `at` as a tree of its own (root re-labelled a session), so the card
// compiler prices a sub-agent's inner spans: their costs add up to the sub-agent's step.
SpanTree subtree(const SpanTree& tree, size_t at) {
  SpanTree out;
  out.sessions = tree.sessions;
  std::vector<std::pair<size_t, size_t>> todo{{at, 0}};  // (old index, new parent)
  for (size_t i = 0; i < todo.size(); ++i) {
    const auto [old, parent] = todo[i];
    SpanNode n = tree.nodes[old];
    n.children.clear();
    n.parent = parent;
    const size_t index = out.nodes.size();
    if (index == 0) n.kind = SpanNode::Kind::session;
    else out.nodes[parent].children.push_back(index);
    out.nodes.push_back(std::move(n));
    for (size_t c : tree.nodes[old].children) todo.emplace_back(c, index);
  }
  return out;
}

class TreeWriter {
 public:
  TreeWriter(const SpanTree& tree, const card::Card& root, const pricing::PriceTable& prices)
      : tree_(tree), prices_(prices), total_(root.cost_usd) {
    t0_ = root.session.start_ns ? root.session.start_ns : tree.nodes[0].t_start();
    for (size_t i = 0; i < root.redundancy.size(); ++i)
      for (size_t k = 0; k < root.redundancy[i].steps.size(); ++k)
        findings_[root.redundancy[i].steps[k]].push_back({i, k + 1 == root.redundancy[i].steps.size()});
  }

  json::object node(size_t at, const card::Card& card) {
    std::unordered_map<std::string, const card::Step*> steps;
    for (const auto& s : card.steps) steps.emplace(s.id, &s);
    return write(at, card, steps);
  }

 private:
  struct Mark {
    size_t finding;
    bool wasteful;  // the later, redundant step of the finding
  };

  json::object write(size_t at, const card::Card& card,
                     const std::unordered_map<std::string, const card::Step*>& steps) {
    const SpanNode& n = tree_.nodes[at];
    json::object o;
    o["id"] = n.span;
    o["kind"] = kind_name(n.kind);
    o["session"] = n.session;
    const uint64_t start = n.t_start();
    o["start_s"] = start >= t0_ ? static_cast<double>(start - t0_) / 1e9 : -static_cast<double>(t0_ - start) / 1e9;
    o["duration_s"] = n.open && n.close && n.close->t_ns >= n.open->t_ns
                          ? json::value(static_cast<double>(n.close->t_ns - n.open->t_ns) / 1e9)
                          : json::value(nullptr);
    o["open"] = !n.close;
    auto it = steps.find(n.span);
    const card::Step* step = n.kind == SpanNode::Kind::session || it == steps.end() ? nullptr : it->second;
    describe(o, n, step);
    if (n.kind == SpanNode::Kind::subagent && step) {
      const card::Card inner = card::compile(subtree(tree_, at), prices_);
      return with_children(std::move(o), n, inner);
    }
    return with_children(std::move(o), n, card, steps);
  }

  json::object with_children(json::object o, const SpanNode& n, const card::Card& inner) {
    std::unordered_map<std::string, const card::Step*> steps;
    for (const auto& s : inner.steps) steps.emplace(s.id, &s);
    return with_children(std::move(o), n, inner, steps);
  }

  json::object with_children(json::object o, const SpanNode& n, const card::Card& card,
                             const std::unordered_map<std::string, const card::Step*>& steps) {
    json::array kids;
    for (size_t c : n.children) kids.push_back(write(c, card, steps));
    o["children"] = std::move(kids);
    return o;
  }

  void describe(json::object& o, const SpanNode& n, const card::Step* step) {
    if (n.kind == SpanNode::Kind::session) {
      auto s = tree_.sessions.find(n.session);
      o["name"] = s == tree_.sessions.end() ? n.session : (s->second.name.empty() ? command_of(s->second) : s->second.name);
      o["status"] = s == tree_.sessions.end() ? "unknown" : to_string(s->second.status);
      o["cost_usd"] = nullptr;
      o["share"] = nullptr;
      return;
    }
    if (n.kind == SpanNode::Kind::llm) o["model"] = card::call_model(n);
    if (!step) {  // not in a card (a span the compiler left out)
      o["name"] = str(data_of(n.close ? n.close : n.open), "name");
      o["cost_usd"] = nullptr;
      o["share"] = nullptr;
      return;
    }
    o["name"] = step->name;
    o["cost_usd"] = step->cost_usd;
    o["share"] = total_ > 0 ? json::value(step->cost_usd / total_) : json::value(nullptr);
    if (step->tokens) o["tokens"] = to_json(*step->tokens);
    if (!step->role.empty()) o["role"] = step->role;
    if (!step->priced) o["unpriced"] = true;
    if (!step->args.empty()) o["args"] = step->args;
    if (!step->result.empty()) o["result"] = step->result;
    if (!step->error.empty()) o["error"] = step->error;
    if (!step->output.empty()) o["output"] = step->output;
    json::array marks;
    if (auto f = findings_.find(n.span); f != findings_.end())
      for (const Mark& m : f->second) marks.push_back(json::object{{"finding", m.finding}, {"wasteful", m.wasteful}});
    o["redundancy"] = std::move(marks);
  }

  const SpanTree& tree_;
  const pricing::PriceTable& prices_;
  double total_;
  uint64_t t0_ = 0;
  std::unordered_map<std::string, std::vector<Mark>> findings_;
};

json::object finding_json(const card::Finding& f) {
  json::array ids;
  for (const auto& s : f.steps) ids.emplace_back(s);
  return {{"kind", f.kind}, {"steps", std::move(ids)}, {"wasted_usd", f.wasted_usd}, {"reason", f.reason}};
}

json::object step_json(const card::Step& s) {
  json::object o{{"id", s.id},           {"kind", s.kind},         {"parent", s.parent},
                 {"name", s.name},       {"start_s", s.start_s},   {"duration_s", s.duration_s},
                 {"cost_usd", s.cost_usd}, {"output_usd", s.output_usd}};
  if (s.tokens) o["tokens"] = to_json(*s.tokens);
  if (!s.args.empty()) o["args"] = s.args;
  if (!s.result.empty()) o["result"] = s.result;
  if (!s.error.empty()) o["error"] = s.error;
  if (!s.role.empty()) o["role"] = s.role;
  if (!s.priced) o["priced"] = false;
  return o;
}

// The card's top_cost (card::top_cost, as the YAML lists it).
json::array top_cost_json(const card::Card& card, size_t top) {
  json::array out;
  for (const card::Step* s : card::top_cost(card, top))
    out.push_back(json::object{{"step", s->id},
                               {"cost_usd", s->cost_usd},
                               {"share", card.cost_usd > 0 ? s->cost_usd / card.cost_usd : 0.0},
                               {"role", s->role.empty() ? s->kind : s->role}});
  return out;
}

json::array subagents_json(const card::Card& card) {
  json::array out;
  for (const auto& s : card.steps) {
    if (s.kind != "subagent") continue;
    json::array used;
    for (const auto& u : s.used_by) used.emplace_back(u);
    out.push_back(json::object{{"step", s.id}, {"session", s.session}, {"cost_usd", s.cost_usd},
                               {"output", s.output}, {"used_by", std::move(used)}});
  }
  return out;
}

}  // namespace

std::string cut_utf8(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

SessionSummary summarize(const SpanTree& tree, const card::Card& card, const pricing::PriceTable& prices) {
  SessionSummary s;
  s.cost_usd = card.cost_usd;
  s.llm_calls = card.llm_calls;
  s.tool_calls = card.tool_calls;
  s.subagents = card.subagents;
  s.unpriced_calls = card.unpriced_calls;
  s.tokens = card.tokens;
  for (const SpanNode& n : tree.nodes) {
    if (n.kind != SpanNode::Kind::llm) continue;
    auto tokens = card::call_usage(n);
    if (!tokens) continue;  // the card does not count calls without usage either
    ModelUse& m = s.models[card::call_model(n)];
    ++m.calls;
    add(m.tokens, *tokens);
    if (auto c = pricing::cost(prices, card::call_model(n), *tokens)) m.cost_usd += c->total;
    else ++m.unpriced_calls;
  }
  return s;
}

json::object to_json(const card::TokenSum& t) {
  return {{"input", t.input}, {"output", t.output}, {"cache_read", t.cache_read},
          {"cache_write", t.cache_write}, {"reasoning", t.reasoning}};
}

json::object to_json(const ModelUse& m) {
  return {{"calls", m.calls}, {"unpriced_calls", m.unpriced_calls}, {"cost_usd", m.cost_usd}, {"tokens", to_json(m.tokens)}};
}

json::object session_row(const SessionInfo& s, const SessionSummary& summary) {
  json::object tags;
  for (const auto& [k, v] : s.tags) tags[k] = v;
  json::object models;
  for (const auto& [name, use] : summary.models) models[name] = to_json(use);
  const std::optional<double> duration =
      s.end_ns && *s.end_ns >= s.start_ns ? std::optional<double>(static_cast<double>(*s.end_ns - s.start_ns) / 1e9) : std::nullopt;
  return {{"id", s.id},
          {"name", s.name},
          {"command", command_of(s)},
          {"start_ns", s.start_ns},
          {"duration_s", opt_num(duration)},
          {"status", to_string(s.status)},
          {"exit_code", s.exit_code ? json::value(*s.exit_code) : json::value(nullptr)},
          {"parent_session", s.parent_session ? json::value(*s.parent_session) : json::value(nullptr)},
          {"llm_calls", summary.llm_calls},
          {"tool_calls", summary.tool_calls},
          {"subagents", summary.subagents},
          {"unpriced_calls", summary.unpriced_calls},
          {"cost_usd", summary.cost_usd},
          {"tokens", to_json(summary.tokens)},
          {"models", std::move(models)},
          {"quality", opt_num(s.quality)},
          {"tags", std::move(tags)}};
}

json::object card_json(const card::Card& card, size_t top) {
  json::array steps, redundancy, unpriced;
  for (const auto& s : card.steps) steps.push_back(step_json(s));
  for (const auto& f : card.redundancy) redundancy.push_back(finding_json(f));
  for (const auto& m : card.unpriced_models) unpriced.emplace_back(m);
  json::object totals{{"cost_usd", card.cost_usd},       {"llm_calls", card.llm_calls},
                      {"tool_calls", card.tool_calls},   {"subagents", card.subagents},
                      {"unpriced_calls", card.unpriced_calls}, {"unpriced_models", std::move(unpriced)},
                      {"tokens", to_json(card.tokens)}};
  json::object session = to_json(card.session);
  return {{"tracecard", 1},
          {"session", std::move(session)},
          {"totals", std::move(totals)},
          {"steps", std::move(steps)},
          {"top_cost", top_cost_json(card, top)},
          {"redundancy", std::move(redundancy)},
          {"subagents", subagents_json(card)}};
}

json::object tree_json(const SpanTree& tree, const card::Card& card, const pricing::PriceTable& prices) {
  if (tree.nodes.empty()) return {};
  TreeWriter writer(tree, card, prices);
  return writer.node(0, card);
}

std::optional<json::object> span_json(const SpanTree& tree, std::string_view span, std::string_view session) {
  for (const SpanNode& n : tree.nodes) {
    if (n.span != span || (!session.empty() && n.session != session)) continue;
    return json::object{{"id", n.span},
                        {"kind", kind_name(n.kind)},
                        {"session", n.session},
                        {"open", n.open ? json::value(to_json(*n.open)) : json::value(nullptr)},
                        {"close", n.close ? json::value(to_json(*n.close)) : json::value(nullptr)}};
  }
  return std::nullopt;
}

}  // namespace clawtrace::serve
