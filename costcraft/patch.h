// CostCraft patches (SPEC §6) and their admission: what a proposer suggests from one
// scored TraceCard, and the gate that admits or rejects it against that card's own facts
// (its steps, its costliest steps, its redundancy findings, its outcome). Every rejection
// keeps its reason.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "card.h"

namespace clawtrace::costcraft {

// Skill sections, in SKILL.md order; rules go in the last four.
inline constexpr const char* kTrigger = "Trigger";
inline constexpr const char* kWorkflow = "Workflow";
inline constexpr const char* kStopRules = "Stop rules";
inline constexpr const char* kChecklist = "Artifact checklist";
inline constexpr const char* kCostControl = "Cost control";

struct Evidence {
  std::string step;     // a step id of the source card
  std::string excerpt;  // quoted verbatim from that step (name, args, result, error or output)
};

struct Patch {
  std::string id;    // "<session>/<n>", stable across runs
  std::string type;  // preserve, prune or repair (a proposer may send anything: admission checks)
  std::string rule;  // the instruction, general: no task-specific facts
  std::string root_cause;
  std::vector<std::string> targets;  // step ids
  std::string target_role;           // prune: the cost sink's role (LLM role or step kind)
  // What a prune removes: "repeats" (a repeat of work already done), "unused" (output or
  // an answer nothing used) or "steps" (a kind of step itself). Only "steps" can contradict
  // a repair or preserve relying on that kind of step (a shared target always does).
  std::string scope;
  std::string action;  // the kind of step the rule is about: read, search, edit, test, run, web, delegate, model, other
  std::vector<Evidence> evidence;
  std::string counterfactual;  // prune: "removing X would not have broken success because Y"
  std::optional<double> est_savings_usd;  // prune; unknown when the proposer saw no cost
  std::string source_session;
  std::string source_outcome;  // success, partial, failure
  double source_quality = 0;
  std::string skill_section;
  bool diagnostic_passed = false;  // repair: the oracle's note confirms the diagnosis (set by admission)
  std::string proposer;            // offline, or llm:<model>
};

struct Options {
  size_t top = 10;          // top_cost entries a prune may target
  double success_at = 1.0;  // Q at or above this is a success (SPEC: Q = 1)
  bool no_cost = false;            // ablation: the proposer sees the --no-cost card
  bool no_prune = false;           // ablation: no prune is admitted
  bool no_counterfactual = false;  // ablation: a prune needs no counterfactual
  size_t token_budget = 1200;      // SKILL.md, estimated at 4 bytes per token
  size_t max_rule_chars = 400;     // a rule is one instruction
};

// success, partial or failure for a quality.
std::string outcome_of(double quality, const Options& options);

// What admission checks a patch against: the card as compiled (with costs, whatever the
// proposer saw), its costliest steps and the steps its redundancy findings call wasteful.
struct CardFacts {
  explicit CardFacts(const card::Card& card, const Options& options);
  const card::Card* card;
  std::string outcome;
  std::set<std::string> top_cost;   // the K costliest steps
  std::set<std::string> redundant;  // the wasteful step(s) of each finding (not the earlier one)
  std::set<std::string> specific;   // names and paths from the trace a general rule must not carry
  const card::Step* step(const std::string& id) const;

 private:
  std::vector<std::pair<std::string, const card::Step*>> steps_;  // sorted by id
};

struct Decision {
  bool admitted = false;
  std::string reason;            // rejected: the first gate it failed; admitted: what it passed
  bool top_cost_target = false;  // every target is among the card's K costliest steps
  std::string cluster;           // admitted: the merged rule it joined (merge.h)
};

struct Reviewed {
  Patch patch;
  Decision decision;
};

// The gate of SPEC §6. Sets patch.diagnostic_passed for a repair (the session's note
// names its error), defaults an unknown skill_section by type, then decides.
Decision admit(Patch& patch, const CardFacts& facts, const Options& options);

}  // namespace clawtrace::costcraft
