// The evaluation core: pairing, medians, verdicts, and the table and JSON of the report.
#include "eval.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace json = boost::json;

namespace clawtrace::eval {
namespace {

constexpr double kEps = 1e-9;  // Q values this close are equal (medians average two runs)
constexpr double kRegressionBelow = 0.95;
constexpr size_t kNamesInError = 5;

bool is_one(double q) { return q >= 1 - kEps; }
bool is_zero(double q) { return q <= kEps; }

using Group = std::map<std::string, std::vector<const Run*>>;  // task -> runs

// Groups runs by task; sessions without the tag go to `untagged`, repeats are dropped.
Group group_by_task(const std::vector<Run>& runs, const std::string& tag, std::vector<std::string>& untagged) {
  Group g;
  std::set<std::string> seen;
  for (const auto& r : runs) {
    if (!seen.insert(r.session.id).second) continue;
    auto it = r.session.tags.find(tag);
    if (it == r.session.tags.end()) untagged.push_back(r.session.id);
    else g[it->second].push_back(&r);
  }
  return g;
}

std::string name_list(const Group& g) {
  std::string out;
  size_t n = 0;
  for (const auto& [task, runs] : g) {
    if (n++ == kNamesInError) return out + ", …";
    out += (out.empty() ? "" : ", ") + printable(task);
  }
  return out.empty() ? "none" : out;
}

cli::SessionCost mean_of(const cli::SessionCost& a, const cli::SessionCost& b) {
  cli::SessionCost m;
  m.total_usd = (a.total_usd + b.total_usd) / 2;
  m.llm_input_usd = (a.llm_input_usd + b.llm_input_usd) / 2;
  m.llm_output_usd = (a.llm_output_usd + b.llm_output_usd) / 2;
  m.tool_results_usd = (a.tool_results_usd + b.tool_results_usd) / 2;
  m.subagents_usd = (a.subagents_usd + b.subagents_usd) / 2;
  return m;
}

// The median run by total cost (ties by id, so the split is deterministic).
cli::SessionCost median_cost(std::vector<const Run*> runs) {
  std::sort(runs.begin(), runs.end(), [](const Run* a, const Run* b) {
    if (a->cost.total_usd != b->cost.total_usd) return a->cost.total_usd < b->cost.total_usd;
    return a->session.id < b->session.id;
  });
  const size_t mid = runs.size() / 2;
  cli::SessionCost c = runs.size() % 2 ? runs[mid]->cost : mean_of(runs[mid - 1]->cost, runs[mid]->cost);
  c.llm_calls = c.unpriced_calls = 0;  // counts of one run say nothing here; Side keeps the sum
  return c;
}

Side summarise(std::vector<const Run*> runs) {
  std::sort(runs.begin(), runs.end(), [](const Run* a, const Run* b) {
    return a->session.start_ns != b->session.start_ns ? a->session.start_ns < b->session.start_ns
                                                      : a->session.id < b->session.id;
  });
  Side s;
  std::vector<double> qualities;
  for (const Run* r : runs) {
    s.sessions.push_back(r->session.id);
    s.unpriced_calls += r->cost.unpriced_calls;
    if (r->session.quality) qualities.push_back(*r->session.quality);
  }
  s.scored = qualities.size();
  s.quality = median(qualities);
  s.cost = median_cost(runs);
  return s;
}

Verdict judge(TaskResult& t) {
  if (!t.baseline.quality || !t.treated.quality) return Verdict::unscored;
  const double qb = *t.baseline.quality, qt = *t.treated.quality;
  t.catastrophic = is_zero(qt) && !is_zero(qb);
  t.regression = is_one(qb) && qt < kRegressionBelow - kEps;
  if (t.catastrophic) return Verdict::catastrophic;
  if (t.regression) return Verdict::regression;
  if (qt > qb + kEps) return Verdict::win;
  if (qt < qb - kEps) return Verdict::worse;
  if (t.baseline.unpriced_calls || t.treated.unpriced_calls) return Verdict::unpriced;
  const double cb = t.baseline.cost.total_usd, ct = t.treated.cost.total_usd;
  return ct < cb ? Verdict::win : ct > cb ? Verdict::costlier : Verdict::same;
}

void count_outcomes(const std::vector<const Run*>& runs, Outcomes& o) {
  for (const Run* r : runs) {
    if (!r->session.quality) ++o.unscored;
    else if (is_one(*r->session.quality)) ++o.success;
    else if (is_zero(*r->session.quality)) ++o.failure;
    else ++o.partial;
  }
}

TaskResult compare(const std::string& task, const std::vector<const Run*>& base, const std::vector<const Run*>& treat) {
  TaskResult t;
  t.task = task;
  t.baseline = summarise(base);
  t.treated = summarise(treat);
  t.verdict = judge(t);
  const double cb = t.baseline.cost.total_usd, ct = t.treated.cost.total_usd;
  t.cost_change_usd = ct - cb;
  if (cb > 0) t.cost_change_pct = (ct / cb - 1) * 100;
  return t;
}

void summarise_report(Report& r) {
  std::vector<double> change_usd, change_pct;
  for (const auto& t : r.tasks) {
    ++r.counts[static_cast<size_t>(t.verdict)];
    r.regressions += t.regression;
    r.catastrophic += t.catastrophic;
    r.baseline_cost_usd += t.baseline.cost.total_usd;
    r.treated_cost_usd += t.treated.cost.total_usd;
    change_usd.push_back(t.cost_change_usd);
    if (t.cost_change_pct) change_pct.push_back(*t.cost_change_pct);
  }
  r.median_cost_change_usd = median(change_usd);
  r.median_cost_change_pct = median(change_pct);
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::catastrophic: return "catastrophic";
    case Verdict::regression: return "regression";
    case Verdict::worse: return "worse";
    case Verdict::costlier: return "costlier";
    case Verdict::same: return "same";
    case Verdict::win: return "win";
    case Verdict::unpriced: return "unpriced";
    case Verdict::unscored: return "unscored";
  }
  return "unscored";
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 && c >= 0xC2 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 && c <= 0xF4 ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size() && !(len == 1 && (c < 0x20 || c == 0x7F));
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok && len == 3) {  // no overlong forms, no surrogates
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) out.append(text.substr(i, len));
    else out += '?';
    i += ok ? len : 1;
  }
  return out;
}

