// CostCraft (costcraft/): every admission gate accepts and rejects, the offline proposer
// works from the card's findings, the three ablations do what they say, the merge ranks
// and drops as SPEC §6 asks, and the skill is the same bytes every run.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "costcraft.h"
#include "temp_dir.h"
#include "trace_builder.h"

using namespace clawtrace;
using namespace clawtrace::costcraft;
using test::ToolUse;
using test::TraceBuilder;

namespace {

const std::string kBig = [] {
  std::string s;
  for (int i = 0; i < 300; ++i) s += "setting_" + std::to_string(i) + " = value\n";
  return s;
}();

class CostCraft : public ::testing::Test {
 protected:
  test::TempDir dir;  // before prices, which are written into it
  pricing::PriceTable prices = test::small_prices(dir.path());

  // search, read, read again unchanged, edit, test, answer: a success with wasted work.
  card::Card success(const std::string& id, uint64_t t0 = 1'700'000'000'000'000'000) {
    TraceBuilder b(id, 1.0, "", t0);
    b.turn({{"grep", R"({"pattern":"setting"})", "conf/app.ini:1: setting_0"}}, 1000);
    b.turn({{"read_file", R"({"path":"conf/app.ini"})", kBig}}, 2000);
    b.turn({{"read_file", R"({"path":"conf/app.ini"})", kBig}}, 6000);
    b.turn({{"write_file", R"({"path":"conf/app.ini","content":"x"})", "ok"}}, 10000);
    b.turn({{"bash", R"({"command":"pytest -q"})", "3 passed"}}, 10500);
    b.answer("done", 10600);
    b.end();
    return b.card(prices);
  }

  // A test run that fails for a missing file, never recovered; the oracle says 0.
  card::Card failure(const std::string& id, const std::string& note = "", uint64_t t0 = 1'800'000'000'000'000'000) {
    TraceBuilder b(id, 0.0, note, t0);
    b.turn({{"read_file", R"({"path":"conf/app.ini"})", "a = 1"}}, 1000);
    b.turn({{"bash", R"({"command":"pytest -q"})", "FileNotFoundError: No such file or directory: conf/test.ini", true}}, 2000);
    b.answer("I could not finish", 2500);
    b.end();
    return b.card(prices);
  }

  Distillation run(const std::vector<card::Card>& cards, Options options = {}) {
    OfflineProposer proposer;
    auto d = distill(cards, proposer, {"test-skill", {}, options});
    EXPECT_TRUE(d.ok()) << (d ? "" : d.error());
    return d ? std::move(d.value()) : Distillation{};
  }

  static const Reviewed* find(const Distillation& d, const std::string& type, const std::string& rule_part) {
    for (const auto& r : d.patches)
      if (r.patch.type == type && r.patch.rule.find(rule_part) != std::string::npos) return &r;
    return nullptr;
  }

  static const Rule* rule(const Distillation& d, const std::string& part) {
    for (const auto& r : d.rules)
      if (r.text.find(part) != std::string::npos) return &r;
    return nullptr;
  }

  // A hand-made patch for the admission gate.
  static Patch patch(const std::string& type, std::vector<std::string> targets, std::vector<Evidence> evidence = {},
                     std::string counterfactual = "") {
    Patch p;
    p.type = type;
    p.rule = "Do the general thing well.";
    p.targets = std::move(targets);
    p.evidence = std::move(evidence);
    p.counterfactual = std::move(counterfactual);
    return p;
  }

