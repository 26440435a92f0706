// CostCraft (SPEC §6): scored TraceCards → proposals (proposer.h) → admission (patch.h)
// → merge (merge.h) → a skill: SKILL.md (Agent Skills format) and patches.yaml (every
// proposal with its decision, reason and provenance). The same cards and options give the
// same bytes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "card.h"
#include "merge.h"
#include "patch.h"
#include "proposer.h"
#include "result.h"

namespace clawtrace::costcraft {

struct Request {
  std::string name;               // the skill's name: the output directory's name
  std::vector<std::string> tags;  // K=V the sessions were selected by (named in the trigger)
  Options options;
};

struct SessionSummary {
  std::string id, name, outcome;
  std::string program;  // argv[0]'s file name
  double quality = 0;
  double cost_usd = 0;
  size_t proposed = 0, admitted = 0;
};

struct Distillation {
  Request request;
  std::string proposer;
  std::vector<SessionSummary> sessions;  // in input order
  std::vector<Reviewed> patches;         // every proposal, by session then proposal order
  std::vector<Rule> rules;               // merged, in rank order; in_skill says which SKILL.md has
  size_t skill_tokens = 0;               // SKILL.md's estimated size
};

// Agent Skills: 1–64 of [a-z0-9-], no leading, trailing or doubled hyphen.
Result<void> check_skill_name(std::string_view name);

using Progress = std::function<void(size_t done, size_t total)>;

// Every card must be scored (session.quality). Proposer errors become rejected proposals.
Result<Distillation> distill(const std::vector<card::Card>& cards, Proposer& proposer, const Request& request,
                             const Progress& progress = {});

std::string skill_md(const Distillation& d);
std::string patches_yaml(const Distillation& d);
// The line a rule takes in SKILL.md, and SKILL.md's size estimate (4 bytes a token).
std::string rule_line(const Rule& rule);
size_t estimate_tokens(std::string_view text);

}  // namespace clawtrace::costcraft
