// `clawtrace eval`: the pure core (pairing by task tag, medians over repeated runs, the
// verdicts at their boundaries, unscored runs, JSON, table and SVG), the cost split of a
// card, and the command end to end on a real store.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "eval.h"
#include "session_cost.h"
#include "store.h"
#include "subprocess.h"
#include "temp_dir.h"

using namespace clawtrace;
namespace json = boost::json;

extern char** environ;

namespace {

// ---- building runs --------------------------------------------------------------------

int next_id = 0;

eval::Run run(const std::string& task, std::optional<double> q, double cost_usd, const std::string& id = "") {
  eval::Run r;
  r.session.id = id.empty() ? "s" + std::to_string(++next_id) : id;
  r.session.start_ns = static_cast<uint64_t>(++next_id);
  if (!task.empty()) r.session.tags["task"] = task;
  r.session.quality = q;
  r.cost.total_usd = cost_usd;
  r.cost.llm_input_usd = cost_usd * 0.5;
  r.cost.llm_output_usd = cost_usd * 0.25;
  r.cost.tool_results_usd = cost_usd * 0.25;
  return r;
}

eval::Report evaluate_ok(const std::vector<eval::Run>& base, const std::vector<eval::Run>& treat,
                         const eval::Options& options = {}) {
  auto r = eval::evaluate(base, treat, options);
  EXPECT_TRUE(r) << r.error();
  return r ? r.value() : eval::Report{};
}

// One task, one run per condition.
eval::TaskResult one_task(std::optional<double> qb, std::optional<double> qt, double cb = 1, double ct = 1) {
  auto r = evaluate_ok({run("t", qb, cb)}, {run("t", qt, ct)});
  EXPECT_EQ(r.tasks.size(), 1u);
  return r.tasks.empty() ? eval::TaskResult{} : r.tasks[0];
}

// ---- a tiny XML well-formedness check (enough for what we write) ------------------------

// Elements nest and close in order, attributes are quoted, text has only known entities;
// returns the root element's name, or "" on any fault (with `why`).
std::string check_xml(const std::string& s, std::string& why) {
  std::vector<std::string> open;
  std::string root;
  size_t i = 0;
  auto entity_ok = [&](size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      if (s.compare(at, std::strlen(e), e) == 0) return true;
    return false;
  };
  if (s.rfind("<?xml ", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    if (s[i] == '&' && !entity_ok(i)) return why = "bad entity at " + std::to_string(i), "";
    if (s[i] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(s[i]))) return why = "text outside the root", "";
      ++i;
      continue;
    }
    const size_t end = s.find('>', i);
    if (end == std::string::npos) return why = "unclosed tag", "";
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return why = "mismatched </" + tag.substr(1) + ">", "";
      open.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    if (self_closing) tag.pop_back();
    const std::string name = tag.substr(0, tag.find_first_of(" \n"));
    // Attributes: name="value" pairs, values without '<' and with known entities.
    for (size_t a = name.size(); a < tag.size();) {
      if (std::isspace(static_cast<unsigned char>(tag[a]))) { ++a; continue; }
      const size_t eq = tag.find('=', a);
      if (eq == std::string::npos || eq + 1 >= tag.size() || tag[eq + 1] != '"') return why = "unquoted attribute in <" + name + ">", "";
      const size_t close = tag.find('"', eq + 2);
      if (close == std::string::npos) return why = "unterminated attribute in <" + name + ">", "";
      const std::string value = tag.substr(eq + 2, close - eq - 2);
      if (value.find('<') != std::string::npos) return why = "'<' in an attribute", "";
      a = close + 1;
    }
    if (open.empty()) {
      if (!root.empty()) return why = "two roots", "";
      root = name;
    }
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) return why = "<" + open.back() + "> not closed", "";
  return root;
}

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// ---- pairing --------------------------------------------------------------------------

TEST(EvalCore, PairsRunsByTheirTaskTag) {
  auto r = evaluate_ok({run("a", 1, 1), run("b", 1, 1), run("c", 1, 1), run("", 1, 1, "untagged1")},
                       {run("b", 1, 0.5), run("a", 1, 2), run("d", 1, 1)});
  ASSERT_EQ(r.tasks.size(), 2u);
  EXPECT_EQ(r.tasks[0].task, "a");  // by name
  EXPECT_EQ(r.tasks[1].task, "b");
  EXPECT_EQ(r.tasks[0].treated.cost.total_usd, 2);
  EXPECT_EQ(r.tasks[1].treated.cost.total_usd, 0.5);
  EXPECT_EQ(r.baseline_only, std::vector<std::string>{"c"});
  EXPECT_EQ(r.treated_only, std::vector<std::string>{"d"});
  EXPECT_EQ(r.untagged, std::vector<std::string>{"untagged1"});
  // Outcomes count only the runs of paired tasks.
  EXPECT_EQ(r.baseline_outcomes.success, 2u);
  EXPECT_EQ(r.treated_outcomes.success, 2u);
}

