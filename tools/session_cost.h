// What a session cost: its TraceCard total (the session and every sub-agent below it,
// rolled up), split by the kinds of the card's steps. Shared by `clawtrace sessions` (its
// cost column) and `clawtrace eval`.
#pragma once

#include <cstdint>
#include <string>

#include "card.h"
#include "pricing.h"
#include "result.h"
#include "store.h"
#include "tree.h"

namespace clawtrace::cli {

// The split is a partition of the card's bill (the steps' costs add up to the total):
struct SessionCost {
  double total_usd = 0;         // the card's totals.cost_usd
  double llm_input_usd = 0;     // LLM steps: the context each introduced (prompt side)
  double llm_output_usd = 0;    // LLM steps: their own output, reasoning included
  double tool_results_usd = 0;  // tool and process steps: their results re-read by later calls
  double subagents_usd = 0;     // sub-agent steps: their whole sub-sessions
  uint64_t llm_calls = 0;       // sub-agents' calls included
  uint64_t unpriced_calls = 0;  // calls of models the price table does not know (not in the total)
};

// An LLM step's output share is what the compiler charged it for its output
// (card::Step::output_usd); the rest of its cost is its input side.
SessionCost card_cost(const card::Card& card);

// Loads the session's span tree, compiles its card and splits it. Many sessions: one
// loader (one listing of the store's sessions) for all.
Result<SessionCost> session_cost(SpanTreeLoader& trees, const std::string& id, const pricing::PriceTable& prices);

}  // namespace clawtrace::cli
