// CostCraft's LLM proposer against the provider stand-in playing the model: good JSON is
// admitted like any proposal, malformed JSON is retried once then recorded as a rejected
// proposal with the reason, a 429 is retried, a timeout is a rejected proposal, a rerun is
// served from the cache, and under the no-cost ablation the prompt carries no cost.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "card.h"
#include "costcraft.h"
#include "e2e_support.h"
#include "import.h"
#include "llm_proposer.h"
#include "store.h"
#include "temp_dir.h"
#include "tree.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace clawtrace;

namespace {

constexpr const char* kRedundantRead = "faa43db0554c3ed3";  // the demo's second read of notes.md

const std::string kGood = json::serialize(json::object{
    {"patches", json::array{json::object{
                    {"type", "prune"},
                    {"rule", "Do not read a file again when it has not changed since the last read."},
                    {"root_cause", "the second read returned what the first had"},
                    {"targets", json::array{kRedundantRead}},
                    {"evidence", json::array{json::object{{"step", kRedundantRead}, {"excerpt", "read_file"}}}},
                    {"counterfactual", "removing the second read would not have broken success because the first "
                                       "read had returned the same content"},
                    {"est_savings_usd", 0.001},
                    {"skill_section", "Cost control"}}}}});

json::object rule(const std::string& name, json::object when, json::object reply) {
  return {{"name", name}, {"when", std::move(when)}, {"reply", std::move(reply)}};
}

class LlmProposerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::open(tmp_.path() / "store");
    ASSERT_TRUE(store);
    std::ifstream in(fs::path(CLAWTRACE_SOURCE_DIR) / "tests/compiler/golden/demo.jsonl");
    auto stats = import_jsonl(**store, in);
    ASSERT_TRUE(stats && stats->rejected == 0);
    auto prices = pricing::PriceTable::builtin();
    auto tree = load_span_tree(**store, "36f9ba5e7aa25885");
    ASSERT_TRUE(prices && tree);
    card_ = card::compile(*tree, *prices);
    card_.session.quality = 1.0;
  }

  void start(json::array rules) { ASSERT_TRUE(f_.start_standin(json::serialize(json::object{{"rules", std::move(rules)}}))); }

  Result<costcraft::Distillation> distill(const costcraft::Options& options = {}, long timeout_ms = 5000) {
    auto e = costcraft::endpoint_for(f_.http_url() + "/v1", "gpt-test");
    e.api_key = "k";
    e.cache_dir = tmp_.path() / "cache";
    e.backoff_ms = 10;
    e.timeout_ms = timeout_ms;
    e.max_attempts = 2;
    costcraft::LlmProposer proposer(e);
    return costcraft::distill({card_}, proposer, {"demo-skill", {}, options});
  }

  size_t requests() const { return f_.standin_log().size(); }

  e2e::Fixture f_;
  test::TempDir tmp_{"clawtrace-llm-proposer"};
  card::Card card_;
};

const costcraft::Reviewed* by_rule(const costcraft::Distillation& d, std::string_view text) {
  for (const auto& r : d.patches)
    if (r.patch.rule.find(text) != std::string::npos) return &r;
  return nullptr;
}

TEST_F(LlmProposerTest, GoodJsonIsAdmittedAndARerunIsServedFromTheCache) {
  start({rule("good", {{"api", "openai.chat"}}, {{"text", kGood}})});
  auto d = distill();
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->proposer, "llm:gpt-test");
  const auto* prune = by_rule(*d, "Do not read a file again");
  ASSERT_NE(prune, nullptr);
  EXPECT_TRUE(prune->decision.admitted) << prune->decision.reason;
  EXPECT_EQ(prune->patch.proposer, "llm:gpt-test");
  EXPECT_EQ(requests(), 1u);
  const std::string skill = costcraft::skill_md(*d);
  auto again = distill();
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(requests(), 1u) << "the rerun sent nothing";
  EXPECT_EQ(costcraft::skill_md(*again), skill);
}

