#include "llm_proposer.h"

#include <boost/json.hpp>

#include "json_fields.h"

namespace json = boost::json;

namespace clawtrace::costcraft {
namespace {

using json_fields::str;

// The JSON object of an answer: the whole text, or the inside of its first ``` fence.
std::string_view json_part(std::string_view text) {
  const size_t fence = text.find("```");
  if (fence == std::string_view::npos) return text;
  const size_t body = text.find('\n', fence);
  const size_t end = body == std::string_view::npos ? body : text.find("```", body);
  if (end == std::string_view::npos) return text;
  return text.substr(body + 1, end - body - 1);
}

Result<Patch> patch_from(const json::value& v, size_t index) {
  const std::string where = "patches[" + std::to_string(index) + "]";
  const json::object* o = v.if_object();
  if (!o) return fail(where + " is not an object");
  Patch p;
  p.type = str(*o, "type");
  p.rule = str(*o, "rule");
  if (p.type.empty() || p.rule.empty()) return fail(where + " needs a string \"type\" and \"rule\"");
  p.root_cause = str(*o, "root_cause");
  p.counterfactual = str(*o, "counterfactual");
  p.skill_section = str(*o, "skill_section");
  p.targets = json_fields::from_array(o->if_contains("targets"));
  if (const auto* s = o->if_contains("est_savings_usd"); s && s->is_number()) p.est_savings_usd = s->to_number<double>();
  if (const auto* ev = o->if_contains("evidence"); ev && ev->is_array())
    for (const auto& e : ev->get_array())
      if (const json::object* eo = e.if_object())
        p.evidence.push_back({str(*eo, "step"), str(*eo, "excerpt").empty() ? str(*eo, "quote") : str(*eo, "excerpt")});
  return p;
}

}  // namespace

Result<std::vector<Patch>> parse_patches(std::string_view answer) {
  boost::system::error_code ec;
  const json::value v = json::parse(json_part(answer), ec);
  if (ec) return fail("the answer is not JSON (" + ec.message() + ")");
  const json::object* o = v.if_object();
  const json::value* patches = o ? o->if_contains("patches") : nullptr;
  if (!patches || !patches->is_array()) return fail("the answer has no \"patches\" array");
  std::vector<Patch> out;
  for (size_t i = 0; i < patches->get_array().size(); ++i) {
    auto p = patch_from(patches->get_array()[i], i);
    if (!p) return fail(p.error());
    out.push_back(std::move(*p));
  }
  return out;
}

std::string LlmProposer::system_prompt() {
  return R"(You improve an AI agent by distilling a skill from its traces. You get one TraceCard
(YAML: the session, every step with its kind, arguments, result, error and, when shown,
its cost in USD; the costliest steps; wasted work found; sub-agents) and the outcome an
oracle gave it (quality Q in [0, 1]; 1 is success). Propose patches to the agent's skill:
- repair: a rule that would have prevented a failure; cite the steps that show the cause.
- prune: a rule that removes costly work that did not matter; only for successful
  sessions; target steps among the costliest or the wasted work; give a counterfactual
  "removing X would not have broken success because Y".
- preserve: a behaviour of a successful session worth keeping.
Rules are general instructions (no file names, ids or task-specific facts). Cite only
step ids that are in the card, and quote excerpts verbatim from those steps.
Answer with JSON only, no prose:
{"patches": [{"type": "repair|prune|preserve", "rule": "...", "root_cause": "...",
  "targets": ["step id", ...], "evidence": [{"step": "step id", "excerpt": "verbatim"}],
  "counterfactual": "...", "est_savings_usd": 0.0,
  "skill_section": "Workflow|Stop rules|Artifact checklist|Cost control"}]}
An empty list is a fine answer when nothing is worth changing.)";
}

std::string LlmProposer::user_prompt(const ProposerInput& in) {
  std::string p = "Outcome: Q = " + json::serialize(json::value(in.quality)) + " (" + in.outcome + ")";
  if (!in.note.empty()) p += "; the oracle's note: " + in.note;
  p += "\n";
  if (in.costs_visible) {
    p += "Costliest steps, costliest first:";
    for (const auto& id : in.top_cost) p += " " + id;
    p += "\n";
  } else {
    p += "Costs are not shown.\n";
  }
  return p + "\nTraceCard:\n" + in.card_yaml();
}

Result<std::vector<Patch>> LlmProposer::propose(const ProposerInput& input) {
  const std::string system = system_prompt(), user = user_prompt(input);
  auto reply = complete(endpoint_, system, user);
  if (!reply) return fail("the model gave no answer: " + reply.error());
  auto patches = parse_patches(reply->text);
  if (patches) return patches;
  // Once more, saying what was wrong (a different prompt, so not the cached answer).
  const std::string retry = user + "\n\nYour previous answer could not be used: " + patches.error() +
                            ". Answer again with only the JSON object described.";
  reply = complete(endpoint_, system, retry);
  if (!reply) return fail("the model gave no answer: " + reply.error());
  auto again = parse_patches(reply->text);
  if (!again) return fail("malformed model output, twice: " + again.error());
  return again;
}

}  // namespace clawtrace::costcraft
