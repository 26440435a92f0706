// Merge (merge.h).
#include "merge.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "wording.h"

namespace clawtrace::costcraft {
namespace {

constexpr double kSameRule = 0.8;        // token overlap of two equivalent rules
constexpr double kSamePreserve = 0.5;    // a preserve this close to a kept rule repeats it

struct Clustered {
  std::vector<Rule> rules;
  std::vector<std::set<std::string>> tokens;  // per rule, of its first member
};

void join(Rule& r, const Reviewed& p, size_t index) {
  if (r.patches.empty()) {
    r.type = p.patch.type;
    r.text = p.patch.rule;
    r.section = p.patch.skill_section;
    r.action = p.patch.action;
    r.scope = p.patch.scope;
    r.savings = 0.0;
  }
  r.patches.push_back(index);
  r.sessions.insert(p.patch.source_session);
  r.counterfactual = r.counterfactual || !p.patch.counterfactual.empty();
  r.confirmed = r.confirmed || p.patch.diagnostic_passed;
  r.top_cost_target = r.top_cost_target || p.decision.top_cost_target;
  if (p.patch.scope == "steps") r.scope = "steps";
  if (r.savings && p.patch.est_savings_usd) *r.savings += *p.patch.est_savings_usd;
  else r.savings.reset();
}

Clustered cluster(const std::vector<Reviewed>& reviewed) {
  Clustered c;
  for (size_t i = 0; i < reviewed.size(); ++i) {
    const Reviewed& p = reviewed[i];
    if (!p.decision.admitted) continue;
    const auto tokens = wording::rule_tokens(p.patch.rule);
    size_t at = 0;
    while (at < c.rules.size() &&
           (c.rules[at].type != p.patch.type || wording::jaccard(c.tokens[at], tokens) < kSameRule))
      ++at;
    if (at == c.rules.size()) {
      c.rules.emplace_back();
      c.tokens.push_back(tokens);
    }
    join(c.rules[at], p, i);
  }
  return c;
}

bool ranks_before(const Rule& a, const Rule& b) {
  if (a.support() != b.support()) return a.support() > b.support();
  if (type_rank(a) != type_rank(b)) return type_rank(a) < type_rank(b);
  const double sa = a.savings.value_or(-1), sb = b.savings.value_or(-1);
  if (sa != sb) return sa > sb;
  return a.text < b.text;
}

// What admitted repairs and preserves rely on: their steps (session/step) and actions.
struct Relied {
  std::map<std::string, std::string> steps;    // "session/step" -> rule id
  std::map<std::string, std::string> actions;  // action -> rule id
};

Relied relied_on(const std::vector<Rule>& rules, const std::vector<Reviewed>& reviewed) {
  Relied r;
  for (const auto& rule : rules) {
    if (rule.type != "repair" && rule.type != "preserve") continue;
    // Every agent relies on model calls; only a named kind of work can be contradicted.
    if (rule.action != "other" && rule.action != "model" && !rule.action.empty())
      r.actions.try_emplace(rule.action, rule.id);
    for (size_t i : rule.patches) {
      const Patch& p = reviewed[i].patch;
      for (const auto& t : p.targets) r.steps.try_emplace(p.source_session + "/" + t, rule.id);
      for (const auto& e : p.evidence) r.steps.try_emplace(p.source_session + "/" + e.step, rule.id);
    }
  }
  return r;
}

std::optional<std::string> contradiction(const Rule& prune, const Relied& relied, const std::vector<Reviewed>& reviewed) {
  for (size_t i : prune.patches) {
    const Patch& p = reviewed[i].patch;
    for (const auto& t : p.targets)
      if (auto it = relied.steps.find(p.source_session + "/" + t); it != relied.steps.end())
        return "would remove step " + t + " of session " + p.source_session + ", which " + it->second + " relies on";
  }
  if (prune.scope == "steps")
    if (auto it = relied.actions.find(prune.action); it != relied.actions.end())
      return "would remove " + prune.action + " steps, which " + it->second + " relies on";
  return std::nullopt;
}

std::optional<std::string> duplicate(const Rule& preserve, const std::vector<Rule>& rules) {
  const auto tokens = wording::rule_tokens(preserve.text);
  for (const auto& r : rules) {
    if (&r == &preserve) break;  // only rules ranked before it
    if (r.in_skill && (r.type == "repair" || r.type == "preserve") &&
        wording::jaccard(tokens, wording::rule_tokens(r.text)) >= kSamePreserve)
      return "duplicates " + r.id;
  }
  return std::nullopt;
}

std::optional<std::string> single_source(const Rule& r) {
  if (r.support() > 1) return std::nullopt;
  if (r.type == "repair" && r.confirmed) return std::nullopt;
  if (r.type == "prune" && r.counterfactual && r.top_cost_target) return std::nullopt;
  if (r.type == "repair") return "single-source repair whose diagnosis the oracle's note did not confirm";
  if (r.type == "prune") return "single-source prune without a counterfactual on a top-cost target";
  return "single-source " + r.type;
}

std::string kept_reason(const Rule& r) {
  std::string why = "supported by " + std::to_string(r.support()) + (r.support() == 1 ? " trace" : " traces");
  if (r.support() == 1)
    why += r.type == "repair" ? " (a confirmed repair)" : " (a prune with a counterfactual on a top-cost target)";
  return why;
}

}  // namespace

int type_rank(const Rule& r) {
  if (r.type == "repair") return 0;
  if (r.type == "prune" && r.counterfactual) return 1;
  if (r.type == "preserve") return 2;
  return 3;
}

std::vector<Rule> merge(std::vector<Reviewed>& reviewed, const Options& options, size_t base_tokens,
                        size_t (*line_tokens)(const Rule&)) {
  std::vector<Rule> rules = cluster(reviewed).rules;
  std::stable_sort(rules.begin(), rules.end(), ranks_before);
  for (size_t i = 0; i < rules.size(); ++i) {
    char id[32];  // not "r" + std::to_string(): GCC 12 warns falsely (-Wrestrict) on that here
    std::snprintf(id, sizeof id, "r%zu", i + 1);
    rules[i].id = id;
    for (size_t p : rules[i].patches) reviewed[p].decision.cluster = rules[i].id;
  }
  const Relied relied = relied_on(rules, reviewed);
  size_t tokens = base_tokens;
  for (auto& r : rules) {
    std::optional<std::string> drop;
    if (r.type == "preserve") drop = duplicate(r, rules);
    if (!drop && r.type == "prune") drop = contradiction(r, relied, reviewed);
    if (!drop) drop = single_source(r);
    if (!drop && tokens + line_tokens(r) > options.token_budget)
      drop = "over the skill budget (about " + std::to_string(options.token_budget) + " tokens)";
    r.in_skill = !drop;
    r.reason = drop ? *drop : kept_reason(r);
    if (r.in_skill) tokens += line_tokens(r);
  }
  return rules;
}

}  // namespace clawtrace::costcraft
