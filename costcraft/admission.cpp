// Admission (patch.h): each patch is checked against its own card, first failed gate wins.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "patch.h"
#include "wording.h"

namespace clawtrace::costcraft {
namespace {

bool known_type(const std::string& t) { return t == "preserve" || t == "prune" || t == "repair"; }

bool rule_section(const std::string& s) {
  return s == kWorkflow || s == kStopRules || s == kChecklist || s == kCostControl;
}

std::string default_section(const std::string& type) {
  return type == "prune" ? kCostControl : type == "repair" ? kStopRules : kWorkflow;
}

std::string q_text(double q) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", q);
  return buf;
}

// Every step the patch names exists, and every excerpt is quoted from its step.
std::optional<std::string> cited_steps_problem(const Patch& p, const CardFacts& f) {
  for (const auto& t : p.targets)
    if (!f.step(t)) return "target " + t + " is not a step of session " + p.source_session;
  for (const auto& e : p.evidence) {
    const card::Step* s = f.step(e.step);
    if (!s) return "evidence step " + e.step + " is not a step of session " + p.source_session;
    if (e.excerpt.empty()) return "evidence for step " + e.step + " quotes nothing";
    const bool quoted = s->name.find(e.excerpt) != std::string::npos || s->args.find(e.excerpt) != std::string::npos ||
                        s->result.find(e.excerpt) != std::string::npos || s->error.find(e.excerpt) != std::string::npos ||
                        s->output.find(e.excerpt) != std::string::npos;
    if (!quoted) return "evidence excerpt for step " + e.step + " is not in the trace";
  }
  return std::nullopt;
}

std::optional<std::string> specific_token(const std::string& rule, const CardFacts& f) {
  for (const auto& token : wording::path_tokens(rule))
    if (f.specific.count(token)) return token;
  return std::nullopt;
}

// The session's note (the oracle's evidence) names what the repair's evidence quotes.
bool diagnosis_confirmed(const Patch& p, const CardFacts& f) {
  const auto& note = f.card->session.note;
  if (!note || note->empty()) return false;
  const auto said = wording::words(*note);
  for (const auto& e : p.evidence) {
    const card::Step* s = f.step(e.step);
    for (const auto& w : wording::words(e.excerpt + " " + (s ? s->name : "")))
      if (said.count(w)) return true;
  }
  return false;
}

Decision reject(std::string reason) { return Decision{false, std::move(reason), false, ""}; }

Decision admit_prune(const Patch& p, const CardFacts& f, const Options& o) {
  if (o.no_prune) return reject("ablation no-prune: no prune is admitted");
  if (p.source_outcome != "success")
    return reject("prune from a session below the success threshold (Q=" + q_text(p.source_quality) + " < " +
                  q_text(o.success_at) + "): only a success shows a step was not needed");
  if (p.targets.empty()) return reject("prune names no target step");
  bool all_top = true;
  for (const auto& t : p.targets) {
    const bool top = f.top_cost.count(t) > 0;
    all_top = all_top && top;
    if (!top && !f.redundant.count(t))
      return reject("target " + t + " is neither among the " + std::to_string(o.top) +
                    " costliest steps nor wasted work of a redundancy finding");
  }
  if (p.counterfactual.empty() && !o.no_counterfactual)
    return reject("prune without a counterfactual (why removing it would not lower quality)");
  std::string why = all_top ? "prune of top-cost step(s)" : "prune of wasted work (a redundancy finding)";
  why += p.counterfactual.empty() ? " without a counterfactual (ablation no-counterfactual)" : " with a counterfactual";
  return Decision{true, why, all_top, ""};
}

Decision admit_repair(const Patch& p) {
  if (p.source_outcome == "success") return reject("repair from a successful session: there is no failure to fix");
  if (p.evidence.empty()) return reject("repair cites no evidence from the trace");
  return Decision{true,
                  p.diagnostic_passed ? "repair citing existing steps; the oracle's note confirms the diagnosis"
                                      : "repair citing existing steps",
                  false, ""};
}

Decision admit_preserve(const Patch& p) {
  if (p.source_outcome != "success")
    return reject("preserve from a session below the success threshold (Q=" + q_text(p.source_quality) + ")");
  if (p.targets.empty() && p.evidence.empty()) return reject("preserve cites no step of the trace");
  return Decision{true, "preserve of a behaviour of a successful session", false, ""};
}

}  // namespace

std::string outcome_of(double quality, const Options& options) {
  if (quality >= options.success_at) return "success";
  return quality <= 0 ? "failure" : "partial";
}

CardFacts::CardFacts(const card::Card& c, const Options& options) : card(&c) {
  outcome = c.session.quality ? outcome_of(*c.session.quality, options) : "";
  for (const card::Step* s : card::top_cost(c, options.top)) top_cost.insert(s->id);
  for (const auto& finding : c.redundancy)
    for (size_t i = finding.steps.size() > 1 ? 1 : 0; i < finding.steps.size(); ++i) redundant.insert(finding.steps[i]);
  specific.insert(c.session.id);
  for (const auto& s : c.steps) {
    steps_.emplace_back(s.id, &s);
    specific.insert(s.id);
    for (const std::string* field : {&s.args, &s.result, &s.error})
      for (auto& token : wording::path_tokens(*field)) specific.insert(std::move(token));
  }
  std::sort(steps_.begin(), steps_.end());
}

const card::Step* CardFacts::step(const std::string& id) const {
  auto it = std::lower_bound(steps_.begin(), steps_.end(), std::make_pair(id, static_cast<const card::Step*>(nullptr)));
  return it != steps_.end() && it->first == id ? it->second : nullptr;
}

Decision admit(Patch& p, const CardFacts& f, const Options& o) {
  // Provenance is the card's, whatever the proposer said.
  p.source_session = f.card->session.id;
  p.source_quality = f.card->session.quality.value_or(0);
  p.source_outcome = f.outcome;
  if (!rule_section(p.skill_section)) p.skill_section = default_section(p.type);
  p.diagnostic_passed = p.type == "repair" && diagnosis_confirmed(p, f);
  if (!known_type(p.type)) return reject("unknown type '" + p.type + "' (preserve, prune or repair)");
  if (p.rule.empty()) return reject("empty rule");
  // One line of SKILL.md: a line break could forge sections or bullets in the skill.
  if (std::any_of(p.rule.begin(), p.rule.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return reject("rule has a line break or control character: a rule is one line");
  if (p.rule.size() > o.max_rule_chars)
    return reject("rule longer than " + std::to_string(o.max_rule_chars) + " characters: a rule is one instruction");
  if (f.outcome.empty()) return reject("session " + p.source_session + " has no quality score");
  if (auto token = specific_token(p.rule, f)) return reject("rule is task-specific: it names '" + *token + "' from the trace");
  if (auto problem = cited_steps_problem(p, f)) return reject(*problem);
  if (p.type == "prune") return admit_prune(p, f, o);
  if (p.type == "repair") return admit_repair(p);
  return admit_preserve(p);
}

}  // namespace clawtrace::costcraft