TEST(EvalCore, TheTaskTagKeyIsAnOption) {
  auto b = run("x", 1, 1), t = run("y", 1, 1);
  b.session.tags["case"] = "same";
  t.session.tags["case"] = "same";
  eval::Options o;
  o.task_tag = "case";
  auto r = evaluate_ok({b}, {t}, o);
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].task, "same");
  EXPECT_FALSE(eval::evaluate({b}, {t}));  // by "task", x and y do not pair
}

TEST(EvalCore, ASessionInBothConditionsIsAnError) {
  auto r = eval::evaluate({run("a", 1, 1, "abc")}, {run("a", 1, 1, "abc")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("abc"), std::string::npos);
  EXPECT_NE(r.error().find("both"), std::string::npos);
  EXPECT_EQ(r.error().find('\n'), std::string::npos);
}

TEST(EvalCore, NoPairsIsAnErrorNamingWhatWasThere) {
  auto none_tagged = eval::evaluate({run("", 1, 1)}, {run("", 1, 1)});
  ASSERT_FALSE(none_tagged);
  EXPECT_EQ(none_tagged.error().rfind("no pairs: ", 0), 0u) << none_tagged.error();
  EXPECT_NE(none_tagged.error().find("--tag task="), std::string::npos) << none_tagged.error();
  auto disjoint = eval::evaluate({run("a\nb", 1, 1)}, {run("c", 1, 1)});
  ASSERT_FALSE(disjoint);
  EXPECT_EQ(disjoint.error().rfind("no pairs: ", 0), 0u);
  EXPECT_NE(disjoint.error().find("baseline: a?b; treated: c"), std::string::npos) << disjoint.error();
  EXPECT_EQ(disjoint.error().find('\n'), std::string::npos);
}

TEST(EvalCore, ARepeatedSessionCountsOnce) {
  auto r = evaluate_ok({run("a", 0, 1, "dup"), run("a", 0, 1, "dup"), run("a", 1, 3)}, {run("a", 1, 1)});
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].baseline.sessions.size(), 2u);
  EXPECT_EQ(r.tasks[0].baseline.quality, 0.5);
}

// ---- medians --------------------------------------------------------------------------

TEST(EvalCore, MedianOfOddAndEvenCounts) {
  EXPECT_FALSE(eval::median({}));
  EXPECT_EQ(eval::median({3, 1, 2}), 2);
  EXPECT_EQ(eval::median({4, 1, 3, 2}), 2.5);
  EXPECT_EQ(eval::median({7}), 7);
}

TEST(EvalCore, RepeatedRunsCountByTheirMedianQAndCost) {
  // Baseline: three runs (odd); treated: four runs (even: the mean of the middle two).
  auto b1 = run("t", 1, 0.30), b2 = run("t", 0, 0.10), b3 = run("t", 1, 0.20);
  auto t1 = run("t", 1, 0.40), t2 = run("t", 0.5, 0.05), t3 = run("t", 1, 0.10), t4 = run("t", 0, 0.20);
  t3.cost.subagents_usd = 0.10;  // a split of its own, to see which runs the split comes from
  t3.cost.llm_input_usd = t3.cost.llm_output_usd = t3.cost.tool_results_usd = 0;
  auto r = evaluate_ok({b1, b2, b3}, {t1, t2, t3, t4});
  ASSERT_EQ(r.tasks.size(), 1u);
  const auto& t = r.tasks[0];
  EXPECT_EQ(t.baseline.sessions.size(), 3u);
  EXPECT_DOUBLE_EQ(*t.baseline.quality, 1);      // {0, 1, 1}
  EXPECT_DOUBLE_EQ(t.baseline.cost.total_usd, 0.20);
  EXPECT_DOUBLE_EQ(*t.treated.quality, 0.75);    // {0, 0.5, 1, 1}
  EXPECT_DOUBLE_EQ(t.treated.cost.total_usd, 0.15);  // {0.05, 0.10, 0.20, 0.40}
  // The split is the mean of the two middle runs by cost (t3 and t4), so it adds up.
  EXPECT_DOUBLE_EQ(t.treated.cost.subagents_usd, 0.05);
  EXPECT_DOUBLE_EQ(t.treated.cost.llm_input_usd, 0.05);
  const auto& c = t.treated.cost;
  EXPECT_DOUBLE_EQ(c.llm_input_usd + c.llm_output_usd + c.tool_results_usd + c.subagents_usd, c.total_usd);
  // Sessions listed by start time.
  EXPECT_EQ(t.treated.sessions, (std::vector<std::string>{t1.session.id, t2.session.id, t3.session.id, t4.session.id}));
  // Median Q 1 → 0.75: a regression. Runs count by outcome: success, partial, failure.
  EXPECT_EQ(t.verdict, eval::Verdict::regression);
  EXPECT_EQ(r.treated_outcomes.success, 2u);
  EXPECT_EQ(r.treated_outcomes.partial, 1u);
  EXPECT_EQ(r.treated_outcomes.failure, 1u);
  EXPECT_EQ(r.baseline_outcomes.failure, 1u);
}