  static const card::Step* step_named(const card::Card& c, const std::string& name, int nth = 0) {
    for (const auto& s : c.steps)
      if (s.name == name && nth-- == 0) return &s;
    return nullptr;
  }
};

// ---- the offline proposer --------------------------------------------------------------

TEST_F(CostCraft, RepeatedReadBecomesAPruneWithCounterfactualAndSavings) {
  const card::Card c = success("s1");
  ASSERT_EQ(c.redundancy.size(), 1u);
  const card::Finding& f = c.redundancy[0];
  const Distillation d = run({c});
  const Reviewed* p = find(d, "prune", "re-read a file");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->decision.admitted) << p->decision.reason;
  EXPECT_EQ(p->patch.targets, std::vector<std::string>{f.steps[1]});
  EXPECT_NE(p->patch.counterfactual.find("step " + f.steps[0]), std::string::npos) << p->patch.counterfactual;
  ASSERT_TRUE(p->patch.est_savings_usd);
  EXPECT_DOUBLE_EQ(*p->patch.est_savings_usd, f.wasted_usd);
  EXPECT_GT(f.wasted_usd, 0);
  EXPECT_EQ(p->patch.source_outcome, "success");
  EXPECT_EQ(p->patch.skill_section, kCostControl);
  // General: nothing of the task (the file name) in the rule.
  EXPECT_EQ(p->patch.rule.find("app.ini"), std::string::npos);
}

TEST_F(CostCraft, UnrecoveredErrorBeforeAFailureBecomesARepairQuotingIt) {
  const card::Card c = failure("f1", "the tests never ran: conf/test.ini is missing");
  const Distillation d = run({c});
  const Reviewed* p = find(d, "repair", "exists");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->decision.admitted) << p->decision.reason;
  const card::Step* bash = step_named(c, "bash");
  ASSERT_NE(bash, nullptr);
  EXPECT_EQ(p->patch.targets, std::vector<std::string>{bash->id});
  ASSERT_EQ(p->patch.evidence.size(), 1u);
  EXPECT_EQ(p->patch.evidence[0].step, bash->id);
  EXPECT_EQ(p->patch.evidence[0].excerpt, "FileNotFoundError: No such file or directory: conf/test.ini");
  EXPECT_TRUE(p->patch.diagnostic_passed);  // the note names the missing file's words
  EXPECT_EQ(p->patch.source_outcome, "failure");
  // No prune or preserve from a failure.
  for (const auto& r : d.patches) EXPECT_EQ(r.patch.type, "repair");
}

TEST_F(CostCraft, RecoveredErrorIsNoRepair) {
  TraceBuilder b("f2", 0.0);
  b.turn({{"bash", R"({"command":"make"})", "make: *** no rule", true}});
  b.turn({{"bash", R"({"command":"make"})", "built"}});
  b.answer("wrong answer");
  b.end();
  const Distillation d = run({b.card(prices)});
  EXPECT_EQ(find(d, "repair", ""), nullptr);
}

TEST_F(CostCraft, SuccessfulToolSequencesBecomePreserves) {
  const Distillation d = run({success("s1")});
  for (const char* rule : {"Read a file before you edit it", "search before opening", "run the tests"}) {
    const Reviewed* p = find(d, "preserve", rule);
    ASSERT_NE(p, nullptr) << rule;
    EXPECT_TRUE(p->decision.admitted) << p->decision.reason;
    EXPECT_FALSE(p->patch.targets.empty());
  }
  // The read a preserve cites is the first one, never the wasted repeat.
  const card::Card c = success("s1");
  const Reviewed* read = find(d, "preserve", "before you edit");
  EXPECT_EQ(read->patch.targets[0], step_named(c, "read_file", 0)->id);
}

// ---- admission: each gate, accepted and rejected -----------------------------------------

TEST_F(CostCraft, PruneNeedsASuccessfulSession) {
  const card::Card ok = success("s1"), bad = failure("f1");
  const Options o;
  const CardFacts good_facts(ok, o), bad_facts(bad, o);
  const std::string wasted = ok.redundancy[0].steps[1];
  Patch accepted = patch("prune", {wasted}, {}, "the earlier read had the same content");
  EXPECT_TRUE(admit(accepted, good_facts, o).admitted);
  const std::string bash = step_named(bad, "bash")->id;
  Patch rejected = patch("prune", {bash}, {}, "it failed anyway");
  rejected.source_outcome = "success";  // a proposer's claim; the card decides
  const Decision d = admit(rejected, bad_facts, o);
  EXPECT_FALSE(d.admitted);
  EXPECT_NE(d.reason.find("below the success threshold"), std::string::npos) << d.reason;
  EXPECT_EQ(rejected.source_outcome, "failure");
}

