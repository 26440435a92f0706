// The LLM proposer (SPEC §6): for each scored card, a prompt with the card as the proposer
// may see it (the --no-cost card under the no-cost ablation: ProposerInput enforces that)
// and the outcome asks a model for patches as JSON, through llm_client.h (retries, cache).
// An answer that is not the JSON asked for is retried once with the parse error named;
// a second bad answer, or no answer, fails the proposal (distill records it as rejected,
// with the reason).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llm_client.h"
#include "proposer.h"

namespace clawtrace::costcraft {

class LlmProposer final : public Proposer {
 public:
  explicit LlmProposer(LlmEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
  std::string name() const override { return "llm:" + endpoint_.model; }
  Result<std::vector<Patch>> propose(const ProposerInput& input) override;

  static std::string system_prompt();
  static std::string user_prompt(const ProposerInput& input);

 private:
  LlmEndpoint endpoint_;
};

// The model's answer: {"patches": [{type, rule, root_cause, targets, evidence: [{step,
// excerpt}], counterfactual, est_savings_usd, skill_section}, …]}, optionally inside a
// ```json fence. Unknown fields are ignored; a patch without a string type and rule, or
// an answer of another shape, is an error saying what is wrong.
[[nodiscard]] Result<std::vector<Patch>> parse_patches(std::string_view answer);

}  // namespace clawtrace::costcraft
