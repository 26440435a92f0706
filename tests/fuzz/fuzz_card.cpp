// The TraceCard compiler (compiler/card*.cpp over store/tree.cpp) on arbitrary events, as
// `clawtrace import` can hand it any JSON lines of the event envelope. Input: JSON lines;
// each parsed one is an event, each session_start names its session's parents as import
// does. The card of the first session (with the sessions below it) must compile,
// its steps' costs must partition the total, and its YAML must parse back (yaml-cpp) with
// the same total.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "card.h"
#include "event.h"
#include "fuzz_support.h"
#include "tree.h"

namespace {

using namespace clawtrace;

const pricing::PriceTable& prices() {
  static const pricing::PriceTable table = [] {
    auto t = pricing::PriceTable::parse(R"({"version":"fuzz","models":{
      "claude-sonnet-4-5":{"provider":"anthropic","input":3,"output":15,"cache_read":0.3,"cache_write_5m":3.75,
        "cache_write_1h":6,"tiers":[{"above_prompt_tokens":200000,"input":6,"output":22.5}]},
      "gpt-4o":{"provider":"openai","input":2.5,"output":10,"cache_read":1.25}}})",
                                        "fuzz-prices.json");
    fuzz::check(t.ok(), "the fuzzer's price table parses");
    return std::move(t.value());
  }();
  return table;
}

// Sessions as import derives them: every session with events, parents from its start.
std::vector<SessionInfo> sessions_of(const std::map<std::string, std::vector<Event>>& events) {
  std::vector<SessionInfo> out;
  for (const auto& [id, list] : events) {
    SessionInfo s;
    s.id = id;
    for (const auto& e : list) {
      if (e.type != EventType::session_start) continue;
      s.start_ns = e.t_ns;
      if (const auto* p = e.data.if_contains("parent_session"); p && p->is_string()) s.parent_session = std::string(p->get_string());
      if (const auto* p = e.data.if_contains("parent_span"); p && p->is_string()) s.parent_span = std::string(p->get_string());
    }
    out.push_back(std::move(s));
  }
  return out;
}

void check_card(const std::string& root, const std::vector<SessionInfo>& sessions,
                const std::map<std::string, std::vector<Event>>& events) {
  const card::Card c = card::compile(build_span_tree(root, sessions, events), prices());
  fuzz::check(std::isfinite(c.cost_usd) && c.cost_usd >= 0, "a card's total is finite and non-negative");
  double steps = 0;
  // A step's share is a sum of differences: rounding may leave it a hair below zero.
  const double rounding = 1e-12 * std::max(1.0, c.cost_usd);
  for (const auto& s : c.steps) {
    if (!(std::isfinite(s.cost_usd) && s.cost_usd >= -rounding))
      std::fprintf(stderr, "step %s (%s): %g\n", s.id.c_str(), s.kind.c_str(), s.cost_usd);
    fuzz::check(std::isfinite(s.cost_usd) && s.cost_usd >= -rounding, "a step's cost is finite and non-negative");
    steps += s.cost_usd;
  }
  if (std::fabs(steps - c.cost_usd) > 1e-9 * std::max(1.0, c.cost_usd))
    std::fprintf(stderr, "steps add up to %.17g, the total is %.17g\n%s\n", steps, c.cost_usd,
                 card::to_yaml(c, card::Options{}).c_str());
  fuzz::check(std::fabs(steps - c.cost_usd) <= 1e-9 * std::max(1.0, c.cost_usd), "the steps partition the total");
  const std::string text = card::to_yaml(c, card::Options{});
  try {
    const YAML::Node doc = YAML::Load(text);
    const double total = doc["totals"]["cost_usd"].as<double>();
    fuzz::check(std::fabs(total - c.cost_usd) <= 1e-9 * std::max(1.0, c.cost_usd), "the YAML states the total");
  } catch (const YAML::Exception& e) {
    std::fprintf(stderr, "%s\n%s\n", e.what(), text.c_str());
    fuzz::check(false, "a card's YAML parses back");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::vector<Event>> events;
  std::string first;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    auto e = event_from_json_line(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!e) continue;
    if (first.empty()) first = e->session;
    events[e->session].push_back(std::move(e.value()));
  }
  if (first.empty()) return 0;
  const auto sessions = sessions_of(events);
  check_card(first, sessions, events);  // its tree takes in the sessions below it
  return 0;
}