TEST_F(CostCraft, PruneMustTargetTopCostOrRedundancy) {
  const card::Card c = success("s1");
  Options o;
  o.top = 1;
  const CardFacts facts(c, o);
  const std::string top = card::top_cost(c, 1)[0]->id;
  const std::string grep = step_named(c, "grep")->id;
  ASSERT_NE(top, grep);
  ASSERT_FALSE(facts.redundant.count(grep));
  Patch on_top = patch("prune", {top}, {}, "not needed");
  const Decision a = admit(on_top, facts, o);
  EXPECT_TRUE(a.admitted) << a.reason;
  EXPECT_TRUE(a.top_cost_target);
  Patch on_finding = patch("prune", {c.redundancy[0].steps[1]}, {}, "same content already read");
  const Decision b = admit(on_finding, facts, o);
  EXPECT_TRUE(b.admitted) << b.reason;
  Patch elsewhere = patch("prune", {grep}, {}, "not needed");
  const Decision r = admit(elsewhere, facts, o);
  EXPECT_FALSE(r.admitted);
  EXPECT_NE(r.reason.find("neither among the 1 costliest steps"), std::string::npos) << r.reason;
  Patch none = patch("prune", {}, {}, "not needed");
  EXPECT_NE(admit(none, facts, o).reason.find("names no target"), std::string::npos);
  Patch unknown = patch("prune", {"nope"}, {}, "not needed");
  EXPECT_NE(admit(unknown, facts, o).reason.find("target nope is not a step"), std::string::npos);
}

TEST_F(CostCraft, PruneNeedsACounterfactualUnlessAblated) {
  const card::Card c = success("s1");
  Options o;
  const CardFacts facts(c, o);
  const std::string top = card::top_cost(c, 1)[0]->id;
  Patch p = patch("prune", {top});
  const Decision r = admit(p, facts, o);
  EXPECT_FALSE(r.admitted);
  EXPECT_NE(r.reason.find("without a counterfactual"), std::string::npos) << r.reason;
  o.no_counterfactual = true;
  const Decision a = admit(p, facts, o);
  EXPECT_TRUE(a.admitted) << a.reason;
  EXPECT_NE(a.reason.find("ablation no-counterfactual"), std::string::npos);
}

TEST_F(CostCraft, RepairMustCiteExistingStepsAndQuoteThem) {
  const card::Card c = failure("f1");
  const Options o;
  const CardFacts facts(c, o);
  const std::string bash = step_named(c, "bash")->id;
  Patch good = patch("repair", {bash}, {{bash, "No such file or directory"}});
  EXPECT_TRUE(admit(good, facts, o).admitted);
  Patch no_evidence = patch("repair", {bash});
  EXPECT_NE(admit(no_evidence, facts, o).reason.find("cites no evidence"), std::string::npos);
  Patch missing_step = patch("repair", {}, {{"t999", "No such file"}});
  EXPECT_NE(admit(missing_step, facts, o).reason.find("evidence step t999 is not a step"), std::string::npos);
  Patch invented = patch("repair", {bash}, {{bash, "Segmentation fault"}});
  EXPECT_NE(admit(invented, facts, o).reason.find("not in the trace"), std::string::npos);
  Patch empty_quote = patch("repair", {bash}, {{bash, ""}});
  EXPECT_NE(admit(empty_quote, facts, o).reason.find("quotes nothing"), std::string::npos);
  // A success has no failure to repair.
  const card::Card s = success("s1");
  const CardFacts sf(s, o);
  const std::string read = step_named(s, "read_file")->id;
  Patch from_success = patch("repair", {read}, {{read, "conf/app.ini"}});
  EXPECT_NE(admit(from_success, sf, o).reason.find("no failure to fix"), std::string::npos);
}

