// Proposers: from one scored TraceCard to candidate patches. The offline proposer is
// deterministic and works from the card's own findings; an LLM proposer (later) sends
// `card_yaml` and the outcome in a prompt. Both see only what ProposerInput carries, so
// the no-cost ablation is enforced here, not by each proposer's good manners.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "card.h"
#include "patch.h"
#include "result.h"

namespace clawtrace::costcraft {

struct ProposerInput {
  card::Card card;                    // as the proposer may see it: every cost zeroed under no-cost
  std::vector<std::string> top_cost;  // the K costliest step ids, costliest first; empty under no-cost
  bool costs_visible = true;
  size_t top = 10;
  double quality = 0;
  std::string outcome;  // success, partial, failure
  std::string note;     // the oracle's note, if any
  // The card as YAML, what a prompt carries: the --no-cost card under no-cost. Rendered on
  // demand (yaml-cpp is the slow part of a card; the offline proposer never needs it).
  std::string card_yaml() const;
};

// What a proposer may see of `card` (which must be scored) under `options`.
ProposerInput proposer_input(const card::Card& card, const Options& options);

class Proposer {
 public:
  virtual ~Proposer() = default;
  virtual std::string name() const = 0;
  // Candidate patches for one card; ids, provenance and decisions are filled in later.
  // An error (e.g. an unreachable model) is recorded as a rejected proposal.
  virtual Result<std::vector<Patch>> propose(const ProposerInput& input) = 0;
};

// From the card's findings (costcraft/offline.cpp, method in docs/costcraft.md):
//  prune    redundancy findings and top-cost steps of successful sessions
//  repair   errored steps not recovered later, in sessions below the success threshold
//  preserve tool sequences of successful sessions (read before edit, test after edit, …)
class OfflineProposer final : public Proposer {
 public:
  std::string name() const override { return "offline"; }
  Result<std::vector<Patch>> propose(const ProposerInput& input) override;
};

// The kind of action a step is: read, search, edit, test, run, web, delegate, model, other.
std::string action_of(const card::Step& step);

}  // namespace clawtrace::costcraft
