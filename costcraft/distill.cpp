// The pipeline (costcraft.h): propose per card, admit against the card, merge across cards.
#include <algorithm>

#include "costcraft.h"

namespace clawtrace::costcraft {
namespace {

Reviewed failed_proposal(const card::Card& c, const std::string& proposer, const std::string& why) {
  Reviewed r;
  r.patch.id = c.session.id + "/0";
  r.patch.source_session = c.session.id;
  r.patch.source_quality = c.session.quality.value_or(0);
  r.patch.proposer = proposer;
  r.decision.reason = "proposer failed: " + why;
  return r;
}

std::string program(const SessionInfo& s) {
  if (s.argv.empty()) return "";
  const std::string& a = s.argv[0];
  const size_t slash = a.rfind('/');
  return slash == std::string::npos ? a : a.substr(slash + 1);
}

size_t line_tokens(const Rule& r) { return estimate_tokens(rule_line(r)); }

}  // namespace

Result<void> check_skill_name(std::string_view name) {
  const bool chars = std::all_of(name.begin(), name.end(),
                                 [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
  if (name.empty() || name.size() > 64 || !chars || name.front() == '-' || name.back() == '-' ||
      name.find("--") != std::string_view::npos)
    return fail("a skill name is 1-64 lowercase letters, digits and single hyphens (not at either end), not '" +
                std::string(name.substr(0, 80)) + "'");
  return {};
}

size_t estimate_tokens(std::string_view text) { return (text.size() + 3) / 4; }

Result<Distillation> distill(const std::vector<card::Card>& cards, Proposer& proposer, const Request& request,
                             const Progress& progress) {
  if (auto r = check_skill_name(request.name); !r) return Error{r.error()};
  if (cards.empty()) return fail("no sessions to distill");
  for (const auto& c : cards)
    if (!c.session.quality)
      return fail("session " + c.session.id + " has no quality score (clawtrace score " + c.session.id + " Q)");
  Distillation d;
  d.request = request;
  d.proposer = proposer.name();
  const Options& o = request.options;
  for (size_t i = 0; i < cards.size(); ++i) {
    const card::Card& c = cards[i];
    const CardFacts facts(c, o);
    SessionSummary summary{c.session.id, c.session.name, facts.outcome, program(c.session), *c.session.quality,
                           c.cost_usd, 0, 0};
    auto proposed = proposer.propose(proposer_input(c, o));
    if (!proposed) {
      d.patches.push_back(failed_proposal(c, d.proposer, proposed.error()));
      summary.proposed = 1;
    } else {
      for (auto& patch : proposed.value()) {
        patch.id = c.session.id + "/" + std::to_string(++summary.proposed);
        if (patch.proposer.empty()) patch.proposer = d.proposer;
        Decision decision = admit(patch, facts, o);
        summary.admitted += decision.admitted;
        d.patches.push_back({std::move(patch), std::move(decision)});
      }
    }
    d.sessions.push_back(std::move(summary));
    if (progress) progress(i + 1, cards.size());
  }
  const size_t base = estimate_tokens(skill_md(d));  // the skill without rules
  d.rules = merge(d.patches, o, base, &line_tokens);
  d.skill_tokens = estimate_tokens(skill_md(d));
  return d;
}

}  // namespace clawtrace::costcraft