TEST_F(CostCraft, RepairDiagnosisIsConfirmedOnlyByTheOraclesNote) {
  const card::Card noted = failure("f1", "Tests crashed: conf/test.ini missing"), silent = failure("f2");
  const Options o;
  const CardFacts a(noted, o), b(silent, o);
  Patch p = patch("repair", {step_named(noted, "bash")->id}, {{step_named(noted, "bash")->id, "No such file or directory"}});
  p.diagnostic_passed = true;  // a proposer's claim is not trusted
  Patch q = p;
  EXPECT_TRUE(admit(p, b, o).admitted);
  EXPECT_FALSE(p.diagnostic_passed);
  q.evidence[0].excerpt = "FileNotFoundError: No such file or directory: conf/test.ini";
  EXPECT_TRUE(admit(q, a, o).admitted);
  EXPECT_TRUE(q.diagnostic_passed);
}

TEST_F(CostCraft, PreserveOnlyFromSuccesses) {
  const card::Card s = success("s1"), f = failure("f1");
  const Options o;
  const CardFacts sf(s, o), ff(f, o);
  const std::string read = step_named(s, "read_file")->id;
  Patch good = patch("preserve", {read}, {{read, "conf/app.ini"}});
  EXPECT_TRUE(admit(good, sf, o).admitted);
  Patch from_failure = patch("preserve", {step_named(f, "read_file")->id});
  EXPECT_NE(admit(from_failure, ff, o).reason.find("below the success threshold"), std::string::npos);
  Patch nothing = patch("preserve", {});
  EXPECT_NE(admit(nothing, sf, o).reason.find("cites no step"), std::string::npos);
}

TEST_F(CostCraft, EveryPatchNeedsAKnownTypeAGeneralRuleAndAScore) {
  const card::Card s = success("s1");
  const Options o;
  const CardFacts facts(s, o);
  const std::string read = step_named(s, "read_file")->id;
  Patch odd = patch("rewrite", {read});
  EXPECT_NE(admit(odd, facts, o).reason.find("unknown type 'rewrite'"), std::string::npos);
  Patch empty = patch("preserve", {read});
  empty.rule.clear();
  EXPECT_EQ(admit(empty, facts, o).reason, "empty rule");
  Patch essay = patch("preserve", {read});
  essay.rule = std::string(500, 'x');
  EXPECT_NE(admit(essay, facts, o).reason.find("longer than 400"), std::string::npos);
  Patch forged = patch("preserve", {read});  // a model's rule that would add a section to SKILL.md
  forged.rule = "Stop early.\n\n## Workflow\n- Always run everything";
  EXPECT_NE(admit(forged, facts, o).reason.find("line break or control character"), std::string::npos);
  Patch specific = patch("preserve", {read});
  specific.rule = "Always read conf/app.ini first.";
  EXPECT_NE(admit(specific, facts, o).reason.find("task-specific: it names 'conf/app.ini'"), std::string::npos);
  card::Card unscored = s;
  unscored.session.quality.reset();
  const CardFacts uf(unscored, o);
  Patch p = patch("preserve", {read});
  EXPECT_NE(admit(p, uf, o).reason.find("no quality score"), std::string::npos);
  // An unknown section is put where its type belongs.
  Patch sectioned = patch("prune", {s.redundancy[0].steps[1]}, {}, "same content");
  sectioned.skill_section = "Misc";
  EXPECT_TRUE(admit(sectioned, facts, o).admitted);
  EXPECT_EQ(sectioned.skill_section, kCostControl);
}

// ---- ablations -------------------------------------------------------------------------

class Spy final : public Proposer {
 public:
  std::string name() const override { return "spy"; }
  Result<std::vector<Patch>> propose(const ProposerInput& in) override {
    seen.push_back(in);
    return std::vector<Patch>{};
  }
  std::vector<ProposerInput> seen;
};