// ---- verdicts at their boundaries ------------------------------------------------------

TEST(EvalCore, RegressionIsBaselineOneDroppingBelowPointNineFive) {
  auto at = one_task(1, 0.95);
  EXPECT_FALSE(at.regression);
  EXPECT_EQ(at.verdict, eval::Verdict::worse);
  auto below = one_task(1, 0.9499);
  EXPECT_TRUE(below.regression);
  EXPECT_FALSE(below.catastrophic);
  EXPECT_EQ(below.verdict, eval::Verdict::regression);
  // The baseline must be a success: 0.99 → 0.5 is worse, not a regression.
  auto not_from_one = one_task(0.99, 0.5);
  EXPECT_FALSE(not_from_one.regression);
  EXPECT_EQ(not_from_one.verdict, eval::Verdict::worse);
  // A median landing on 0.95 exactly (0.9 and 1.0) is not below it.
  auto r = evaluate_ok({run("t", 1, 1)}, {run("t", 0.9, 1), run("t", 1.0, 1)});
  EXPECT_FALSE(r.tasks[0].regression);
}

TEST(EvalCore, CatastrophicIsQDroppingToZero) {
  auto from_one = one_task(1, 0);
  EXPECT_TRUE(from_one.catastrophic);
  EXPECT_TRUE(from_one.regression);  // counted as both
  EXPECT_EQ(from_one.verdict, eval::Verdict::catastrophic);
  auto from_partial = one_task(0.5, 0);
  EXPECT_TRUE(from_partial.catastrophic);
  EXPECT_FALSE(from_partial.regression);
  auto already_zero = one_task(0, 0, 2, 1);
  EXPECT_FALSE(already_zero.catastrophic);
  EXPECT_EQ(already_zero.verdict, eval::Verdict::win);  // same Q, cheaper
  auto near_zero = one_task(1, 0.001);
  EXPECT_FALSE(near_zero.catastrophic);
  EXPECT_TRUE(near_zero.regression);
}

TEST(EvalCore, WinIsQUpOrTheSameQForLess) {
  EXPECT_EQ(one_task(0.9, 1, 1, 5).verdict, eval::Verdict::win);  // Q up, even at a higher cost
  EXPECT_EQ(one_task(1, 1, 2, 1).verdict, eval::Verdict::win);
  EXPECT_EQ(one_task(1, 1, 1, 2).verdict, eval::Verdict::costlier);
  EXPECT_EQ(one_task(1, 1, 1, 1).verdict, eval::Verdict::same);
  EXPECT_EQ(one_task(0.8, 0.6, 2, 1).verdict, eval::Verdict::worse);  // cheaper, but Q down
  // Q equal up to float noise (0.1 + 0.2 is not 0.3) is the same Q: cost decides.
  EXPECT_EQ(one_task(0.3, 0.1 + 0.2, 1, 2).verdict, eval::Verdict::costlier);
  EXPECT_EQ(one_task(0.1 + 0.2, 0.3, 2, 1).verdict, eval::Verdict::win);
}

