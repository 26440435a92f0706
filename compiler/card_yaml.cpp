// The YAML of a TraceCard (SPEC §5): keys in the spec's order, dollars with 15
// significant digits, the same bytes for the same card.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "card.h"
#include "text.h"

namespace clawtrace::card {
namespace {

std::string iso_time(uint64_t ns) {
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(ns / 1'000'000 % 1000));
  return buf;
}

void tokens(YAML::Emitter& y, const TokenSum& t) {
  y << YAML::Flow << YAML::BeginMap << YAML::Key << "input" << YAML::Value << t.input << YAML::Key << "output"
    << YAML::Value << t.output << YAML::Key << "cache_read" << YAML::Value << t.cache_read << YAML::Key
    << "cache_write" << YAML::Value << t.cache_write << YAML::Key << "reasoning" << YAML::Value << t.reasoning
    << YAML::EndMap;
}

void session(YAML::Emitter& y, const Card& c) {
  const SessionInfo& s = c.session;
  const std::string command = text::shell_join(s.argv);
  y << YAML::Key << "session" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "id" << YAML::Value << s.id << YAML::Key << "name" << YAML::Value << s.name;
  y << YAML::Key << "command" << YAML::Value << YAML::DoubleQuoted << command;
  y << YAML::Key << "start" << YAML::Value << iso_time(s.start_ns);
  y << YAML::Key << "duration_s" << YAML::Value << (s.end_ns ? static_cast<double>(*s.end_ns - s.start_ns) / 1e9 : 0.0);
  y << YAML::Key << "status" << YAML::Value << std::string(to_string(s.status));
  y << YAML::Key << "exit_code" << YAML::Value;
  if (s.exit_code) y << *s.exit_code;
  else y << YAML::Null;
  y << YAML::Key << "quality" << YAML::Value;
  if (s.quality) y << *s.quality;
  else y << YAML::Null;
  if (s.note) y << YAML::Key << "note" << YAML::Value << YAML::DoubleQuoted << *s.note;
  y << YAML::EndMap;
}

void totals(YAML::Emitter& y, const Card& c, bool cost) {
  y << YAML::Key << "totals" << YAML::Value << YAML::BeginMap;
  if (cost) y << YAML::Key << "cost_usd" << YAML::Value << c.cost_usd;
  y << YAML::Key << "llm_calls" << YAML::Value << c.llm_calls << YAML::Key << "tool_calls" << YAML::Value << c.tool_calls
    << YAML::Key << "subagents" << YAML::Value << c.subagents;
  if (cost) {
    y << YAML::Key << "unpriced_calls" << YAML::Value << c.unpriced_calls;
    if (!c.unpriced_models.empty()) y << YAML::Key << "unpriced_models" << YAML::Value << YAML::Flow << c.unpriced_models;
  }
  y << YAML::Key << "tokens" << YAML::Value;
  tokens(y, c.tokens);
  y << YAML::EndMap;
}

void step(YAML::Emitter& y, const Step& s, bool cost) {
  y << YAML::BeginMap;
  y << YAML::Key << "id" << YAML::Value << s.id << YAML::Key << "kind" << YAML::Value << s.kind;
  y << YAML::Key << "parent" << YAML::Value << s.parent << YAML::Key << "name" << YAML::Value << s.name;
  y << YAML::Key << "start_s" << YAML::Value << s.start_s << YAML::Key << "duration_s" << YAML::Value << s.duration_s;
  if (cost) y << YAML::Key << "cost_usd" << YAML::Value << s.cost_usd;
  if (cost && !s.priced) y << YAML::Key << "priced" << YAML::Value << false;
  if (s.tokens) {
    y << YAML::Key << "tokens" << YAML::Value;
    tokens(y, *s.tokens);
  }
  if (!s.role.empty()) y << YAML::Key << "role" << YAML::Value << s.role;
  // Free text is always double-quoted: no guessing whether it could be a plain scalar.
  if (!s.args.empty()) y << YAML::Key << "args" << YAML::Value << YAML::DoubleQuoted << s.args;
  if (!s.result.empty()) y << YAML::Key << "result" << YAML::Value << YAML::DoubleQuoted << s.result;
  if (!s.error.empty()) y << YAML::Key << "error" << YAML::Value << YAML::DoubleQuoted << s.error;
  y << YAML::EndMap;
}

void top_cost(YAML::Emitter& y, const Card& c, size_t k) {
  y << YAML::Key << "top_cost" << YAML::Value << YAML::BeginSeq;
  for (const Step* top : card::top_cost(c, k)) {
    const Step& s = *top;
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "step" << YAML::Value << s.id << YAML::Key << "cost_usd"
      << YAML::Value << s.cost_usd << YAML::Key << "share" << YAML::Value
      << (c.cost_usd > 0 ? s.cost_usd / c.cost_usd : 0.0) << YAML::Key << "role" << YAML::Value
      << (s.role.empty() ? s.kind : s.role) << YAML::EndMap;
  }
  y << YAML::EndSeq;
}

void redundancy(YAML::Emitter& y, const Card& c, bool cost) {
  y << YAML::Key << "redundancy" << YAML::Value << YAML::BeginSeq;
  for (const auto& f : c.redundancy) {
    y << YAML::BeginMap << YAML::Key << "kind" << YAML::Value << f.kind << YAML::Key << "steps" << YAML::Value
      << YAML::Flow << f.steps;
    if (cost) y << YAML::Key << "wasted_usd" << YAML::Value << f.wasted_usd;
    y << YAML::Key << "reason" << YAML::Value << YAML::DoubleQuoted << f.reason << YAML::EndMap;
  }
  y << YAML::EndSeq;
}

void subagents(YAML::Emitter& y, const Card& c, bool cost) {
  y << YAML::Key << "subagents" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : c.steps) {
    if (s.kind != "subagent") continue;
    y << YAML::BeginMap << YAML::Key << "step" << YAML::Value << s.id << YAML::Key << "session" << YAML::Value
      << s.session;
    if (cost) y << YAML::Key << "cost_usd" << YAML::Value << s.cost_usd;
    y << YAML::Key << "output" << YAML::Value << YAML::DoubleQuoted << s.output << YAML::Key << "used_by" << YAML::Value << YAML::Flow
      << s.used_by << YAML::EndMap;
  }
  y << YAML::EndSeq;
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
  YAML::Emitter y;
  y.SetDoublePrecision(15);
  y << YAML::BeginMap;
  y << YAML::Key << "tracecard" << YAML::Value << 1;
  session(y, c);
  totals(y, c, !o.no_cost);
  y << YAML::Key << "steps" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : c.steps) step(y, s, !o.no_cost);
  y << YAML::EndSeq;
  if (!o.no_cost) top_cost(y, c, o.top);
  else y << YAML::Key << "top_cost" << YAML::Value << YAML::BeginSeq << YAML::EndSeq;
  redundancy(y, c, !o.no_cost);
  subagents(y, c, !o.no_cost);
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace clawtrace::card