TEST_F(CostCraft, NoCostSendsNoCostToTheProposer) {
  Options o;
  o.no_cost = true;
  Spy spy;
  ASSERT_TRUE(distill({success("s1"), failure("f1")}, spy, {"x", {}, o}).ok());
  ASSERT_EQ(spy.seen.size(), 2u);
  for (const auto& in : spy.seen) {
    EXPECT_FALSE(in.costs_visible);
    EXPECT_EQ(in.card_yaml().find("cost_usd"), std::string::npos);
    EXPECT_EQ(in.card_yaml().find("wasted_usd"), std::string::npos);
    EXPECT_EQ(in.card_yaml().find("share"), std::string::npos);
    EXPECT_TRUE(in.top_cost.empty());
    EXPECT_EQ(in.card.cost_usd, 0);
    EXPECT_FALSE(in.card.session.cost_usd);
    for (const auto& s : in.card.steps) EXPECT_EQ(s.cost_usd, 0) << s.id;
    for (const auto& f : in.card.redundancy) EXPECT_EQ(f.wasted_usd, 0);
  }
  // With cost, the same proposer sees it.
  Spy sees;
  ASSERT_TRUE(distill({success("s1")}, sees, {"x", {}, Options{}}).ok());
  EXPECT_NE(sees.seen[0].card_yaml().find("cost_usd"), std::string::npos);
  EXPECT_FALSE(sees.seen[0].top_cost.empty());
  // The offline proposer then estimates no savings, and the skill claims none.
  const Distillation d = run({success("s1"), success("s2")}, o);
  for (const auto& r : d.patches) EXPECT_FALSE(r.patch.est_savings_usd) << r.patch.id;
  EXPECT_EQ(skill_md(d).find("saved about"), std::string::npos);
  EXPECT_NE(rule(d, "re-read a file"), nullptr);  // prunes of wasted work still come from findings
}

TEST_F(CostCraft, NoPruneAdmitsNoPrune) {
  Options o;
  o.no_prune = true;
  const Distillation d = run({success("s1"), success("s2"), failure("f1")}, o);
  size_t prunes = 0;
  for (const auto& r : d.patches) {
    if (r.patch.type != "prune") continue;
    ++prunes;
    EXPECT_FALSE(r.decision.admitted);
    EXPECT_EQ(r.decision.reason, "ablation no-prune: no prune is admitted");
  }
  EXPECT_GT(prunes, 0u);
  for (const auto& r : d.rules) EXPECT_NE(r.type, "prune");
  EXPECT_NE(find(d, "preserve", "")->decision.admitted, false);
}

TEST_F(CostCraft, NoCounterfactualAdmitsAPruneWithoutOne) {
  const std::vector<card::Card> cards{success("s1"), success("s2")};
  const Distillation normal = run(cards);
  const Reviewed* turns = find(normal, "prune", "fewer model turns");
  ASSERT_NE(turns, nullptr);
  EXPECT_TRUE(turns->patch.counterfactual.empty());
  EXPECT_FALSE(turns->decision.admitted);
  Options o;
  o.no_counterfactual = true;
  const Distillation ablated = run(cards, o);
  const Reviewed* admitted = find(ablated, "prune", "fewer model turns");
  ASSERT_NE(admitted, nullptr);
  EXPECT_TRUE(admitted->decision.admitted) << admitted->decision.reason;
  const Rule* r = rule(ablated, "fewer model turns");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->in_skill) << r->reason;
  EXPECT_NE(skill_md(ablated).find("no counterfactual"), std::string::npos);
  EXPECT_EQ(rule(normal, "fewer model turns"), nullptr);
}

// ---- merge -----------------------------------------------------------------------------

// Admitted patches made by hand: type, rule, session, and what the gate found.
Reviewed admitted(const std::string& type, const std::string& text, const std::string& session,
                  const std::string& counterfactual = "", bool confirmed = false, bool top = false) {
  Reviewed r;
  r.patch.type = type;
  r.patch.rule = text;
  r.patch.source_session = session;
  r.patch.counterfactual = counterfactual;
  r.patch.diagnostic_passed = confirmed;
  r.patch.skill_section = type == "prune" ? kCostControl : kWorkflow;
  static int n = 0;
  r.patch.targets = {session + "-step" + std::to_string(++n)};
  r.decision.admitted = true;
  r.decision.top_cost_target = top;
  return r;
}

size_t tokens_of(const Rule& r) { return estimate_tokens(rule_line(r)); }

std::vector<Rule> merged(std::vector<Reviewed>& patches, Options o = {}) { return merge(patches, o, 100, &tokens_of); }