TEST(EvalCore, CostsWithUnpricedCallsDoNotDecideAVerdict) {
  auto b = run("t", 1, 2), t = run("t", 1, 1);
  t.cost.unpriced_calls = 1;  // its $1 is a lower bound: no win by cost
  auto r = evaluate_ok({b}, {t});
  EXPECT_EQ(r.tasks[0].verdict, eval::Verdict::unpriced);
  EXPECT_EQ(r.tasks[0].treated.unpriced_calls, 1u);
  EXPECT_DOUBLE_EQ(r.tasks[0].cost_change_usd, -1);  // still reported, marked +?
  EXPECT_NE(eval::to_table(r).find("1.000000+?"), std::string::npos) << eval::to_table(r);
  EXPECT_NE(eval::task_costs_svg(r).find("without a price"), std::string::npos);
  // Q still decides where it differs.
  auto worse = run("t", 0.5, 1);
  worse.cost.unpriced_calls = 3;
  EXPECT_EQ(evaluate_ok({b}, {worse}).tasks[0].verdict, eval::Verdict::regression);
}

TEST(EvalCore, CountsAndCostChanges) {
  auto r = evaluate_ok({run("a", 1, 1), run("b", 1, 2), run("c", 1, 4), run("z", 1, 0)},
                       {run("a", 1, 0.5), run("b", 0, 2), run("c", 1, 5), run("z", 1, 1)});
  EXPECT_EQ(r.count(eval::Verdict::win), 1u);
  EXPECT_EQ(r.count(eval::Verdict::catastrophic), 1u);
  EXPECT_EQ(r.count(eval::Verdict::costlier), 2u);
  EXPECT_EQ(r.regressions, 1u);
  EXPECT_EQ(r.catastrophic, 1u);
  EXPECT_DOUBLE_EQ(r.baseline_cost_usd, 7);
  EXPECT_DOUBLE_EQ(r.treated_cost_usd, 8.5);
  // Changes: a −0.5 (−50%), b 0 (0%), c +1 (+25%), z +1 (baseline 0: no percentage).
  EXPECT_DOUBLE_EQ(*r.median_cost_change_usd, 0.5);
  EXPECT_DOUBLE_EQ(*r.median_cost_change_pct, 0);
  EXPECT_FALSE(r.tasks[3].cost_change_pct);
  EXPECT_DOUBLE_EQ(*r.tasks[0].cost_change_pct, -50);
}

// ---- unscored runs ----------------------------------------------------------------------

TEST(EvalCore, UnscoredRunsAreReportedNotGuessed) {
  auto r = evaluate_ok({run("a", std::nullopt, 1), run("b", 1, 1), run("b", std::nullopt, 1)},
                       {run("a", 1, 1), run("b", 0.5, 1)});
  ASSERT_EQ(r.tasks.size(), 2u);
  EXPECT_FALSE(r.tasks[0].baseline.quality);
  EXPECT_EQ(r.tasks[0].verdict, eval::Verdict::unscored);
  EXPECT_FALSE(r.tasks[0].regression);
  // b: the one scored baseline run is its Q.
  EXPECT_EQ(r.tasks[1].baseline.scored, 1u);
  EXPECT_EQ(r.tasks[1].baseline.sessions.size(), 2u);
  EXPECT_EQ(r.tasks[1].baseline.quality, 1);
  EXPECT_TRUE(r.tasks[1].regression);
  EXPECT_EQ(r.baseline_outcomes.unscored, 2u);
  EXPECT_EQ(r.count(eval::Verdict::unscored), 1u);
  const std::string table = eval::to_table(r);
  EXPECT_NE(table.find("unscored"), std::string::npos);
  EXPECT_NE(table.find("1.00*"), std::string::npos) << table;
  auto j = eval::to_json(r);
  EXPECT_TRUE(j.at("tasks").as_array()[0].at("baseline").at("quality").is_null());
}

// ---- output ------------------------------------------------------------------------------

eval::Report sample_report() {
  return evaluate_ok({run("fix-bug", 1, 0.02), run("fix-bug", 1, 0.04), run("write <docs> & tests", 1, 0.01),
                      run("refactor", 0.5, 0.03)},
                     {run("fix-bug", 1, 0.01), run("write <docs> & tests", 0, 0.012), run("refactor", 1, 0.05)});
}