Result<Report> evaluate(const std::vector<Run>& baseline, const std::vector<Run>& treated, const Options& options) {
  std::set<std::string> in_baseline;
  for (const auto& r : baseline) in_baseline.insert(r.session.id);
  for (const auto& r : treated)
    if (in_baseline.count(r.session.id))
      return fail("session " + r.session.id + " is selected both as baseline and as treated");
  Report report;
  report.task_tag = options.task_tag;
  const Group base = group_by_task(baseline, options.task_tag, report.untagged);
  const Group treat = group_by_task(treated, options.task_tag, report.untagged);
  const std::string tag = "'" + printable(options.task_tag) + "'";
  if (base.empty() && treat.empty())
    return fail("no pairs: no selected session has a " + tag + " tag (clawtrace run --tag " +
                printable(options.task_tag) + "=NAME; or choose the key with --task-tag)");
  for (const auto& [task, runs] : base) {
    auto it = treat.find(task);
    if (it == treat.end()) {
      report.baseline_only.push_back(task);
      continue;
    }
    report.tasks.push_back(compare(task, runs, it->second));
    count_outcomes(runs, report.baseline_outcomes);
    count_outcomes(it->second, report.treated_outcomes);
  }
  for (const auto& [task, runs] : treat)
    if (!base.count(task)) report.treated_only.push_back(task);
  if (report.tasks.empty())
    return fail("no pairs: no " + tag + " value has runs in both conditions (baseline: " + name_list(base) +
                "; treated: " + name_list(treat) + ")");
  summarise_report(report);
  return report;
}

// ---- the text table -----------------------------------------------------------------------

