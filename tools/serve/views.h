// What the dashboard's JSON API shows, computed from the store: per-session summaries (the
// TraceCard total, tokens by class, bills per model), one session's span tree with cost
// per span, its card as JSON, and one span's full payloads. No HTTP here.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "card.h"
#include "pricing.h"
#include "result.h"
#include "store.h"
#include "tree.h"

namespace clawtrace::serve {

// The bill of one model's calls: what the price table charges for them (a sum over calls,
// not the card's attribution, which spreads input cost over the steps that caused it).
struct ModelUse {
  uint64_t calls = 0, unpriced_calls = 0;
  card::TokenSum tokens;
  double cost_usd = 0;
};

struct SessionSummary {
  double cost_usd = 0;  // the TraceCard's totals.cost_usd (sub-agents rolled up)
  uint64_t llm_calls = 0, tool_calls = 0, subagents = 0, unpriced_calls = 0;
  card::TokenSum tokens;
  std::map<std::string, ModelUse> models;
};

SessionSummary summarize(const SpanTree& tree, const card::Card& card, const pricing::PriceTable& prices);

boost::json::object to_json(const card::TokenSum& t);
boost::json::object to_json(const ModelUse& m);
// Session row of GET /api/sessions: id, name, command, start, duration, status, costs…
boost::json::object session_row(const SessionInfo& s, const SessionSummary& summary);

// The card as JSON (the keys of SPEC §5; args and results as the card shows them).
boost::json::object card_json(const card::Card& card, size_t top);

// The span tree of GET /api/sessions/ID: every span (sub-agents' own spans nested under
// them) with kind, name, times since the root's start, cost, share of the root's total,
// the payloads as the card shows them (cut; GET …/spans/SPAN has them whole) and the
// redundancy findings it takes part in.
boost::json::object tree_json(const SpanTree& tree, const card::Card& card, const pricing::PriceTable& prices);

// One span in full: its opening and closing events, nothing cut. nullopt: no such span.
// A sub-agent that ran as a process and its session share an id; `session` (whose events
// describe the span: the tree node's "session") tells them apart, else the first wins.
std::optional<boost::json::object> span_json(const SpanTree& tree, std::string_view span, std::string_view session = {});

// Cuts text to at most `limit` bytes on a UTF-8 boundary.
std::string cut_utf8(std::string_view text, size_t limit);

}  // namespace clawtrace::serve
