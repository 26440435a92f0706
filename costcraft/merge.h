// Merge across sessions (SPEC §6): admitted patches with equivalent rules become one rule
// supported by the sessions they came from; rules are ranked by prevalence, then repair >
// prune with counterfactual > preserve > anything else; duplicate preserves, prunes that
// would remove what an admitted repair or preserve relies on, and unconfirmed single-source
// rules are dropped; what is left is cut to the skill's token budget. Each rule not in the
// skill keeps the reason.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "patch.h"

namespace clawtrace::costcraft {

struct Rule {
  std::string id;  // r1, r2, … in rank order
  std::string type, text, section, action, scope;
  std::vector<size_t> patches;      // indices into the reviewed patches
  std::set<std::string> sessions;   // the traces that support it
  bool counterfactual = false;      // prune: a member carries one
  bool confirmed = false;           // repair: a member's diagnosis passed
  bool top_cost_target = false;     // prune: a member targets only top-cost steps
  std::optional<double> savings;    // prune: summed over members; unknown if any is
  bool in_skill = false;
  std::string reason;               // why it is in the skill, or why not
  size_t support() const { return sessions.size(); }
};

// 0 repair, 1 prune with counterfactual, 2 preserve, 3 anything else.
int type_rank(const Rule& rule);

// Clusters, ranks and filters the admitted patches of `reviewed` (setting their
// decision.cluster); `line_tokens(rule)` is what the rule's line adds to SKILL.md and
// `base_tokens` what the skill costs without rules.
std::vector<Rule> merge(std::vector<Reviewed>& reviewed, const Options& options, size_t base_tokens,
                        size_t (*line_tokens)(const Rule&));

}  // namespace clawtrace::costcraft