namespace {

size_t width(const std::string& s) {  // code points: task names may be UTF-8
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string clip(std::string s, size_t max) {
  if (width(s) <= max) return s;
  size_t cut = 0, n = 0;
  while (cut < s.size() && n < max - 1) {
    ++cut;
    while (cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) ++cut;
    ++n;
  }
  return s.substr(0, cut) + "~";
}

std::string quality_cell(const Side& s) {
  if (!s.quality) return "-";
  return format("%.2f", *s.quality) + (s.scored < s.sessions.size() ? "*" : "");
}

std::string cost_cell(double usd, uint64_t unpriced) { return format("%.6f", usd) + (unpriced ? "+?" : ""); }

std::string pct_cell(const std::optional<double>& pct) { return pct ? format("%+.1f%%", *pct) : "-"; }

using Row = std::vector<std::string>;

std::vector<Row> table_rows(const Report& r) {
  std::vector<Row> rows{{"TASK", "RUNS", "Q_BASE", "Q_TREAT", "COST_BASE", "COST_TREAT", "CHANGE_USD", "CHANGE",
                         "VERDICT"}};
  size_t runs_b = 0, runs_t = 0, scored = 0;
  double q_b = 0, q_t = 0;
  uint64_t unpriced_b = 0, unpriced_t = 0;
  for (const auto& t : r.tasks) {
    rows.push_back({clip(printable(t.task), 40),
                    std::to_string(t.baseline.sessions.size()) + "/" + std::to_string(t.treated.sessions.size()),
                    quality_cell(t.baseline), quality_cell(t.treated),
                    cost_cell(t.baseline.cost.total_usd, t.baseline.unpriced_calls),
                    cost_cell(t.treated.cost.total_usd, t.treated.unpriced_calls), format("%+.6f", t.cost_change_usd),
                    pct_cell(t.cost_change_pct), std::string(to_string(t.verdict))});
    runs_b += t.baseline.sessions.size();
    runs_t += t.treated.sessions.size();
    unpriced_b += t.baseline.unpriced_calls;
    unpriced_t += t.treated.unpriced_calls;
    if (t.baseline.quality && t.treated.quality) {
      ++scored;
      q_b += *t.baseline.quality;
      q_t += *t.treated.quality;
    }
  }
  const double d = static_cast<double>(scored);
  std::optional<double> total_pct;
  if (r.baseline_cost_usd > 0) total_pct = (r.treated_cost_usd / r.baseline_cost_usd - 1) * 100;
  rows.push_back({"TOTAL", std::to_string(runs_b) + "/" + std::to_string(runs_t), scored ? format("%.2f", q_b / d) : "-",
                  scored ? format("%.2f", q_t / d) : "-", cost_cell(r.baseline_cost_usd, unpriced_b),
                  cost_cell(r.treated_cost_usd, unpriced_t), format("%+.6f", r.treated_cost_usd - r.baseline_cost_usd),
                  pct_cell(total_pct), std::to_string(r.count(Verdict::win)) + (r.count(Verdict::win) == 1 ? " win" : " wins")});
  return rows;
}

std::string render(const std::vector<Row>& rows) {
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) w[c] = std::max(w[c], width(row[c]));
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(w[c] - width(row[c]), ' ');
      const bool left = c == 0 || c + 1 == row.size();  // names and verdicts read left-aligned
      line += (c ? "  " : "") + (left ? row[c] + pad : pad + row[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + printable(n);
  return out;
}

std::string summary_lines(const Report& r) {
  std::string out(1, '\n');
  out += std::to_string(r.tasks.size()) + (r.tasks.size() == 1 ? " task" : " tasks") + " paired by tag '" + printable(r.task_tag) +
         "': wins " + std::to_string(r.count(Verdict::win)) + ", same " + std::to_string(r.count(Verdict::same)) +
         ", costlier " + std::to_string(r.count(Verdict::costlier)) + ", worse " +
         std::to_string(r.count(Verdict::worse)) + ", regressions " + std::to_string(r.regressions) +
         ", catastrophic " + std::to_string(r.catastrophic) + ", unpriced " +
         std::to_string(r.count(Verdict::unpriced)) + ", unscored " + std::to_string(r.count(Verdict::unscored)) + "\n";
  out += "median cost change per task: " + format("%+.6f", r.median_cost_change_usd.value_or(0)) + " USD";
  if (r.median_cost_change_pct) out += " (" + pct_cell(r.median_cost_change_pct) + ")";
  out += "\n\nQ and cost per task are medians over its runs (an even count: the mean of the two middle runs).\n";
  out += "TOTAL: Q is the mean over the scored tasks, cost the sum of the tasks' medians.\n";
  out += "A regression is baseline Q = 1 dropping below 0.95; catastrophic is Q dropping to 0 (a task 1 -> 0 is both).\n";
  bool unscored = false, unpriced = false;
  for (const auto& t : r.tasks) {
    unscored |= t.baseline.scored < t.baseline.sessions.size() || t.treated.scored < t.treated.sessions.size();
    unpriced |= t.baseline.unpriced_calls || t.treated.unpriced_calls;
  }
  if (unscored) out += "* some runs have no score: Q is over the scored ones (- when none is scored).\n";
  if (unpriced)
    out += "+? some calls used models without a price: the cost is a lower bound, and the same Q at such a cost\n"
           "   is 'unpriced' rather than a win (see --prices).\n";
  if (!r.baseline_only.empty()) out += "not paired, baseline only: " + joined(r.baseline_only) + "\n";
  if (!r.treated_only.empty()) out += "not paired, treated only: " + joined(r.treated_only) + "\n";
  if (!r.untagged.empty()) out += "not paired, no '" + printable(r.task_tag) + "' tag: " + joined(r.untagged) + "\n";
  return out;
}

// ---- JSON -------------------------------------------------------------------------------

json::value opt(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object side_json(const Side& s) {
  json::array sessions;
  for (const auto& id : s.sessions) sessions.push_back(json::value(id));
  return {{"runs", s.sessions.size()},
          {"scored", s.scored},
          {"sessions", std::move(sessions)},
          {"quality", opt(s.quality)},
          {"cost_usd", s.cost.total_usd},
          {"cost_split_usd",
           {{"llm_input", s.cost.llm_input_usd},
            {"llm_output", s.cost.llm_output_usd},
            {"tool_results", s.cost.tool_results_usd},
            {"subagents", s.cost.subagents_usd}}},
          {"unpriced_calls", s.unpriced_calls}};
}

json::object outcomes_json(const Outcomes& o) {
  return {{"success", o.success}, {"partial", o.partial}, {"failure", o.failure}, {"unscored", o.unscored}};
}

json::array names_json(const std::vector<std::string>& names) {
  json::array a;
  for (const auto& n : names) a.push_back(json::value(n));
  return a;
}

}  // namespace

std::string to_table(const Report& report) { return render(table_rows(report)) + summary_lines(report); }

json::object to_json(const Report& r) {
  json::array tasks;
  for (const auto& t : r.tasks)
    tasks.push_back(json::object{{"task", t.task},
                                 {"verdict", to_string(t.verdict)},
                                 {"regression", t.regression},
                                 {"catastrophic", t.catastrophic},
                                 {"baseline", side_json(t.baseline)},
                                 {"treated", side_json(t.treated)},
                                 {"cost_change_usd", t.cost_change_usd},
                                 {"cost_change_pct", opt(t.cost_change_pct)}});
  json::object summary{{"tasks", r.tasks.size()}};
  for (Verdict v : {Verdict::win, Verdict::same, Verdict::costlier, Verdict::worse, Verdict::unpriced, Verdict::unscored})
    summary[to_string(v) == "win" ? "wins" : to_string(v)] = r.count(v);
  summary["regressions"] = r.regressions;
  summary["catastrophic"] = r.catastrophic;
  summary["baseline_cost_usd"] = r.baseline_cost_usd;
  summary["treated_cost_usd"] = r.treated_cost_usd;
  summary["median_cost_change_usd"] = opt(r.median_cost_change_usd);
  summary["median_cost_change_pct"] = opt(r.median_cost_change_pct);
  return {{"task_tag", r.task_tag},
          {"aggregation", "median per task over its runs (even count: mean of the two middle runs)"},
          {"tasks", std::move(tasks)},
          {"summary", std::move(summary)},
          {"outcomes", {{"baseline", outcomes_json(r.baseline_outcomes)}, {"treated", outcomes_json(r.treated_outcomes)}}},
          {"unpaired",
           {{"baseline_only", names_json(r.baseline_only)},
            {"treated_only", names_json(r.treated_only)},
            {"untagged", names_json(r.untagged)}}}};
}

}  // namespace clawtrace::eval
