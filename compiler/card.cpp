#include "card.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

#include "json_fields.h"
#include "text.h"

namespace json = boost::json;

namespace clawtrace::card {
namespace {

using json_fields::str;
constexpr size_t kTextShown = 500;  // bytes of args/results/answers a card shows

std::string shown(std::string_view text) {
  if (text.size() <= kTextShown) return std::string(text);
  size_t cut = kTextShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "…";
}

std::string alnum(std::string_view id) {
  std::string out;
  for (char c : id)
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  return out;
}

int64_t count(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v && v->is_number() ? json_fields::number_or<int64_t>(*v) : 0;
}

const json::object* object(const std::optional<Event>& e) { return e ? &e->data : nullptr; }

// An LLM call's usage in billing classes, if its response reported any.
std::optional<pricing::Tokens> usage_of(const SpanNode& n) {
  const json::object* out = object(n.close);
  const json::value* u = out ? out->if_contains("usage") : nullptr;
  if (!u || !u->is_object()) return std::nullopt;
  const json::object& o = u->get_object();
  pricing::Tokens t;
  t.input = count(o, "input");
  t.output = count(o, "output");
  t.cache_read = count(o, "cache_read");
  t.cache_write = count(o, "cache_write");
  t.cache_write_5m = count(o, "cache_write_5m");
  t.cache_write_1h = count(o, "cache_write_1h");
  t.reasoning = count(o, "reasoning");
  // A split without its total (imported events may carry one) is still that many writes, as
  // pricing::cost bills them; the card's tokens and its attribution must count them too.
  const int64_t w5m = std::max<int64_t>(t.cache_write_5m, 0), w1h = std::max<int64_t>(t.cache_write_1h, 0);
  t.cache_write = std::max(t.cache_write, w5m > INT64_MAX - w1h ? INT64_MAX : w5m + w1h);
  return t;
}

std::string model_of(const SpanNode& n) {
  std::string m = object(n.close) ? str(*object(n.close), "model_returned") : "";
  if (m.empty() && object(n.open)) m = str(*object(n.open), "model");
  return m;
}

void add(TokenSum& sum, const pricing::Tokens& t) {
  sum.input += t.input;
  sum.output += t.output;
  sum.cache_read += t.cache_read;
  sum.cache_write += t.cache_write;
  sum.reasoning += t.reasoning;
}

struct PairHash {
  size_t operator()(const std::pair<std::string, std::string>& p) const noexcept {
    const size_t a = std::hash<std::string>{}(p.first);
    return a ^ (std::hash<std::string>{}(p.second) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  }
};

// One priced LLM call.
struct Priced {
  std::optional<pricing::Tokens> tokens;
  std::optional<pricing::Cost> cost;
  std::string model;
};

// A piece of a request's context and the step that owns its input cost (an index into
// Card::steps). Calls re-carry all earlier context, so this is the inner loop: no strings.
struct Segment {
  size_t owner = 0;
  double bytes = 0;
};

// What a conversation's latest request carried, to rebuild the next one from
// messages_added_from + messages_added.
// Every call re-carries the conversation so far, so billing each message segment on
// every call is O(calls × context). Instead, a run of whole segments inside one price range
// is billed lazily: `owed` is a difference array of dollars per byte (owed[a] += c,
// owed[b] -= c), settled into the owners' costs when segments are dropped or at the end.
struct ThreadContext {
  std::vector<Segment> messages;
  std::vector<double> cum{0.0};   // cum[i]: bytes of messages[0, i)
  std::vector<double> owed{0.0};  // difference array over messages, one slot past the end
  std::vector<size_t> tracked;    // messages whose owner wants to know who carried them
  Segment system;
  std::optional<size_t> overhead_owner;  // the call that introduced the tool definitions
  std::optional<size_t> last_call;       // the call whose answer the next assistant message is
};

class Compiler {
 public:
  Compiler(const SpanTree& tree, const pricing::PriceTable& prices) : tree_(tree), prices_(prices) {}