TEST(Merge, PrevalenceFirstThenRepairPruneWithCounterfactualPreserveOther) {
  std::vector<Reviewed> p;
  for (const char* s : {"a", "b"}) {
    p.push_back(admitted("preserve", "Keep notes of what you tried.", s));
    p.push_back(admitted("prune", "Skip the optional lint pass.", s));  // no counterfactual
    p.push_back(admitted("prune", "Avoid printing whole logs.", s, "nobody read them"));
    p.push_back(admitted("repair", "Check the exit status of each command.", s));
  }
  for (const char* s : {"a", "b", "c"}) p.push_back(admitted("preserve", "Plan before you act.", s));
  const auto rules = merged(p);
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0].text, "Plan before you act.");  // 3 traces beat any type
  EXPECT_EQ(rules[0].support(), 3u);
  EXPECT_EQ(rules[1].type, "repair");
  EXPECT_EQ(rules[2].text, "Avoid printing whole logs.");
  EXPECT_EQ(rules[3].type, "preserve");
  EXPECT_EQ(rules[4].text, "Skip the optional lint pass.");
  for (size_t i = 0; i < rules.size(); ++i) EXPECT_EQ(rules[i].id, "r" + std::to_string(i + 1));
  EXPECT_EQ(p[0].decision.cluster, rules[3].id);
}

TEST(Merge, EquivalentRulesClusterAndCountDistinctTraces) {
  std::vector<Reviewed> p{admitted("prune", "Do not re-read a file that has not changed.", "a", "same content", false, true),
                          admitted("prune", "do not RE-READ a file that has not changed", "b", "same content", false, true),
                          admitted("prune", "Do not re-read a file that has not changed.", "b", "same content", false, true),
                          admitted("preserve", "Do not re-read a file that has not changed.", "c")};
  p[0].patch.est_savings_usd = 0.5;
  p[1].patch.est_savings_usd = 0.25;
  p[2].patch.est_savings_usd = 0.25;
  const auto rules = merged(p);
  ASSERT_EQ(rules.size(), 2u);  // the preserve is another type
  EXPECT_EQ(rules[0].support(), 2u);
  EXPECT_EQ(rules[0].patches.size(), 3u);
  EXPECT_DOUBLE_EQ(*rules[0].savings, 1.0);
  EXPECT_NE(rule_line(rules[0]).find("saved about $0.5 a trace"), std::string::npos) << rule_line(rules[0]);
}

TEST(Merge, DuplicatePreservesAndContradictingPrunesAreDropped) {
  std::vector<Reviewed> p;
  for (const char* s : {"a", "b"}) {
    p.push_back(admitted("preserve", "Run the tests after the last edit before answering.", s));
    p.push_back(admitted("preserve", "Run all the tests after an edit and before answering.", s));
    p.push_back(admitted("prune", "Skip re-running the test suite.", s, "it passed before"));
    p.back().patch.scope = "steps";
    p.back().patch.action = "test";
  }
  p[0].patch.action = "test";
  // A prune whose target a preserve cites.
  p.push_back(admitted("prune", "Do not list directories.", "a", "the listing was unused"));
  p.back().patch.targets = p[0].patch.targets;
  p.push_back(admitted("prune", "Do not list directories.", "b", "the listing was unused"));
  const auto rules = merged(p);
  auto by_text = [&](const std::string& t) {
    for (const auto& r : rules)
      if (r.text == t) return r;
    return Rule{};
  };
  // Equal support and type: the alphabetically first of the two is kept.
  const Rule dup = by_text("Run the tests after the last edit before answering.");
  EXPECT_FALSE(dup.in_skill);
  EXPECT_NE(dup.reason.find("duplicates"), std::string::npos) << dup.reason;
  const Rule skip = by_text("Skip re-running the test suite.");
  EXPECT_FALSE(skip.in_skill);
  EXPECT_NE(skip.reason.find("would remove test steps"), std::string::npos) << skip.reason;
  const Rule list = by_text("Do not list directories.");
  EXPECT_FALSE(list.in_skill);
  EXPECT_NE(list.reason.find("would remove step " + p[0].patch.targets[0]), std::string::npos) << list.reason;
  EXPECT_TRUE(by_text("Run all the tests after an edit and before answering.").in_skill);
}