TEST_F(LlmProposerTest, MalformedJsonIsRetriedOnceThenRejectedWithTheReason) {
  start({rule("prose", {{"api", "openai.chat"}}, {{"text", "Here are my ideas: read less."}})});
  auto d = distill();
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(requests(), 2u) << "one retry";
  ASSERT_EQ(d->patches.size(), 1u);
  EXPECT_FALSE(d->patches[0].decision.admitted);
  EXPECT_NE(d->patches[0].decision.reason.find("malformed model output, twice: the answer is not JSON"),
            std::string::npos)
      << d->patches[0].decision.reason;
}

TEST_F(LlmProposerTest, MalformedThenGoodIsAdmitted) {
  start({rule("wrong shape", {{"api", "openai.chat"}, {"nth", 1}}, {{"text", R"({"ideas": []})"}}),
         rule("good", {{"api", "openai.chat"}, {"nth", 2}}, {{"text", "```json\n" + kGood + "\n```"}})});
  auto d = distill();
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(requests(), 2u);
  const auto* prune = by_rule(*d, "Do not read a file again");
  ASSERT_NE(prune, nullptr);
  EXPECT_TRUE(prune->decision.admitted) << prune->decision.reason;
}

TEST_F(LlmProposerTest, A429IsRetried) {
  start({rule("busy", {{"api", "openai.chat"}, {"nth", 1}}, {{"status", 429}, {"retry_after", 0}}),
         rule("good", {{"api", "openai.chat"}, {"nth", 2}}, {{"text", kGood}})});
  auto d = distill();
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(requests(), 2u);
  ASSERT_NE(by_rule(*d, "Do not read a file again"), nullptr);
}

TEST_F(LlmProposerTest, ATimeoutIsARejectedProposal) {
  start({rule("slow", {{"api", "openai.chat"}}, {{"text", kGood}, {"chunk_size", 1}, {"delay_ms", 300}})});
  auto d = distill({}, 200);
  ASSERT_TRUE(d) << d.error();
  ASSERT_EQ(d->patches.size(), 1u);
  EXPECT_FALSE(d->patches[0].decision.admitted);
  EXPECT_NE(d->patches[0].decision.reason.find("the model gave no answer"), std::string::npos) << d->patches[0].decision.reason;
  EXPECT_NE(d->patches[0].decision.reason.find("imed out"), std::string::npos) << d->patches[0].decision.reason;
}

// The stand-in answers differently when the prompt carries a cost field.
TEST_F(LlmProposerTest, NoCostAblationSendsNoCostToTheModel) {
  const std::string saw_costs = json::serialize(json::object{
      {"patches", json::array{json::object{{"type", "preserve"}, {"rule", "The prompt carried costs."}}}}});
  start({rule("costs", {{"api", "openai.chat"}, {"any_user_contains", "cost_usd"}}, {{"text", saw_costs}}),
         rule("no costs", {{"api", "openai.chat"}}, {{"text", R"({"patches": []})"}})});
  costcraft::Options no_cost;
  no_cost.no_cost = true;
  auto blind = distill(no_cost);
  ASSERT_TRUE(blind) << blind.error();
  EXPECT_EQ(by_rule(*blind, "The prompt carried costs."), nullptr);
  auto seeing = distill();
  ASSERT_TRUE(seeing) << seeing.error();
  EXPECT_NE(by_rule(*seeing, "The prompt carried costs."), nullptr) << "the probe works";
}

TEST(ParsePatches, SaysWhatIsWrong) {
  EXPECT_FALSE(costcraft::parse_patches("[]"));
  EXPECT_NE(costcraft::parse_patches(R"({"patches": [{"type": "prune"}]})").error().find("patches[0] needs a string"),
            std::string::npos);
  auto ok = costcraft::parse_patches(R"(Sure! ```json
{"patches": [{"type": "repair", "rule": "r", "targets": ["a"], "evidence": [{"step": "a", "quote": "x"}]}]}
```)");
  ASSERT_TRUE(ok) << ok.error();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].evidence[0].excerpt, "x");
}

}  // namespace