  Card run() {
    card_.session = tree_.sessions.count(tree_.nodes[0].session) ? tree_.sessions.at(tree_.nodes[0].session)
                                                                 : SessionInfo{};
    t0_ = card_.session.start_ns ? card_.session.start_ns : tree_.nodes[0].t_start();
    collect(0, card_.session.id, false);
    std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
      return tree_.nodes[a].t_start() < tree_.nodes[b].t_start();
    });
    for (size_t n : order_) add_step(n);
    std::stable_sort(calls_.begin(), calls_.end(), [&](size_t a, size_t b) {
      return tree_.nodes[a].t_start() < tree_.nodes[b].t_start();
    });
    cost_.assign(card_.steps.size(), 0.0);
    uses_.assign(card_.steps.size(), {});
    tracked_.assign(card_.steps.size(), 0);
    for (const auto& s : card_.steps)  // where a sub-agent's answer went: its tool call's uses
      if (s.kind == "subagent")
        if (auto it = step_index_.find(s.parent); it != step_index_.end()) tracked_[it->second] = 1;
    for (size_t n : calls_) attribute(n);
    settle_all();
    for (size_t i = 0; i < card_.steps.size(); ++i) {
      card_.steps[i].cost_usd += cost_[i];
      for (size_t u : uses_[i]) card_.steps[i].used_by.push_back(card_.steps[u].id);
    }
    finish_subagents();
    return std::move(card_);
  }

 private:
  // Steps in the card: every span outside sub-agents (their work is their step's).
  void collect(size_t at, const std::string& parent_step, bool inside_subagent) {
    for (size_t c : tree_.nodes[at].children) {
      const SpanNode& n = tree_.nodes[c];
      count_node(n);
      if (n.kind == SpanNode::Kind::session) {
        collect(c, parent_step, inside_subagent);
        continue;
      }
      if (inside_subagent) {
        if (n.kind == SpanNode::Kind::llm) subagent_calls_[current_subagent_].push_back(c);
        collect(c, parent_step, true);
        continue;
      }
      order_.push_back(c);
      parent_of_[c] = parent_step;
      if (n.kind == SpanNode::Kind::llm) calls_.push_back(c);
      if (n.kind == SpanNode::Kind::subagent) {
        current_subagent_ = c;
        collect(c, n.span, true);
        current_subagent_ = 0;
      } else {
        collect(c, n.span, false);
      }
    }
  }

  void count_node(const SpanNode& n) {
    if (n.kind == SpanNode::Kind::llm) {
      ++card_.llm_calls;
      Priced p = price(n);
      if (p.tokens) add(card_.tokens, *p.tokens);
      if (p.cost) card_.cost_usd += p.cost->total;
      priced_[&n] = std::move(p);
    }
    if (n.kind == SpanNode::Kind::tool || n.kind == SpanNode::Kind::process) ++card_.tool_calls;
    if (n.kind == SpanNode::Kind::subagent) ++card_.subagents;
  }

  Priced price(const SpanNode& n) {
    Priced p;
    p.tokens = usage_of(n);
    p.model = model_of(n);
    if (!p.tokens) return p;
    p.cost = pricing::cost(prices_, p.model, *p.tokens);
    if (!p.cost) {
      ++card_.unpriced_calls;
      if (std::find(card_.unpriced_models.begin(), card_.unpriced_models.end(), p.model) == card_.unpriced_models.end())
        card_.unpriced_models.push_back(p.model);
    }
    return p;
  }

  void add_step(size_t index) {
    const SpanNode& n = tree_.nodes[index];
    Step s;
    s.id = n.span;
    s.parent = parent_of_[index];
    s.start_s = seconds(t0_, n.t_start());
    if (n.open && n.close) s.duration_s = seconds(n.open->t_ns, n.close->t_ns);
    const json::object* open = object(n.open);
    const json::object* close = object(n.close);
    const json::object& d = close ? *close : *open;
    switch (n.kind) {
      case SpanNode::Kind::llm: describe_llm(n, s); break;
      case SpanNode::Kind::tool:
        s.kind = "tool";
        s.name = str(d, "name");
        if (open) s.args = shown(str(*open, "arguments"));
        if (close) s.result = shown(str(*close, "result"));
        if (close && close->contains("abandoned")) s.error = "abandoned: no result before the session ended";
        else if (close && close->if_contains("is_error") && close->at("is_error").is_bool() && close->at("is_error").get_bool())
          s.error = "the tool reported an error";
        tool_ids_[{n.session, str(d, "id")}] = s.id;
        tool_ids_[{n.session, alnum(str(d, "id"))}] = s.id;
        break;
      case SpanNode::Kind::process:
        s.kind = "process";
        s.name = str(d, "name");
        s.args = shown(text::shell_join(json_fields::from_array(d.if_contains("argv"))));
        if (auto* code = d.if_contains("exit_code"); code && code->is_number() && json_fields::number_or<int>(*code) != 0)
          s.error = "exit " + std::to_string(json_fields::number_or<int>(*code));
        if (auto* sig = d.if_contains("signal"); sig && sig->is_number())
          s.error = "signal " + std::to_string(json_fields::number_or<int>(*sig));
        break;
      case SpanNode::Kind::subagent:
        s.kind = "subagent";
        s.name = open ? str(*open, "tool_name") : str(d, "tool_name");
        s.session = open && !str(*open, "child_session").empty() ? str(*open, "child_session") : n.session;
        if (close) s.output = shown(str(*close, "final_text"));
        if (close && str(*close, "status") != "ok") s.error = str(*close, "status");
        break;
      case SpanNode::Kind::session: break;
    }
    step_index_[s.id] = card_.steps.size();
    card_.steps.push_back(std::move(s));
  }

