#include "session_cost.h"

#include <algorithm>

#include "tree.h"

namespace clawtrace::cli {
namespace {

double output_cost(const card::Step& step, const pricing::PriceTable& prices) {
  if (!step.priced || !step.tokens) return 0;
  pricing::Tokens t;
  t.input = step.tokens->input;
  t.output = step.tokens->output;
  t.cache_read = step.tokens->cache_read;
  t.cache_write = step.tokens->cache_write;
  t.reasoning = step.tokens->reasoning;
  auto c = pricing::cost(prices, step.name, t);
  // Never more than the step was charged: the split stays a partition.
  return c ? std::clamp(c->output, 0.0, std::max(0.0, step.cost_usd)) : 0.0;
}

}  // namespace

SessionCost card_cost(const card::Card& card, const pricing::PriceTable& prices) {
  SessionCost c;
  c.total_usd = card.cost_usd;
  c.llm_calls = card.llm_calls;
  c.unpriced_calls = card.unpriced_calls;
  for (const auto& step : card.steps) {
    if (step.kind == "llm") {
      const double out = output_cost(step, prices);
      c.llm_output_usd += out;
      c.llm_input_usd += step.cost_usd - out;
    } else if (step.kind == "subagent") {
      c.subagents_usd += step.cost_usd;
    } else {  // tool, process
      c.tool_results_usd += step.cost_usd;
    }
  }
  return c;
}

Result<SessionCost> session_cost(Store& store, const std::string& id, const pricing::PriceTable& prices) {
  auto tree = load_span_tree(store, id);
  if (!tree) return Error{tree.error()};
  return card_cost(card::compile(*tree, prices), prices);
}

}  // namespace clawtrace::cli
