// TraceCards (SPEC §5): a session's span tree (store/tree.h) compiled into steps with
// per-step USD cost that partitions the bill, token totals by billing class, the costliest
// steps and sub-agent provenance; emitted as YAML, byte-identical for the same events.
// How input cost is split over the steps whose content each call carried:
// docs/attribution.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pricing.h"
#include "result.h"
#include "tree.h"

namespace clawtrace::card {

struct Options {
  size_t top = 10;       // top_cost entries
  bool no_cost = false;  // strip every cost field (CostCraft's ablation)
};

struct TokenSum {
  int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, reasoning = 0;
};

struct Step {
  std::string id;
  std::string kind;    // llm, tool, process, subagent
  std::string parent;  // a step id, or the session id
  std::string name;
  double start_s = 0;  // since the session's start
  double duration_s = 0;
  double cost_usd = 0;
  double output_usd = 0;  // LLM steps: the part of cost_usd that is their own output
  std::optional<TokenSum> tokens;  // LLM steps: their own call; sub-agents: their total
  std::string args, result, error;
  std::string role;           // LLM steps: final_reply, plan_then_tool, tool_call, thinking_only, other
  std::string session;        // sub-agents: their session (process) or the parent's (in-process)
  std::string output;         // sub-agents: their final answer
  std::vector<std::string> used_by;  // sub-agents and the tool calls that started them: the
                                     // LLM steps whose input carried the answer
  bool priced = true;         // false: an LLM call of a model not in the price table
  std::string detail;         // LLM steps from coarser sources: "run" when one step stands for a
                              // whole agent run (imported plugin spans; per-call detail missing)
};

// Wasted work: kind repeated_read, repeated_command, repeated_call or unused_result.
struct Finding {
  std::string kind;
  std::vector<std::string> steps;  // the earlier step first, the wasteful one last
  double wasted_usd = 0;
  std::string reason;
};

struct Card {
  SessionInfo session;
  double cost_usd = 0;
  uint64_t llm_calls = 0, tool_calls = 0, subagents = 0, unpriced_calls = 0;
  std::vector<std::string> unpriced_models;
  TokenSum tokens;
  std::vector<Step> steps;  // start order
  std::vector<Finding> redundancy;
};

// An LLM call node's usage in billing classes (none when its response reported none), and
// its model (the one the response named, else the requested one).
std::optional<pricing::Tokens> call_usage(const SpanNode& llm);
std::string call_model(const SpanNode& llm);

// The card's numbers. Never fails on odd events: what cannot be priced is counted.
Card compile(const SpanTree& tree, const pricing::PriceTable& prices);
// Findings over a compiled card's steps (compile() fills Card::redundancy with them).
std::vector<Finding> find_redundancy(const SpanTree& tree, const Card& card);
// The K costliest steps (cost > 0), costliest first, ties in start order: the card's top_cost.
std::vector<const Step*> top_cost(const Card& card, size_t k);
// The YAML of SPEC §5.
std::string to_yaml(const Card& card, const Options& options);

}  // namespace clawtrace::card
