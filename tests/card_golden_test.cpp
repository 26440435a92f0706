// Golden TraceCards: events in (tests/compiler/golden/NAME.jsonl, imported into a real
// store), YAML out, compared byte for byte with NAME.card.yaml and NAME.nocost.yaml; a
// mismatch prints `diff -u golden actual`. CLAWTRACE_UPDATE_GOLDEN=1 rewrites the goldens
// (review the diff before committing). Prices come from the fixture's own price file, so
// an update of the bundled table does not churn the goldens.
//   demo  the `clawtrace demo` session: a sub-agent process, a redundant read
//   edge  names and texts YAML could misread (booleans, nulls, numbers, indicators,
//         control characters, non-ASCII), an unpriced model, errors, OpenAI usage
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "card.h"
#include "import.h"
#include "store.h"
#include "files.h"
#include "temp_dir.h"
#include "tree.h"

namespace fs = std::filesystem;
using namespace clawtrace;

namespace {

const fs::path kGolden = fs::path(CLAWTRACE_COMPILER_FIXTURES) / "golden";

using test::slurp;
using test::spit;

std::string diff_u(const fs::path& golden, const fs::path& actual) {
  std::string out, cmd = "diff -u '" + golden.string() + "' '" + actual.string() + "' 2>&1";
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    pclose(p);
  }
  return out;
}

class CardGolden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto prices = pricing::PriceTable::load(kGolden / "prices.json");
    ASSERT_TRUE(prices) << prices.error();
    prices_ = std::move(*prices);
    auto store = Store::open(tmp_.path() / "store");
    ASSERT_TRUE(store) << store.error();
    std::ifstream in(kGolden / (GetParam() + ".jsonl"));
    ASSERT_TRUE(in) << "missing fixture " << GetParam();
    ImportOptions options;
    options.source = GetParam() + ".jsonl";
    auto stats = import_jsonl(**store, in, options);
    ASSERT_TRUE(stats) << stats.error();
    ASSERT_EQ(stats->rejected, 0u) << (stats->problems.empty() ? "" : stats->problems.front());
    auto sessions = (*store)->sessions();
    ASSERT_TRUE(sessions && !sessions->empty());
    auto tree = load_span_tree(**store, sessions->front().id);  // the root starts first
    ASSERT_TRUE(tree) << tree.error();
    card_ = card::compile(*tree, prices_);
  }

  void expect_golden(const std::string& suffix, const std::string& actual) {
    const fs::path golden = kGolden / (GetParam() + suffix);
    if (const char* u = std::getenv("CLAWTRACE_UPDATE_GOLDEN"); u && *u == '1') spit(golden, actual);
    const fs::path out = tmp_.path() / (GetParam() + suffix);
    spit(out, actual);
    EXPECT_TRUE(actual == slurp(golden)) << diff_u(golden, out);
  }

  test::TempDir tmp_{"clawtrace-golden"};
  pricing::PriceTable prices_;
  card::Card card_;
};

TEST_P(CardGolden, CardMatchesGolden) { expect_golden(".card.yaml", card::to_yaml(card_, {})); }

TEST_P(CardGolden, NoCostCardMatchesGolden) { expect_golden(".nocost.yaml", card::to_yaml(card_, {.top = 10, .no_cost = true})); }

// Whatever the writer quotes or not, a YAML parser reads back exactly the card's strings
// and numbers.
TEST_P(CardGolden, YamlReadsBackTheCard) {
  const YAML::Node y = YAML::Load(card::to_yaml(card_, {}));
  EXPECT_EQ(y["session"]["name"].as<std::string>(), card_.session.name);
  EXPECT_EQ(y["totals"]["cost_usd"].as<double>(), card_.cost_usd);
  ASSERT_EQ(y["steps"].size(), card_.steps.size());
  for (size_t i = 0; i < card_.steps.size(); ++i) {
    const YAML::Node s = y["steps"][i];
    const card::Step& want = card_.steps[i];
    SCOPED_TRACE(want.id);
    EXPECT_EQ(s["id"].as<std::string>(), want.id);
    EXPECT_EQ(s["parent"].as<std::string>(), want.parent);
    EXPECT_EQ(s["name"].as<std::string>(), want.name);
    EXPECT_EQ(s["args"] ? s["args"].as<std::string>() : "", want.args);
    EXPECT_EQ(s["result"] ? s["result"].as<std::string>() : "", want.result);
    EXPECT_EQ(s["error"] ? s["error"].as<std::string>() : "", want.error);
    EXPECT_NEAR(s["cost_usd"].as<double>(), want.cost_usd, 1e-15 + want.cost_usd * 1e-14);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CardGolden, ::testing::Values("demo", "edge"));

}  // namespace