  void describe_llm(const SpanNode& n, Step& s) {
    s.kind = "llm";
    const Priced& p = priced_.at(&n);
    s.name = p.model;
    s.priced = !p.tokens || p.cost.has_value();
    if (p.tokens) {
      TokenSum t;
      add(t, *p.tokens);
      s.tokens = t;
    }
    const json::object* out = object(n.close);
    s.detail = out && !str(*out, "detail").empty() ? str(*out, "detail") : object(n.open) ? str(*object(n.open), "detail") : "";
    if (!out) {
      s.role = "other";
      s.error = "no response";
      return;
    }
    s.error = str(*out, "error");
    const bool text = !str(*out, "text").empty();
    const json::value* calls = out->if_contains("tool_calls");
    const bool tools = calls && calls->is_array() && !calls->get_array().empty();
    s.role = tools ? (text ? "plan_then_tool" : "tool_call")
           : text ? "final_reply" : !str(*out, "thinking").empty() ? "thinking_only" : "other";
  }

  // Splits one call's bill: its output to itself; its input side over the segments of
  // context it carried, position by position (cache read first, then cache write, then
  // uncached input), each segment's share to the step that owns it.
  void attribute(size_t index) {
    const SpanNode& n = tree_.nodes[index];
    const Priced& p = priced_.at(&n);
    const size_t self = step_index_.at(n.span);
    if (!n.open) {  // its request was never recorded (e.g. a rejected import line): no context to split
      if (p.cost) cost_[self] += p.cost->total;
      return;
    }
    ThreadContext side;  // a side call's context, which its conversation does not keep
    ThreadContext& ctx = context_of(n, self, side);
    const bool lazy = &ctx != &side;
    if (!p.cost) return;
    cost_[self] += p.cost->output;
    card_.steps[self].output_usd = p.cost->output;
    const pricing::Tokens& t = *p.tokens;
    const double read = static_cast<double>(t.cache_read), write = static_cast<double>(t.cache_write);
    const double prompt = read + write + static_cast<double>(t.input);
    const double base = overhead_ + ctx.system.bytes;  // messages start here
    const double total_bytes = base + ctx.cum.back();
    if (total_bytes <= 0 || prompt <= 0) {
      cost_[self] += p.cost->input + p.cost->cache_read + p.cost->cache_write;
      return;
    }
    // Everything in bytes: the three price ranges end at these offsets of the context.
    const double scale = prompt / total_bytes;
    Ranges r;
    r.end[0] = read / scale;
    r.end[1] = (read + write) / scale;
    r.end[2] = total_bytes;
    r.per_byte[0] = read > 0 ? p.cost->cache_read / read * scale : 0;
    r.per_byte[1] = write > 0 ? p.cost->cache_write / write * scale : 0;
    r.per_byte[2] = prompt - read - write > 0 ? p.cost->input / (prompt - read - write) * scale : 0;
    cost_[ctx.overhead_owner.value_or(self)] += r.dollars(0, overhead_);
    cost_[ctx.system.owner] += r.dollars(overhead_, base);
    if (lazy) bill_lazily(ctx, base, r);
    else bill_each(ctx, base, r);
    for (size_t i : ctx.tracked) {
      auto& uses = uses_[ctx.messages[i].owner];
      if (uses.empty() || uses.back() != self) uses.push_back(self);
    }
  }

  // A call's three price ranges over its context, in bytes: [0, end[0]) cache read,
  // [end[0], end[1]) cache write, [end[1], end[2]) input.
  struct Ranges {
    double end[3] = {0, 0, 0};
    double per_byte[3] = {0, 0, 0};
    double dollars(double from, double to) const {
      double sum = 0, lo = 0;
      for (int k = 0; k < 3; ++k) {
        sum += per_byte[k] * std::max(0.0, std::min(to, end[k]) - std::max(from, lo));
        lo = end[k];
      }
      return sum;
    }
  };

