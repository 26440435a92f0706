// SKILL.md and patches.yaml (costcraft.h). Nothing here depends on the clock or the
// machine: the same distillation gives the same bytes.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "costcraft.h"
#include "wording.h"

namespace clawtrace::costcraft {
namespace {

constexpr size_t kMaxDescription = 1024;
constexpr size_t kAgentsNamed = 3;

std::string money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.3g", usd);
  return buf;
}

std::string plural(size_t n, const char* one, const char* many) { return std::to_string(n) + " " + (n == 1 ? one : many); }

// Who the skill is for: session names (else programs) shared by at least two traces, most
// frequent first. A name only one trace has is likely the task's, not the agent's.
std::string agents(const Distillation& d) {
  for (const bool by_name : {true, false}) {
    std::map<std::string, size_t> count;
    for (const auto& s : d.sessions)
      if (const std::string& label = by_name ? s.name : s.program; !label.empty()) ++count[label];
    std::vector<std::pair<std::string, size_t>> order;
    for (const auto& kv : count)
      if (kv.second >= 2) order.push_back(kv);
    if (order.empty()) continue;
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    const size_t n = std::min(order.size(), kAgentsNamed);
    std::string out = order[0].first;
    for (size_t i = 1; i < n; ++i) out += (i + 1 == n ? " or " : ", ") + order[i].first;
    return out;
  }
  return "the agent";
}

std::string outcomes(const Distillation& d) {
  size_t success = 0, partial = 0, failure = 0;
  for (const auto& s : d.sessions) (s.outcome == "success" ? success : s.outcome == "partial" ? partial : failure)++;
  std::string out = plural(d.sessions.size(), "scored trace", "scored traces") + " (" + plural(success, "success", "successes");
  if (partial) out += ", " + std::to_string(partial) + " partial";
  return out + ", " + plural(failure, "failure", "failures") + ")";
}

std::string selection(const Distillation& d) {
  if (d.request.tags.empty()) return "";
  std::string out = " (sessions tagged ";
  for (size_t i = 0; i < d.request.tags.size(); ++i) out += (i ? ", " : "") + d.request.tags[i];
  return out + ")";
}

std::string description(const Distillation& d) {
  const std::string text = "Cost-aware working rules for " + agents(d) + ", distilled by ClawTrace CostCraft from " +
                           outcomes(d) + ": fixes for the failures seen, cuts of costly steps that did not matter, "
                           "and behaviours that worked. Use it when " + agents(d) +
                           " takes on a task like those" + selection(d) + ".";
  return wording::excerpt(text, kMaxDescription);
}

void front_matter(std::string& out, const Distillation& d) {
  YAML::Emitter y;
  y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << d.request.name << YAML::Key << "description"
    << YAML::Value << YAML::DoubleQuoted << description(d) << YAML::EndMap;
  out += "---\n" + std::string(y.c_str()) + "\n---\n\n";
}

void section(std::string& out, const char* title, const Distillation& d) {
  out += std::string("## ") + title + "\n\n";
  size_t n = 0;
  for (const auto& r : d.rules)
    if (r.in_skill && r.section == title) {
      out += rule_line(r);
      ++n;
    }
  if (!n) out += "- None distilled.\n";
  out += "\n";
}

// ---- patches.yaml ----------------------------------------------------------------------

void opt_number(YAML::Emitter& y, const char* key, const std::optional<double>& v) {
  y << YAML::Key << key << YAML::Value;
  if (v) y << *v;
  else y << YAML::Null;
}

void strings(YAML::Emitter& y, const char* key, const std::vector<std::string>& v) {
  y << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : v) y << s;
  y << YAML::EndSeq;
}

void quoted(YAML::Emitter& y, const char* key, const std::string& v) {
  y << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << v;
}

void options(YAML::Emitter& y, const Distillation& d) {
  const Options& o = d.request.options;
  std::vector<std::string> ablate;
  if (o.no_cost) ablate.push_back("no-cost");
  if (o.no_prune) ablate.push_back("no-prune");
  if (o.no_counterfactual) ablate.push_back("no-counterfactual");
  y << YAML::Key << "options" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "top" << YAML::Value << o.top << YAML::Key << "success_at" << YAML::Value << o.success_at;
  strings(y, "ablate", ablate);
  strings(y, "tags", d.request.tags);
  y << YAML::Key << "token_budget" << YAML::Value << o.token_budget << YAML::EndMap;
}

void sessions(YAML::Emitter& y, const Distillation& d) {
  y << YAML::Key << "sessions" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : d.sessions)
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "id" << YAML::Value << s.id << YAML::Key << "name" << YAML::Value
      << s.name << YAML::Key << "quality" << YAML::Value << s.quality << YAML::Key << "outcome" << YAML::Value
      << s.outcome << YAML::Key << "cost_usd" << YAML::Value << s.cost_usd << YAML::Key << "proposed" << YAML::Value
      << s.proposed << YAML::Key << "admitted" << YAML::Value << s.admitted << YAML::EndMap;
  y << YAML::EndSeq;
}