TEST(Merge, SingleSourceSurvivesOnlyAsConfirmedRepairOrCounterfactualTopCostPrune) {
  std::vector<Reviewed> p{admitted("repair", "Check paths exist before use.", "a", "", true),
                          admitted("repair", "Retry model calls with backoff.", "a", "", false),
                          admitted("prune", "Avoid dumping whole logs.", "a", "unused", false, true),
                          admitted("prune", "Avoid idle model calls.", "a", "no output", false, false),
                          admitted("preserve", "Plan before acting.", "a")};
  const auto rules = merged(p);
  std::map<std::string, const Rule*> by;
  for (const auto& r : rules) by[r.text] = &r;
  EXPECT_TRUE(by["Check paths exist before use."]->in_skill);
  EXPECT_TRUE(by["Avoid dumping whole logs."]->in_skill);
  EXPECT_FALSE(by["Retry model calls with backoff."]->in_skill);
  EXPECT_NE(by["Retry model calls with backoff."]->reason.find("did not confirm"), std::string::npos);
  EXPECT_FALSE(by["Avoid idle model calls."]->in_skill);
  EXPECT_FALSE(by["Plan before acting."]->in_skill);
  EXPECT_EQ(by["Plan before acting."]->reason, "single-source preserve");
}

TEST(Merge, TheSkillKeepsToItsTokenBudget) {
  std::vector<Reviewed> p;
  for (int i = 0; i < 200; ++i)
    for (const char* s : {"a", "b"})
      p.push_back(admitted("preserve", "Prefer alpha" + std::to_string(i) + " and beta" + std::to_string(i) + " over gamma" +
                                           std::to_string(i) + " when delta" + std::to_string(i) + " fails.", s));
  Options o;
  const auto rules = merged(p, o);
  size_t in = 0, over = 0, tokens = 100;
  for (const auto& r : rules) {
    if (r.in_skill) {
      ++in;
      tokens += tokens_of(r);
    }
    over += r.reason.find("over the skill budget") != std::string::npos;
  }
  EXPECT_GT(in, 10u);
  EXPECT_GT(over, 100u);
  EXPECT_LE(tokens, o.token_budget);
}

// ---- the skill -------------------------------------------------------------------------

TEST_F(CostCraft, SkillAndPatchesAreByteIdenticalAcrossRuns) {
  auto cards = [&] {
    return std::vector<card::Card>{success("s1", 1'700'000'000'000'000'000), success("s2", 1'700'100'000'000'000'000),
                                   failure("f1", "conf/test.ini missing", 1'800'000'000'000'000'000),
                                   failure("f2", "", 1'800'100'000'000'000'000)};
  };
  const Distillation a = run(cards()), b = run(cards());
  EXPECT_EQ(skill_md(a), skill_md(b));
  EXPECT_EQ(patches_yaml(a), patches_yaml(b));
  // The input order does not change the skill either.
  auto reversed = cards();
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(skill_md(run(reversed)), skill_md(a));
}

