// The YAML of a TraceCard (SPEC §5): keys in the spec's order, dollars with 15
// significant digits, the same bytes for the same card. The layout is fixed, so it is
// written directly; scalars go through yaml_text.h (why not yaml-cpp's emitter: there).
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "card.h"
#include "text.h"
#include "yaml_text.h"

namespace clawtrace::card {
namespace {

// Appends block-style lines: "key: value" at an indentation, "- " opening a sequence
// item, flow maps and sequences on one line.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  // "key:" ending its line; the nested block follows at indent + 2.
  void open(size_t indent, std::string_view k) {
    out_.append(indent, ' ');
    out_ += k;
    out_ += ":\n";
  }
  // Starts "key: " (the value is appended next). The first key of a sequence item gets
  // the item's "- " in place of its last two spaces of indentation.
  Writer& key(size_t indent, std::string_view k, bool item_start = false) {
    out_.append(item_start ? indent - 2 : indent, ' ');
    if (item_start) out_ += "- ";
    out_ += k;
    out_ += ": ";
    return *this;
  }
  Writer& str(std::string_view v) { return yaml::append_string(out_, v), end(); }
  Writer& text(std::string_view v) { return yaml::append_quoted(out_, v), end(); }  // free text
  Writer& num(double v) { return yaml::append_double(out_, v), end(); }
  Writer& num(int64_t v) { return yaml::append_int(out_, v), end(); }
  Writer& num(uint64_t v) { return yaml::append_uint(out_, v), end(); }
  Writer& raw(std::string_view v) { return out_ += v, end(); }
  Writer& strings(const std::vector<std::string>& v) {  // a flow sequence
    out_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ", ";
      yaml::append_string(out_, v[i]);
    }
    return raw("]");
  }
  Writer& tokens(const TokenSum& t) {
    out_ += "{input: ";
    yaml::append_int(out_, t.input);
    out_ += ", output: ";
    yaml::append_int(out_, t.output);
    out_ += ", cache_read: ";
    yaml::append_int(out_, t.cache_read);
    out_ += ", cache_write: ";
    yaml::append_int(out_, t.cache_write);
    out_ += ", reasoning: ";
    yaml::append_int(out_, t.reasoning);
    return raw("}");
  }
  std::string& out() { return out_; }

 private:
  Writer& end() {
    out_ += '\n';
    return *this;
  }
  std::string& out_;
};

std::string iso_time(uint64_t ns) {
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(ns / 1'000'000 % 1000));
  return buf;
}

void session(Writer& y, const Card& c) {
  const SessionInfo& s = c.session;
  y.open(0, "session");
  y.key(2, "id").str(s.id);
  y.key(2, "name").str(s.name);
  y.key(2, "command").text(text::shell_join(s.argv));
  y.key(2, "start").raw(iso_time(s.start_ns));  // a timestamp, read as one
  y.key(2, "duration_s").num(s.end_ns ? static_cast<double>(*s.end_ns - s.start_ns) / 1e9 : 0.0);
  y.key(2, "status").str(to_string(s.status));
  y.key(2, "exit_code");
  if (s.exit_code) y.num(int64_t{*s.exit_code});
  else y.raw("~");
  y.key(2, "quality");
  if (s.quality) y.num(*s.quality);
  else y.raw("~");
  if (s.note) y.key(2, "note").text(*s.note);
}

void totals(Writer& y, const Card& c, bool cost) {
  y.open(0, "totals");
  if (cost) y.key(2, "cost_usd").num(c.cost_usd);
  y.key(2, "llm_calls").num(c.llm_calls);
  y.key(2, "tool_calls").num(c.tool_calls);
  y.key(2, "subagents").num(c.subagents);
  if (cost) {
    y.key(2, "unpriced_calls").num(c.unpriced_calls);
    if (!c.unpriced_models.empty()) y.key(2, "unpriced_models").strings(c.unpriced_models);
  }
  y.key(2, "tokens").tokens(c.tokens);
}

void step(Writer& y, const Step& s, bool cost) {
  y.key(4, "id", true).str(s.id);
  y.key(4, "kind").str(s.kind);
  y.key(4, "parent").str(s.parent);
  y.key(4, "name").str(s.name);
  y.key(4, "start_s").num(s.start_s);
  y.key(4, "duration_s").num(s.duration_s);
  if (cost) y.key(4, "cost_usd").num(s.cost_usd);
  if (cost && !s.priced) y.key(4, "priced").raw("false");
  if (s.tokens) y.key(4, "tokens").tokens(*s.tokens);
  if (!s.role.empty()) y.key(4, "role").str(s.role);
  if (!s.detail.empty()) y.key(4, "detail").str(s.detail);
  if (!s.args.empty()) y.key(4, "args").text(s.args);
  if (!s.result.empty()) y.key(4, "result").text(s.result);
  if (!s.error.empty()) y.key(4, "error").text(s.error);
}

// "key: []" for an empty sequence, else "key:" and its items, one per call of `item`.
template <class Items, class Item>
void sequence(Writer& y, std::string_view k, const Items& items, Item&& item) {
  if (items.empty()) {
    y.key(0, k).raw("[]");
    return;
  }
  y.open(0, k);
  for (const auto& i : items) item(i);
}

void top_cost(Writer& y, const Card& c, size_t k) {
  sequence(y, "top_cost", card::top_cost(c, k), [&](const Step* s) {
    std::string& out = y.out();
    out += "  - {step: ";
    yaml::append_string(out, s->id);
    out += ", cost_usd: ";
    yaml::append_double(out, s->cost_usd);
    out += ", share: ";
    yaml::append_double(out, c.cost_usd > 0 ? s->cost_usd / c.cost_usd : 0.0);
    out += ", role: ";
    yaml::append_string(out, s->role.empty() ? s->kind : s->role);
    y.raw("}");
  });
}

void redundancy(Writer& y, const Card& c, bool cost) {
  sequence(y, "redundancy", c.redundancy, [&](const Finding& f) {
    y.key(4, "kind", true).str(f.kind);
    y.key(4, "steps").strings(f.steps);
    if (cost) y.key(4, "wasted_usd").num(f.wasted_usd);
    y.key(4, "reason").text(f.reason);
  });
}

void subagents(Writer& y, const Card& c, bool cost) {
  std::vector<const Step*> agents;
  for (const auto& s : c.steps)
    if (s.kind == "subagent") agents.push_back(&s);
  sequence(y, "subagents", agents, [&](const Step* s) {
    y.key(4, "step", true).str(s->id);
    y.key(4, "session").str(s->session);
    if (cost) y.key(4, "cost_usd").num(s->cost_usd);
    y.key(4, "output").text(s->output);
    y.key(4, "used_by").strings(s->used_by);
  });
}

}  // namespace

std::vector<const Step*> top_cost(const Card& c, size_t k) {
  std::vector<const Step*> order;
  for (const auto& s : c.steps)
    if (s.cost_usd > 0) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const Step* a, const Step* b) { return a->cost_usd > b->cost_usd; });
  if (order.size() > k) order.resize(k);
  return order;
}

std::string to_yaml(const Card& c, const Options& o) {
  std::string out;
  out.reserve(512 + c.steps.size() * 384);
  Writer y(out);
  y.key(0, "tracecard").num(int64_t{1});
  session(y, c);
  totals(y, c, !o.no_cost);
  sequence(y, "steps", c.steps, [&](const Step& s) { step(y, s, !o.no_cost); });
  top_cost(y, c, o.no_cost ? 0 : o.top);
  redundancy(y, c, !o.no_cost);
  subagents(y, c, !o.no_cost);
  return out;
}

}  // namespace clawtrace::card