  void bill_each(const ThreadContext& ctx, double base, const Ranges& r) {
    double at = base;
    for (const auto& seg : ctx.messages) {
      cost_[seg.owner] += r.dollars(at, at + seg.bytes);
      at += seg.bytes;
    }
  }

  // Whole segments inside one range are owed lazily; the few straddling a boundary are
  // billed now. O(log n) per call plus the straddlers.
  void bill_lazily(ThreadContext& ctx, double base, const Ranges& r) {
    const auto& cum = ctx.cum;
    const size_t n = ctx.messages.size();
    auto first_from = [&](double x) {  // first i with base + cum[i] >= x
      return static_cast<size_t>(std::lower_bound(cum.begin(), cum.begin() + static_cast<std::ptrdiff_t>(n), x - base) - cum.begin());
    };
    auto count_ending_by = [&](double x) {  // i < count  <=>  base + cum[i + 1] <= x
      return static_cast<size_t>(std::upper_bound(cum.begin() + 1, cum.end(), x - base) - (cum.begin() + 1));
    };
    size_t done = 0;  // messages [0, done) are billed
    double lo = 0;
    for (int k = 0; k < 3; ++k) {
      const size_t start = std::max(done, std::min(first_from(lo), n));
      const size_t stop = k == 2 ? n : std::max(start, std::min(count_ending_by(r.end[k]), n));
      for (size_t i = done; i < start; ++i)  // straddling the boundary at lo
        cost_[ctx.messages[i].owner] += r.dollars(base + cum[i], base + cum[i + 1]);
      if (stop > start && r.per_byte[k] != 0) {
        ctx.owed[start] += r.per_byte[k];
        ctx.owed[stop] -= r.per_byte[k];
      }
      done = std::max(done, stop);
      lo = r.end[k];
    }
  }

  // Bills what a conversation's messages from `from` on are owed, and drops them.
  void settle(ThreadContext& th, size_t from) {
    double running = 0;
    for (size_t i = 0; i < th.messages.size(); ++i) {
      running += th.owed[i];
      if (i >= from) cost_[th.messages[i].owner] += th.messages[i].bytes * running;
    }
    if (from >= th.messages.size()) return;
    double before = 0;
    for (size_t i = 0; i < from; ++i) before += th.owed[i];
    th.messages.resize(from);
    th.cum.resize(from + 1);
    th.owed.resize(from + 1);
    th.owed[from] = -before;  // what is appended from here on owes nothing yet
    th.tracked.erase(std::remove_if(th.tracked.begin(), th.tracked.end(), [&](size_t i) { return i >= from; }),
                     th.tracked.end());
  }

  void settle_all() {
    for (auto& [key, th] : threads_) settle(th, 0);
  }

  // The context a call carried, rebuilt from its conversation's previous request and
  // what it added: tool definitions and other request overhead, system prompt, messages.
  // A side call's context goes into `side`: it does not move its conversation on.
  ThreadContext& context_of(const SpanNode& n, size_t self, ThreadContext& side) {
    const json::object& in = *object(n.open);
    ThreadContext& th = threads_[n.session + "/" + str(in, "thread")];
    const bool is_side = str(in, "thread_role") == "side";
    if (is_side) side = th;
    ThreadContext& next = is_side ? side : th;
    const std::optional<size_t> previous = next.last_call;
    if (!next.overhead_owner) next.overhead_owner = self;
    const size_t from = static_cast<size_t>(json_fields::u64(in, "messages_added_from"));
    if (is_side) {  // a copy: owes nothing of its own, billed segment by segment
      const size_t keep = std::min(from, next.messages.size());
      next.messages.resize(keep);
      next.cum.resize(keep + 1);
      next.owed.assign(keep + 1, 0.0);
      next.tracked.erase(std::remove_if(next.tracked.begin(), next.tracked.end(), [&](size_t i) { return i >= keep; }),
                         next.tracked.end());
    } else if (next.messages.size() > from) {
      settle(next, from);
    }
    if (auto* added = in.if_contains("messages_added"); added && added->is_array())
      for (const auto& m : added->get_array()) add_message(n, self, previous, m, next);
    if (auto* system = in.if_contains("system")) next.system = {self, static_cast<double>(json_fields::serialized_size(*system))};
    const double carried = next.system.bytes + next.cum.back();
    overhead_ = std::max(0.0, static_cast<double>(json_fields::u64(in, "request_bytes")) - carried);
    next.last_call = self;
    return next;
  }