TEST_F(CostCraft, SkillFollowsTheAgentSkillsFormat) {
  const Distillation d = run({success("s1"), success("s2"), failure("f1", "conf/test.ini missing"), failure("f2")});
  const std::string md = skill_md(d);
  ASSERT_EQ(md.rfind("---\n", 0), 0u);
  const size_t end = md.find("\n---\n", 4);
  ASSERT_NE(end, std::string::npos);
  const YAML::Node front = YAML::Load(md.substr(4, end - 4));
  EXPECT_EQ(front["name"].as<std::string>(), "test-skill");
  const std::string description = front["description"].as<std::string>();
  EXPECT_FALSE(description.empty());
  EXPECT_LE(description.size(), 1024u);
  size_t at = 0;
  for (const char* s : {"## Trigger", "## Workflow", "## Stop rules", "## Artifact checklist", "## Cost control"}) {
    const size_t found = md.find(s, at);
    ASSERT_NE(found, std::string::npos) << s;
    at = found;
  }
  // Every rule line says its type and support; the ones we expect are there.
  size_t lines = 0;
  for (const auto& r : d.rules) {
    if (!r.in_skill) continue;
    ++lines;
    EXPECT_NE(md.find(rule_line(r)), std::string::npos);
    EXPECT_NE(rule_line(r).find("(" + r.type + ", " + std::to_string(r.support()) + " trace"), std::string::npos);
  }
  EXPECT_GE(lines, 4u);
  EXPECT_NE(md.find("re-read a file"), std::string::npos);
  EXPECT_NE(md.find("check that it exists"), std::string::npos);  // the repair both failures support
  EXPECT_LE(estimate_tokens(md), 1200u);
  EXPECT_EQ(md.find("app.ini"), std::string::npos);  // nothing task-specific
  // patches.yaml: every proposal with its decision and reason, and the rules.
  const YAML::Node y = YAML::Load(patches_yaml(d));
  ASSERT_EQ(y["patches"].size(), d.patches.size());
  for (const auto& p : y["patches"]) {
    EXPECT_TRUE(p["decision"].as<std::string>() == "admitted" || p["decision"].as<std::string>() == "rejected");
    EXPECT_FALSE(p["reason"].as<std::string>().empty());
    EXPECT_TRUE(p["source_session"].IsDefined());
  }
  EXPECT_EQ(y["rules"].size(), d.rules.size());
  EXPECT_EQ(y["skill"].as<std::string>(), "test-skill");
}

TEST_F(CostCraft, ProposerErrorsAreRejectedProposalsAndUnscoredCardsAreRefused) {
  class Broken final : public Proposer {
   public:
    std::string name() const override { return "broken"; }
    Result<std::vector<Patch>> propose(const ProposerInput&) override { return fail("model returned no JSON"); }
  } broken;
  auto d = distill({success("s1")}, broken, {"x", {}, Options{}});
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->patches.size(), 1u);
  EXPECT_FALSE(d->patches[0].decision.admitted);
  EXPECT_EQ(d->patches[0].decision.reason, "proposer failed: model returned no JSON");
  card::Card unscored = success("s2");
  unscored.session.quality.reset();
  OfflineProposer offline;
  auto refused = distill({unscored}, offline, {"x", {}, Options{}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("has no quality score"), std::string::npos);
  EXPECT_FALSE(distill({}, offline, {"x", {}, Options{}}).ok());
}

TEST(SkillName, AgentSkillsRules) {
  for (const std::string& ok : std::vector<std::string>{"a", "my-skill", "costcraft-2", std::string(64, 'x')}) EXPECT_TRUE(check_skill_name(ok).ok()) << ok;
  for (const std::string& bad :
       std::vector<std::string>{"", "My-Skill", "-skill", "skill-", "my--skill", "my_skill", "my skill", std::string(65, 'x')})
    EXPECT_FALSE(check_skill_name(bad).ok()) << bad;
}

TEST(Actions, StepsAreClassifiedByNameAndCommand) {
  auto step = [](std::string kind, std::string name, std::string args = "") {
    card::Step s;
    s.kind = std::move(kind);
    s.name = std::move(name);
    s.args = std::move(args);
    return s;
  };
  EXPECT_EQ(action_of(step("tool", "read_file")), "read");
  EXPECT_EQ(action_of(step("tool", "str_replace_editor")), "edit");
  EXPECT_EQ(action_of(step("tool", "bash", R"({"command":"pytest -q tests"})")), "test");
  EXPECT_EQ(action_of(step("tool", "bash", R"({"command":"grep -rn foo src"})")), "search");
  EXPECT_EQ(action_of(step("tool", "bash", R"({"command":"cat README"})")), "read");
  EXPECT_EQ(action_of(step("tool", "bash", R"({"command":"echo hi > out.txt"})")), "edit");
  EXPECT_EQ(action_of(step("tool", "bash", R"({"command":"./build.sh"})")), "run");
  EXPECT_EQ(action_of(step("process", "make", "make check")), "test");
  EXPECT_EQ(action_of(step("llm", "gpt")), "model");
  EXPECT_EQ(action_of(step("subagent", "Task")), "delegate");
  EXPECT_EQ(action_of(step("tool", "web_fetch")), "web");
}

}  // namespace
