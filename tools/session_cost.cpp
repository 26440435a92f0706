#include "session_cost.h"

#include "tree.h"

namespace clawtrace::cli {
SessionCost card_cost(const card::Card& card) {
  SessionCost c;
  c.total_usd = card.cost_usd;
  c.llm_calls = card.llm_calls;
  c.unpriced_calls = card.unpriced_calls;
  for (const auto& step : card.steps) {
    if (step.kind == "llm") {
      c.llm_output_usd += step.output_usd;
      c.llm_input_usd += step.cost_usd - step.output_usd;
    } else if (step.kind == "subagent") {
      c.subagents_usd += step.cost_usd;
    } else {  // tool, process
      c.tool_results_usd += step.cost_usd;
    }
  }
  return c;
}

Result<SessionCost> session_cost(SpanTreeLoader& trees, const std::string& id, const pricing::PriceTable& prices) {
  auto tree = trees.load(id);
  if (!tree) return Error{tree.error()};
  return card_cost(card::compile(*tree, prices));
}

}  // namespace clawtrace::cli