  void append(ThreadContext& th, Segment seg) {
    if (tracked_[seg.owner]) th.tracked.push_back(th.messages.size());
    th.cum.push_back(th.cum.back() + seg.bytes);
    th.owed.push_back(0.0);
    th.messages.push_back(seg);
  }

  void add_message(const SpanNode& n, size_t self, std::optional<size_t> previous, const json::value& m,
                   ThreadContext& th) {
    const json::object* o = m.if_object();
    const std::string role = o ? str(*o, "role") : "";
    const json::value* content = o ? o->if_contains("content") : nullptr;
    if (role == "assistant") {  // the answer of the conversation's previous call
      append(th, {previous.value_or(self), static_cast<double>(json_fields::serialized_size(m))});
      return;
    }
    if (content && content->is_array()) {
      bool results = false;
      for (const auto& b : content->get_array()) {
        const json::object* block = b.if_object();
        if (!block || str(*block, "type") != "tool_result") continue;
        results = true;
        const size_t owner = step_index_.at(tool_step(n.session, str(*block, "tool_use_id"), n.span));
        append(th, {owner, static_cast<double>(json_fields::serialized_size(b))});
      }
      if (results) return;
    }
    append(th, {self, static_cast<double>(json_fields::serialized_size(m))});
  }

  std::string tool_step(const std::string& session, const std::string& id, const std::string& fallback) {
    if (auto it = tool_ids_.find({session, id}); !id.empty() && it != tool_ids_.end()) return it->second;
    if (auto it = tool_ids_.find({session, alnum(id)}); !id.empty() && it != tool_ids_.end()) return it->second;
    return fallback;
  }

  // A sub-agent's step owns everything its calls cost; its answer was used wherever the
  // result of the tool call that started it was carried.
  void finish_subagents() {
    for (auto& [node, calls] : subagent_calls_) {
      Step& s = step(tree_.nodes[node].span);
      TokenSum sum;
      for (size_t c : calls) {
        const Priced& p = priced_.at(&tree_.nodes[c]);
        if (p.tokens) add(sum, *p.tokens);
        if (p.cost) s.cost_usd += p.cost->total;
        if (p.tokens && !p.cost) s.priced = false;
      }
      s.tokens = sum;
    }
    for (auto& s : card_.steps)
      if (s.kind == "subagent")
        if (auto it = step_index_.find(s.parent); it != step_index_.end()) s.used_by = card_.steps[it->second].used_by;
  }

  Step& step(const std::string& id) { return card_.steps[step_index_.at(id)]; }

  static double seconds(uint64_t from, uint64_t to) { return to > from ? static_cast<double>(to - from) / 1e9 : 0.0; }

  const SpanTree& tree_;
  const pricing::PriceTable& prices_;
  Card card_;
  uint64_t t0_ = 0;
  std::vector<size_t> order_, calls_;
  // Looked up, never iterated (iteration order would change the sums' rounding).
  std::unordered_map<size_t, std::string> parent_of_;
  std::unordered_map<const SpanNode*, Priced> priced_;
  std::unordered_map<std::string, size_t> step_index_;
  std::unordered_map<std::pair<std::string, std::string>, std::string, PairHash> tool_ids_;
  std::map<std::string, ThreadContext> threads_;
  double overhead_ = 0;  // bytes of the current request not in its messages or system prompt
  // Per step, during attribution (contiguous: the inner loop touches them per segment).
  std::vector<double> cost_;
  std::vector<char> tracked_;  // a tool call that started a sub-agent: who used its result
  std::vector<std::vector<size_t>> uses_;
  std::map<size_t, std::vector<size_t>> subagent_calls_;
  size_t current_subagent_ = 0;
};

}  // namespace


std::optional<pricing::Tokens> call_usage(const SpanNode& llm) { return usage_of(llm); }
std::string call_model(const SpanNode& llm) { return model_of(llm); }

Card compile(const SpanTree& tree, const pricing::PriceTable& prices) {
  if (tree.nodes.empty()) return {};
  Card card = Compiler(tree, prices).run();
  card.redundancy = find_redundancy(tree, card);
  return card;
}

}  // namespace clawtrace::card