TEST(EvalOutput, JsonCarriesEveryFigure) {
  const auto r = sample_report();
  boost::system::error_code ec;
  json::value v = json::parse(json::serialize(eval::to_json(r)), ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("task_tag").as_string(), "task");
  const auto& tasks = o.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 3u);
  const auto& fix = tasks[0].as_object();
  EXPECT_EQ(fix.at("task").as_string(), "fix-bug");
  EXPECT_EQ(fix.at("verdict").as_string(), "win");
  EXPECT_EQ(fix.at("baseline").at("runs").as_int64(), 2);
  EXPECT_DOUBLE_EQ(fix.at("baseline").at("cost_usd").as_double(), 0.03);
  EXPECT_DOUBLE_EQ(fix.at("treated").at("cost_split_usd").at("llm_input").as_double(), 0.005);
  EXPECT_DOUBLE_EQ(fix.at("cost_change_usd").as_double(), 0.01 - 0.03);
  EXPECT_NEAR(fix.at("cost_change_pct").as_double(), -66.6667, 1e-3);
  const auto& docs = tasks[2].as_object();
  EXPECT_EQ(docs.at("verdict").as_string(), "catastrophic");
  EXPECT_TRUE(docs.at("regression").as_bool());
  const auto& s = o.at("summary").as_object();
  EXPECT_EQ(s.at("tasks").as_int64(), 3);
  EXPECT_EQ(s.at("wins").as_int64(), 2);
  EXPECT_EQ(s.at("regressions").as_int64(), 1);
  EXPECT_EQ(s.at("catastrophic").as_int64(), 1);
  EXPECT_DOUBLE_EQ(s.at("median_cost_change_usd").as_double(), r.median_cost_change_usd.value());
  EXPECT_EQ(o.at("outcomes").at("baseline").at("success").as_int64(), 3);
  EXPECT_EQ(o.at("outcomes").at("baseline").at("partial").as_int64(), 1);
  EXPECT_EQ(o.at("outcomes").at("treated").at("failure").as_int64(), 1);
  EXPECT_TRUE(o.at("unpaired").at("untagged").as_array().empty());
}

TEST(EvalOutput, TableColumnsAlignWithATotalsRow) {
  const std::string table = eval::to_table(sample_report());
  std::vector<std::string> lines;
  std::istringstream in(table);
  for (std::string l; std::getline(in, l) && !l.empty();) lines.push_back(l);
  ASSERT_EQ(lines.size(), 5u) << table;  // header, 3 tasks, TOTAL
  EXPECT_EQ(lines.back().rfind("TOTAL", 0), 0u);
  const size_t verdict_at = lines[0].find("VERDICT"), cost_end = lines[0].find("COST_TREAT") + 10;
  for (const auto& l : lines) {
    EXPECT_EQ(l[verdict_at - 2], ' ') << l;  // the column gap
    EXPECT_NE(l[verdict_at], ' ') << l;      // every verdict starts in the same column
    EXPECT_EQ(l[cost_end], ' ') << l;        // right-aligned cost cells end together
    EXPECT_NE(l[cost_end - 1], ' ') << l;
  }
  EXPECT_NE(table.find("wins 2"), std::string::npos) << table;
  EXPECT_NE(table.find("regressions 1, catastrophic 1"), std::string::npos) << table;
  EXPECT_NE(table.find("medians over its runs"), std::string::npos);
}

TEST(EvalOutput, SvgPlotsAreWellFormedAndDeterministic) {
  const auto r = sample_report();
  for (const std::string& svg : {eval::outcomes_svg(r), eval::task_costs_svg(r)}) {
    std::string why;
    EXPECT_EQ(check_xml(svg, why), "svg") << why << "\n" << svg;
    EXPECT_EQ(svg.find("<script"), std::string::npos);
  }
  EXPECT_EQ(eval::outcomes_svg(r), eval::outcomes_svg(sample_report()));
  EXPECT_EQ(eval::task_costs_svg(r), eval::task_costs_svg(sample_report()));
  // A task name with markup in it is escaped, never markup.
  const std::string costs = eval::task_costs_svg(r);
  EXPECT_NE(costs.find("write &lt;docs&gt; &amp; tests"), std::string::npos);
  // Six bars (3 tasks × 2 conditions) of three non-zero parts each, plus the legend's four.
  EXPECT_EQ(count_of(costs, "<rect x="), 6u * 3 + 4);
  // Outcome bars: baseline success+partial, treated success+failure, plus three legend keys.
  const std::string outcomes = eval::outcomes_svg(r);
  EXPECT_EQ(count_of(outcomes, "<rect x="), 4u + 3);
  EXPECT_NE(outcomes.find("75% (3)"), std::string::npos) << outcomes;
}

