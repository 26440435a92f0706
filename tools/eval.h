// `clawtrace eval` without the store: runs of two conditions (baseline, treated) paired by a
// task tag, medians per task, each task's verdict (win, regression, catastrophic, …), and
// the report as a text table, JSON and SVG plots. Definitions: docs/eval.md.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "event.h"
#include "result.h"
#include "session_cost.h"

namespace clawtrace::eval {

// One traced run: its session record (tags, quality) and what it cost.
struct Run {
  SessionInfo session;
  cli::SessionCost cost;
};

struct Options {
  std::string task_tag = "task";
};

// Most severe first; a task gets exactly one.
enum class Verdict {
  catastrophic,  // treated Q = 0 where baseline Q > 0
  regression,    // baseline Q = 1, treated Q < 0.95
  worse,         // Q down, neither of the above
  costlier,      // same Q, cost up
  same,          // same Q, same cost
  win,           // Q up, or same Q and cost down
  unpriced,      // same Q, but a condition called models without a price: costs do not compare
  unscored,      // a condition has no scored run: Q unknown, nothing guessed
};
std::string_view to_string(Verdict v);

// One condition of one task: medians over its runs.
struct Side {
  std::vector<std::string> sessions;  // its runs, by start time
  size_t scored = 0;                  // runs with a quality
  std::optional<double> quality;      // median Q of the scored runs
  cli::SessionCost cost;              // the median run's cost and split (even count: the mean
                                      // of the two middle runs by total)
  uint64_t unpriced_calls = 0;        // over all its runs: the cost is then a lower bound
};

struct TaskResult {
  std::string task;
  Side baseline, treated;
  Verdict verdict = Verdict::unscored;
  bool regression = false;    // counted apart from the verdict: a 1 → 0 task is both
  bool catastrophic = false;
  double cost_change_usd = 0;                  // treated − baseline
  std::optional<double> cost_change_pct;       // relative to baseline; none when it cost 0
};

// Outcomes of single runs: success Q = 1, failure Q = 0, partial in between.
struct Outcomes {
  size_t success = 0, partial = 0, failure = 0, unscored = 0;
};

struct Report {
  std::string task_tag;
  std::vector<TaskResult> tasks;  // paired tasks, by name
  std::vector<std::string> baseline_only, treated_only;  // tasks missing a condition
  std::vector<std::string> untagged;                      // session ids without the task tag
  Outcomes baseline_outcomes, treated_outcomes;           // runs of the paired tasks
  size_t counts[8] = {};                                  // tasks per Verdict
  size_t regressions = 0, catastrophic = 0;
  double baseline_cost_usd = 0, treated_cost_usd = 0;     // sums of the per-task medians
  std::optional<double> median_cost_change_usd;           // median over the paired tasks
  std::optional<double> median_cost_change_pct;           // over those whose baseline cost > 0
  size_t count(Verdict v) const { return counts[static_cast<size_t>(v)]; }
};

// Fails (one line) when a session is in both conditions, or when no task has runs in both.
Result<Report> evaluate(const std::vector<Run>& baseline, const std::vector<Run>& treated,
                        const Options& options = {});

// The median of `values` (the mean of the two middle ones for an even count); none if empty.
std::optional<double> median(std::vector<double> values);

// `text` as one line of valid UTF-8: control characters and broken sequences become '?'
// (task names come from tags, which can hold any bytes).
std::string printable(std::string_view text);

// Aligned columns, a TOTAL row, then the counts, the median cost change and notes.
std::string to_table(const Report& report);
boost::json::object to_json(const Report& report);

// Deterministic SVG (no script): outcome rates per condition as stacked bars, and per-task
// cost, baseline beside treated, each bar stacked by the cost split.
std::string outcomes_svg(const Report& report);
std::string task_costs_svg(const Report& report);

}  // namespace clawtrace::eval
