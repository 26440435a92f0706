// `clawtrace eval`: baseline against treated runs, paired by task tag (SPEC §6; the
// definitions are in docs/eval.md, the core in eval.cpp).
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "cli.h"
#include "eval.h"

namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace eval --baseline SEL... --treated SEL... [--task-tag K] [--json]
                      [--svg DIR] [--prices FILE]

Compares two conditions (e.g. an agent without and with a distilled skill). Runs are
paired by the value of their task tag (`clawtrace run --tag task=NAME`); per task it shows
Q (the oracle's score, `clawtrace score`) and cost (the TraceCard total, sub-agents rolled
up) of each condition, the change, and a verdict: win (Q up, or the same Q for less),
same, costlier, worse, regression (baseline Q = 1 dropping below 0.95) or catastrophic
(Q dropping to 0). Several runs of a task in one condition count by their median.
Unscored runs are shown, never guessed. Definitions: docs/eval.md.

SEL is one or more of, separated by spaces or commas:
  ID | PREFIX | last   a session (its id, a unique id prefix, the latest root session)
  K=V                 every root session tagged K=V (e.g. --baseline cond=base)
--task-tag K   the tag that names the task (default: task)
--json         the report as JSON
--svg DIR      also write DIR/outcome_rates.svg and DIR/task_costs.svg
--prices F     prices that win over the bundled table (as for `clawtrace card`)
)";

struct Args {
  std::vector<std::string> baseline, treated;
  bool saw_baseline = false, saw_treated = false, as_json = false;
  eval::Options options;
  std::optional<fs::path> svg_dir, prices_file;
};

void add_items(const std::string& value, std::vector<std::string>& into) {
  size_t start = 0;
  while (start <= value.size()) {
    const size_t comma = std::min(value.find(',', start), value.size());
    if (comma > start) into.push_back(value.substr(start, comma - start));
    start = comma + 1;
  }
}

// Returns an exit code when parsing ends the command (help or a usage error).
std::optional<int> parse(const std::vector<std::string>& args, Args& out) {
  std::vector<std::string>* current = nullptr;  // where bare words go
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    const bool base = a == "--baseline" || a.rfind("--baseline=", 0) == 0;
    const bool treat = a == "--treated" || a.rfind("--treated=", 0) == 0;
    if (base || treat) {
      current = base ? &out.baseline : &out.treated;
      (base ? out.saw_baseline : out.saw_treated) = true;
      if (const size_t eq = a.find('='); eq != std::string::npos) add_items(a.substr(eq + 1), *current);
    } else if (a == "--json") {
      out.as_json = true;
      current = nullptr;
    } else if (a == "--task-tag" || a == "--svg" || a == "--prices") {
      if (i + 1 >= args.size() || args[i + 1].empty()) return usage_error("eval", a + " needs a value");
      const std::string& v = args[++i];
      if (a == "--task-tag") out.options.task_tag = v;
      else if (a == "--svg") out.svg_dir = v;
      else out.prices_file = v;
      current = nullptr;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("eval", "unknown option " + a);
    } else if (current) {
      add_items(a, *current);
    } else {
      return usage_error("eval", "unexpected argument '" + a + "' (sessions go after --baseline or --treated)");
    }
  }
  if (!out.saw_baseline || !out.saw_treated) return usage_error("eval", "needs --baseline SEL and --treated SEL");
  if (out.baseline.empty()) return usage_error("eval", "--baseline needs sessions (ids, prefixes, last or K=V)");
  if (out.treated.empty()) return usage_error("eval", "--treated needs sessions (ids, prefixes, last or K=V)");
  return std::nullopt;
}

// The session ids a selection names, each once, in the order given.
Result<std::vector<std::string>> select(Store& store, const std::vector<SessionInfo>& all,
                                        const std::vector<std::string>& items, const std::string& flag) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  auto take = [&](const std::string& id) {
    if (seen.insert(id).second) ids.push_back(id);
  };
  for (const auto& item : items) {
    if (const size_t eq = item.find('='); eq != std::string::npos) {
      const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
      if (key.empty()) return fail(flag + ": '" + eval::printable(item) + "' has no tag key (K=V)");
      size_t matched = 0;
      for (const auto& s : all) {
        auto it = s.tags.find(key);
        if (s.parent_session || it == s.tags.end() || it->second != value) continue;
        take(s.id);
        ++matched;
      }
      if (matched == 0) return fail(flag + ": no root session is tagged " + eval::printable(item));
      continue;
    }
    auto id = store.resolve(item);
    if (!id) return fail(flag + ": " + id.error());
    take(*id);
  }
  return ids;
}

Result<std::vector<eval::Run>> load_runs(Store& store, const std::map<std::string, SessionInfo>& by_id,
                                         const std::vector<std::string>& ids, const pricing::PriceTable& prices) {
  std::vector<eval::Run> runs;
  auto trees = SpanTreeLoader::open(store);
  if (!trees) return fail(trees.error());
  for (const auto& id : ids) {
    auto info = by_id.find(id);
    if (info == by_id.end()) return fail("session " + id + " has no record in the store");
    auto cost = session_cost(*trees, id, prices);
    if (!cost) return fail("session " + id + ": " + cost.error());
    runs.push_back({info->second, *cost});
  }
  return runs;
}

Result<void> write_plots(const fs::path& dir, const eval::Report& report) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("cannot create " + dir.string() + ": " + ec.message());
  for (const auto& [name, svg] : {std::pair{"outcome_rates.svg", eval::outcomes_svg(report)},
                                  std::pair{"task_costs.svg", eval::task_costs_svg(report)}}) {
    std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
    out << svg;
    out.close();
    if (!out) return fail("cannot write " + (dir / name).string());
  }
  return {};
}

}  // namespace

int cmd_eval(const Globals& g, const std::vector<std::string>& args) {
  Args a;
  if (auto code = parse(args, a)) return *code;
  auto prices = pricing::load_prices(a.prices_file);
  if (!prices) return error(prices.error());
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  auto all = (*store)->sessions();
  if (!all) return error(all.error());
  std::map<std::string, SessionInfo> by_id;
  for (const auto& s : *all) by_id[s.id] = s;
  auto base_ids = select(**store, *all, a.baseline, "--baseline");
  if (!base_ids) return error(base_ids.error());
  auto treat_ids = select(**store, *all, a.treated, "--treated");
  if (!treat_ids) return error(treat_ids.error());
  auto baseline = load_runs(**store, by_id, *base_ids, *prices);
  if (!baseline) return error(baseline.error());
  auto treated = load_runs(**store, by_id, *treat_ids, *prices);
  if (!treated) return error(treated.error());
  auto report = eval::evaluate(*baseline, *treated, a.options);
  if (!report) return error(report.error());
  if (a.svg_dir)
    if (auto written = write_plots(*a.svg_dir, *report); !written) return error(written.error());
  if (a.as_json) std::printf("%s\n", boost::json::serialize(eval::to_json(*report)).c_str());
  else std::fputs(eval::to_table(*report).c_str(), stdout);
  return 0;
}

}  // namespace clawtrace::cli