TEST(EvalOutput, PrintableKeepsUtf8AndReplacesTheRest) {
  EXPECT_EQ(eval::printable("täsk ✓"), "täsk ✓");
  EXPECT_EQ(eval::printable("a\tb\x7f"), "a?b?");
  EXPECT_EQ(eval::printable("x\xff\xc3"), "x??");
  EXPECT_EQ(eval::printable("\xed\xa0\x80"), "???");  // a surrogate
}

// ---- the cost split of a card --------------------------------------------------------------

TEST(SessionCost, SplitsTheCardByStepKindAndAddsUp) {
  card::Card c;
  c.llm_calls = 2;
  c.unpriced_calls = 1;
  auto step = [](const char* kind, const char* name, double usd) {
    card::Step s;
    s.id = std::string(kind) + name;
    s.kind = kind;
    s.name = name;
    s.cost_usd = usd;
    return s;
  };
  auto tokens = [](int64_t in, int64_t out) {
    card::TokenSum t;
    t.input = in;
    t.output = out;
    return t;
  };
  card::Step llm = step("llm", "small", 0.003);
  llm.tokens = tokens(1000, 200);
  llm.output_usd = 0.002;  // what the compiler charged for its output
  card::Step unknown = step("llm", "mystery", 0);
  unknown.tokens = tokens(10, 10);
  unknown.priced = false;
  card::Step tool = step("tool", "bash", 0.0005), proc = step("process", "ls", 0.00025);
  card::Step sub = step("subagent", "Task", 0.004);
  c.steps = {llm, unknown, tool, proc, sub};
  c.cost_usd = 0.003 + 0.0005 + 0.00025 + 0.004;
  const cli::SessionCost s = cli::card_cost(c);
  EXPECT_DOUBLE_EQ(s.total_usd, c.cost_usd);
  EXPECT_DOUBLE_EQ(s.llm_output_usd, 0.002);
  EXPECT_DOUBLE_EQ(s.llm_input_usd, 0.001);
  EXPECT_DOUBLE_EQ(s.tool_results_usd, 0.00075);
  EXPECT_DOUBLE_EQ(s.subagents_usd, 0.004);
  EXPECT_DOUBLE_EQ(s.llm_input_usd + s.llm_output_usd + s.tool_results_usd + s.subagents_usd, s.total_usd);
  EXPECT_EQ(s.unpriced_calls, 1u);
  EXPECT_EQ(s.llm_calls, 2u);
}

// ---- the command on a real store ------------------------------------------------------------

class EvalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = dir_.path() / "store";
    std::ofstream(dir_.path() / "prices.json") << R"({"version": "test", "models": {"small": {"provider": "test",
      "input": 1, "output": 10, "cache_read": 0.1, "cache_write_5m": 1.25, "cache_write_1h": 2, "checked": "2026-11-27"}}})";
  }

  // One session's events: start (tags), `calls` LLM calls of the "small" model, end.
  static std::string session_lines(const std::string& id, const std::map<std::string, std::string>& tags, int calls,
                                   uint64_t t0) {
    json::object tag_obj;
    for (const auto& [k, v] : tags) tag_obj[k] = v;
    std::string out;
    uint64_t t = t0;
    auto line = [&](const char* type, const std::string& span, json::value parent, json::object data) {
      out += json::serialize(json::object{{"t_ns", t += 1000000}, {"type", type}, {"session", id}, {"span", span},
                                          {"parent", parent}, {"data", std::move(data)}}) + "\n";
    };
    line("session_start", id, nullptr, {{"pid", 100}, {"argv", json::array{"agent"}}, {"tags", tag_obj}});
    for (int i = 0; i < calls; ++i) {
      const std::string span = "llm" + std::to_string(i);
      json::array added{json::object{{"role", "user"}, {"content", "step " + std::to_string(i)}}};
      line("llm_input", span, json::value(id),
           {{"model", "small"}, {"thread", "main"}, {"messages_added_from", 0}, {"messages_added", added},
            {"request_bytes", 400}});
      line("llm_output", span, json::value(id),
           {{"model_returned", "small"}, {"text", "done"},
            {"usage", {{"input", 1000 * (i + 1)}, {"output", 100}, {"cache_read", 0}, {"cache_write", 0}}}});
    }
    line("session_end", id, nullptr, {{"exit_code", 0}});
    return out;
  }

  void import(const std::string& lines) {
    const auto file = dir_.path() / "events.jsonl";
    std::ofstream(file) << lines;
    auto r = clawtrace({"import", file.string()});
    ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.err;
  }

  void score(const std::string& id, double q) {
    auto store = Store::open(store_);
    ASSERT_TRUE(store) << store.error();
    auto w = (*store)->write([&](Store::Writer& wr) -> Result<void> {
      auto s = wr.get_session(id);
      if (!s) return Error{s.error()};
      if (!s->has_value()) return fail("no session " + id);
      SessionInfo info = **s;
      info.quality = q;
      return wr.put_session(info);
    });
    ASSERT_TRUE(w) << w.error();
  }

  // With `extra` added to our environment (minus any CLAWTRACE_ variable of our own).
  test::ProcessOutput clawtrace(std::vector<std::string> args, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("CLAWTRACE_", 0) != 0 && std::string(*e).rfind("LD_PRELOAD=", 0) != 0) env.push_back(*e);
    env.insert(env.end(), extra.begin(), extra.end());
    args.insert(args.begin(), {CT_CLAWTRACE, "--store", store_.string()});
    return test::run_process(args, env, 60);
  }

  static int exit_code(const test::ProcessOutput& r) { return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1; }

  test::TempDir dir_{"clawtrace-eval"};
  std::filesystem::path store_;
};