void patch(YAML::Emitter& y, const Reviewed& r) {
  const Patch& p = r.patch;
  y << YAML::BeginMap;
  y << YAML::Key << "id" << YAML::Value << p.id << YAML::Key << "type" << YAML::Value << p.type;
  quoted(y, "rule", p.rule);
  quoted(y, "root_cause", p.root_cause);
  strings(y, "targets", p.targets);
  if (!p.target_role.empty()) y << YAML::Key << "target_role" << YAML::Value << p.target_role;
  if (!p.scope.empty()) y << YAML::Key << "scope" << YAML::Value << p.scope;
  if (!p.action.empty()) y << YAML::Key << "action" << YAML::Value << p.action;
  y << YAML::Key << "evidence" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : p.evidence) {
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "step" << YAML::Value << e.step;
    quoted(y, "excerpt", e.excerpt);
    y << YAML::EndMap;
  }
  y << YAML::EndSeq;
  quoted(y, "counterfactual", p.counterfactual);
  opt_number(y, "est_savings_usd", p.est_savings_usd);
  y << YAML::Key << "source_session" << YAML::Value << p.source_session << YAML::Key << "source_outcome"
    << YAML::Value << p.source_outcome << YAML::Key << "source_quality" << YAML::Value << p.source_quality;
  quoted(y, "skill_section", p.skill_section);
  y << YAML::Key << "diagnostic_passed" << YAML::Value << p.diagnostic_passed;
  y << YAML::Key << "proposer" << YAML::Value << p.proposer;
  y << YAML::Key << "decision" << YAML::Value << (r.decision.admitted ? "admitted" : "rejected");
  quoted(y, "reason", r.decision.reason);
  if (r.decision.admitted)
    y << YAML::Key << "top_cost_target" << YAML::Value << r.decision.top_cost_target << YAML::Key << "rule_id"
      << YAML::Value << r.decision.cluster;
  y << YAML::EndMap;
}

void rule(YAML::Emitter& y, const Rule& r, const std::vector<Reviewed>& reviewed) {
  std::vector<std::string> ids, sessions(r.sessions.begin(), r.sessions.end());
  for (size_t i : r.patches) ids.push_back(reviewed[i].patch.id);
  y << YAML::BeginMap << YAML::Key << "id" << YAML::Value << r.id << YAML::Key << "type" << YAML::Value << r.type;
  quoted(y, "rule", r.text);
  quoted(y, "skill_section", r.section);
  y << YAML::Key << "support" << YAML::Value << r.support();
  strings(y, "sessions", sessions);
  strings(y, "patches", ids);
  y << YAML::Key << "counterfactual" << YAML::Value << r.counterfactual << YAML::Key << "confirmed" << YAML::Value
    << r.confirmed << YAML::Key << "top_cost_target" << YAML::Value << r.top_cost_target;
  opt_number(y, "est_savings_usd", r.savings);
  y << YAML::Key << "in_skill" << YAML::Value << r.in_skill;
  quoted(y, "reason", r.reason);
  y << YAML::EndMap;
}

}  // namespace

std::string rule_line(const Rule& r) {
  std::string tag = r.type + ", " + plural(r.support(), "trace", "traces");
  if (r.type == "repair" && r.confirmed) tag += ", diagnosis confirmed";
  if (r.type == "prune" && !r.counterfactual) tag += ", no counterfactual";
  if (r.type == "prune" && r.savings) tag += ", saved about " + money(*r.savings / static_cast<double>(r.support())) + " a trace";
  return "- " + r.text + " *(" + tag + ")*\n";
}

std::string skill_md(const Distillation& d) {
  std::string out;
  front_matter(out, d);
  out += "# " + d.request.name + "\n\n";
  out += "Rules distilled by ClawTrace CostCraft (" + d.proposer + " proposer) from " + outcomes(d) +
         ". Each rule names its patch type (repair: fixes a failure; prune: removes a costly step that did not "
         "matter; preserve: keeps what worked) and how many traces support it. Evidence, counterfactuals and every "
         "rejected proposal are in patches.yaml.\n\n";
  out += std::string("## ") + kTrigger + "\n\nUse this skill when " + agents(d) + " works on a task like those it was distilled from" +
         selection(d) + ". Read it before the first tool call and follow it until the task is done.\n\n";
  for (const char* title : {kWorkflow, kStopRules, kChecklist, kCostControl}) section(out, title, d);
  out.pop_back();  // one newline at the end
  return out;
}

std::string patches_yaml(const Distillation& d) {
  YAML::Emitter y;
  y.SetDoublePrecision(15);
  y << YAML::BeginMap;
  y << YAML::Key << "costcraft" << YAML::Value << 1;
  y << YAML::Key << "skill" << YAML::Value << d.request.name;
  y << YAML::Key << "proposer" << YAML::Value << d.proposer;
  options(y, d);
  sessions(y, d);
  size_t admitted = 0, in_skill = 0;
  for (const auto& r : d.patches) admitted += r.decision.admitted;
  for (const auto& r : d.rules) in_skill += r.in_skill;
  y << YAML::Key << "summary" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "proposed" << YAML::Value
    << d.patches.size() << YAML::Key << "admitted" << YAML::Value << admitted << YAML::Key << "rejected"
    << YAML::Value << d.patches.size() - admitted << YAML::Key << "rules" << YAML::Value << d.rules.size()
    << YAML::Key << "in_skill" << YAML::Value << in_skill << YAML::Key << "skill_tokens" << YAML::Value
    << d.skill_tokens << YAML::EndMap;
  y << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : d.rules) rule(y, r, d.patches);
  y << YAML::EndSeq;
  y << YAML::Key << "patches" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : d.patches) patch(y, r);
  y << YAML::EndSeq << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace clawtrace::costcraft
