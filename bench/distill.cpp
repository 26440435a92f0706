// CostCraft distill time for N scored cards with the offline proposer. Each session is a
// ~30-step tool loop (search, reads — some repeated unchanged —, edits, test runs; failures
// end on an unrecovered error), priced with the bundled table. Prints, per N, the median
// of R runs of: compiling the N cards from their span trees (the baseline: `distill` does
// it anyway), distilling them (propose, admit, merge), and writing SKILL.md + patches.yaml.
//   bench_distill [N...]   (default 100 1000)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "costcraft.h"
#include "trace_builder.h"

using namespace clawtrace;
using test::ToolUse;

namespace {

test::TraceBuilder session(size_t n, std::mt19937_64& rng) {
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  const bool fails = pick(4) == 0;
  test::TraceBuilder b("s" + std::to_string(n), fails ? 0.0 : 1.0, fails ? "tests fail: No such file" : "",
                       1'700'000'000'000'000'000 + n * 1'000'000'000'000);
  b.model = "claude-sonnet-4-5";
  const std::string file = "src/m" + std::to_string(pick(50)) + ".py";
  std::string content;
  for (int i = 0, lines = 50 + pick(400); i < lines; ++i) content += "line " + std::to_string(i) + " of the module\n";
  int64_t context = 2000;
  auto turn = [&](std::vector<ToolUse> tools) {
    context += 400 + pick(3000);
    b.turn(tools, context, 100 + pick(400));
  };
  turn({{"grep", R"({"pattern":"def main"})", file + ":1: def main"}});
  for (int k = 0, turns = 5 + pick(8); k < turns; ++k) {
    switch (pick(5)) {
      case 0: turn({{"read_file", R"({"path":")" + file + R"("})", content}}); break;  // may repeat unchanged
      case 1: turn({{"bash", R"({"command":"ls src"})", "m1.py m2.py"}}); break;
      case 2: turn({{"write_file", R"({"path":")" + file + R"(","content":"x"})", "ok"}}); break;
      case 3: turn({{"bash", R"({"command":"pytest -q"})", std::to_string(pick(9)) + " passed"}}); break;
      default: turn({{"read_file", R"({"path":"README.md"})", "usage notes"}}); break;
    }
  }
  if (fails) turn({{"bash", R"({"command":"pytest -q"})", "FileNotFoundError: No such file or directory: conf.ini", true}});
  else turn({{"bash", R"({"command":"pytest -q"})", "12 passed"}});
  b.answer(fails ? "could not finish" : "done", context + 500);
  b.end();
  return b;
}

template <class F>
double median_ms(int runs, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoul(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {100, 1000};
  auto prices = pricing::PriceTable::builtin();
  if (!prices) {
    std::fprintf(stderr, "%s\n", prices.error().c_str());
    return 1;
  }
  for (size_t n : sizes) {
    std::mt19937_64 rng(20261127);
    std::vector<SpanTree> trees;
    for (size_t i = 0; i < n; ++i) trees.push_back(session(i, rng).tree());
    const int runs = n >= 1000 ? 3 : 5;
    std::vector<card::Card> cards;
    const double t_cards = median_ms(runs, [&] {
      cards.clear();
      for (const auto& t : trees) cards.push_back(card::compile(t, *prices));
    });
    costcraft::Distillation d;
    const double t_distill = median_ms(runs, [&] {
      costcraft::OfflineProposer proposer;
      d = std::move(costcraft::distill(cards, proposer, {"bench-skill", {}, {}}).value());
    });
    std::string skill, patches;
    const double t_write = median_ms(runs, [&] {
      skill = costcraft::skill_md(d);
      patches = costcraft::patches_yaml(d);
    });
    size_t steps = 0, admitted = 0, in_skill = 0;
    for (const auto& c : cards) steps += c.steps.size();
    for (const auto& p : d.patches) admitted += p.decision.admitted;
    for (const auto& r : d.rules) in_skill += r.in_skill;
    std::printf("%5zu cards (%zu steps): compile cards %8.1f ms (baseline); distill %8.1f ms (%.2fx); write %7.1f ms; "
                "%zu proposals, %zu admitted, %zu of %zu rules in SKILL.md (%zu tokens), patches.yaml %zu KB\n",
                n, steps, t_cards, t_distill, t_distill / t_cards, t_write, d.patches.size(), admitted, in_skill,
                d.rules.size(), d.skill_tokens, patches.size() / 1024);
  }
  return 0;
}