// Session ids that differ in their first digit, so short prefixes are unique.
std::string hex(int n) { return std::string(16, "0123456789abcdef"[n % 16]); }

TEST_F(EvalCli, ComparesTaggedConditionsFromARealStore) {
  // Two tasks; baseline runs make 3 calls, treated runs 2 (cheaper); task "b" regresses.
  std::string lines;
  uint64_t t0 = 1'700'000'000'000'000'000;
  const std::vector<std::tuple<int, std::string, std::string, int, double>> runs = {
      {1, "base", "a", 3, 1}, {2, "base", "a", 3, 1}, {3, "base", "b", 3, 1},
      {4, "skill", "a", 2, 1}, {5, "skill", "b", 2, 0.5}, {6, "skill", "c", 2, 1}};
  for (const auto& [n, cond, task, calls, q] : runs)
    lines += session_lines(hex(n), {{"cond", cond}, {"task", task}}, calls, t0 += 1'000'000'000);
  import(lines);
  for (const auto& [n, cond, task, calls, q] : runs) score(hex(n), q);

  const auto plots = dir_.path() / "plots";
  const std::vector<std::string> prices_env{"CLAWTRACE_PRICES=" + (dir_.path() / "prices.json").string()};
  auto r = clawtrace({"eval", "--baseline", "cond=base", "--treated", "cond=skill", "--json", "--svg", plots.string()},
                     prices_env);
  ASSERT_EQ(exit_code(r), 0) << r.err;
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  ASSERT_FALSE(ec) << r.out;
  const auto& tasks = v.at("tasks").as_array();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].at("task").as_string(), "a");
  EXPECT_EQ(tasks[0].at("verdict").as_string(), "win");
  EXPECT_EQ(tasks[0].at("baseline").at("runs").as_int64(), 2);
  EXPECT_EQ(tasks[1].at("verdict").as_string(), "regression");
  EXPECT_EQ(v.at("unpaired").at("treated_only").as_array().at(0).as_string(), "c");
  // Costs are the cards' totals: what `clawtrace sessions` shows (one run per condition of
  // task b, so its medians are those runs' own costs).
  auto sessions = clawtrace({"sessions", "--json"}, prices_env);
  ASSERT_EQ(exit_code(sessions), 0) << sessions.err;
  std::map<std::string, double> listed;
  const json::value listing = json::parse(sessions.out);
  for (const auto& s : listing.as_array())
    if (s.at("cost_usd").is_number()) listed[std::string(s.at("id").as_string())] = s.at("cost_usd").to_number<double>();
  ASSERT_EQ(listed.size(), 6u) << sessions.out;
  EXPECT_EQ(tasks[1].at("baseline").at("cost_usd").as_double(), listed.at(hex(3)));
  EXPECT_EQ(tasks[1].at("treated").at("cost_usd").as_double(), listed.at(hex(5)));
  const double base_a = tasks[0].at("baseline").at("cost_usd").as_double();
  const double treat_a = tasks[0].at("treated").at("cost_usd").as_double();
  // 3 calls: input 1000+2000+3000 at $1/M, output 3×100 at $10/M; 2 calls: 3000 and 200.
  EXPECT_NEAR(base_a, 6000e-6 + 3000e-6, 1e-12);
  EXPECT_NEAR(treat_a, 3000e-6 + 2000e-6, 1e-12);
  const auto& split = tasks[0].at("baseline").at("cost_split_usd");
  EXPECT_NEAR(split.at("llm_output").as_double(), 3000e-6, 1e-12);
  EXPECT_NEAR(split.at("llm_input").as_double(), 6000e-6, 1e-12);
  // The plots are there, well formed, and the same bytes on a second run.
  std::string first[2];
  int k = 0;
  for (const char* name : {"outcome_rates.svg", "task_costs.svg"}) {
    std::ifstream in(plots / name);
    std::string svg((std::istreambuf_iterator<char>(in)), {});
    std::string why;
    EXPECT_EQ(check_xml(svg, why), "svg") << name << ": " << why;
    first[k++] = svg;
  }
  auto again = clawtrace({"eval", "--baseline", "cond=base", "--treated", "cond=skill", "--svg", plots.string(),
                          "--prices", (dir_.path() / "prices.json").string()});
  ASSERT_EQ(exit_code(again), 0) << again.err;
  k = 0;
  for (const char* name : {"outcome_rates.svg", "task_costs.svg"}) {
    std::ifstream in(plots / name);
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), first[k++]) << name;
  }
  // The table: a row per task and the totals.
  EXPECT_NE(again.out.find("TOTAL"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("not paired, treated only: c"), std::string::npos) << again.out;

  // Ids, prefixes and commas select the same runs as the tags.
  auto by_id = clawtrace({"eval", "--baseline", hex(1) + "," + hex(2), hex(3).substr(0, 3), "--treated", hex(4), hex(5),
                          "--json", "--prices", (dir_.path() / "prices.json").string()});
  ASSERT_EQ(exit_code(by_id), 0) << by_id.err;
  EXPECT_EQ(json::parse(by_id.out).at("tasks"), v.at("tasks"));
}

TEST_F(EvalCli, ErrorsAreOneClearLine) {
  import(session_lines(hex(1), {{"task", "a"}, {"cond", "base"}}, 1, 1'700'000'000'000'000'000) +
         session_lines(hex(2), {{"task", "b"}, {"cond", "skill"}}, 1, 1'700'000'001'000'000'000));
  auto one_line = [](const test::ProcessOutput& r) {
    return !r.err.empty() && r.err.find('\n') == r.err.size() - 1 && r.err.rfind("clawtrace: ", 0) == 0;
  };
  auto unknown = clawtrace({"eval", "--baseline", "ffff", "--treated", hex(2)});
  EXPECT_EQ(exit_code(unknown), 1);
  EXPECT_TRUE(one_line(unknown)) << unknown.err;
  EXPECT_NE(unknown.err.find("--baseline: no session matches"), std::string::npos) << unknown.err;

  auto no_tag = clawtrace({"eval", "--baseline", "cond=nope", "--treated", hex(2)});
  EXPECT_EQ(exit_code(no_tag), 1);
  EXPECT_NE(no_tag.err.find("--baseline: no root session is tagged cond=nope"), std::string::npos) << no_tag.err;

  auto both = clawtrace({"eval", "--baseline", hex(1), "--treated", "task=a"});
  EXPECT_EQ(exit_code(both), 1);
  EXPECT_TRUE(one_line(both)) << both.err;
  EXPECT_NE(both.err.find("both as baseline and as treated"), std::string::npos) << both.err;

  auto no_pairs = clawtrace({"eval", "--baseline", "cond=base", "--treated", "cond=skill"});
  EXPECT_EQ(exit_code(no_pairs), 1);
  EXPECT_TRUE(one_line(no_pairs)) << no_pairs.err;
  EXPECT_NE(no_pairs.err.find("no pairs"), std::string::npos) << no_pairs.err;

  auto missing = clawtrace({"eval", "--baseline", hex(1)});
  EXPECT_EQ(exit_code(missing), 2);
  EXPECT_TRUE(one_line(missing)) << missing.err;
  auto stray = clawtrace({"eval", hex(1), "--baseline", hex(1), "--treated", hex(2)});
  EXPECT_EQ(exit_code(stray), 2);
  EXPECT_NE(stray.err.find("unexpected argument"), std::string::npos) << stray.err;
  auto empty = clawtrace({"eval", "--baseline", "--treated", hex(2)});
  EXPECT_EQ(exit_code(empty), 2);
  EXPECT_NE(empty.err.find("--baseline needs sessions"), std::string::npos) << empty.err;
}

}  // namespace
