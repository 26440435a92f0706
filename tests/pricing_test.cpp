// The price table and cost computation (compiler/pricing.h). Expected figures are worked
// out by hand from the published per-million prices.
#include "pricing.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using namespace clawtrace::pricing;

namespace {

// Exact to 1e-12 relative.
void expect_usd(double actual, double expected) {
  EXPECT_NEAR(actual, expected, std::abs(expected) * 1e-12) << "expected " << expected;
}

const PriceTable& builtin_table() {
  static const PriceTable table = [] {
    auto t = PriceTable::builtin();
    if (!t) ADD_FAILURE() << t.error();
    return t.ok() ? t.value() : PriceTable{};
  }();
  return table;
}

Cost priced(std::string_view model, const Tokens& tokens, const PriceTable& t = builtin_table()) {
  auto c = cost(t, model, tokens);
  if (!c) ADD_FAILURE() << "no price for " << model;
  return c.value_or(Cost{});
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "pricing-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? fs::path(tmpl) : fs::path();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sets (or with nullptr unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string one_model_file(const std::string& version, double gpt4o_input) {
  return R"({"version": ")" + version + R"(", "models": {"gpt-4o": {"provider": "openai", "input": )" +
         std::to_string(gpt4o_input) + R"(, "output": 10.0}}})";
}

}  // namespace

// --- costs ---------------------------------------------------------------------------------

TEST(PricingCost, AnthropicCacheWrites5mAnd1hAtTheirOwnRates) {
  Tokens t;
  t.input = 1000;
  t.cache_read = 10000;
  t.cache_write_5m = 2000;
  t.cache_write_1h = 3000;
  t.cache_write = 5000;
  t.output = 500;
  const Cost c = priced("claude-sonnet-4-5", t);
  expect_usd(c.input, 0.003);         // 1000 × $3/M
  expect_usd(c.cache_read, 0.003);    // 10000 × $0.30/M
  expect_usd(c.cache_write, 0.0255);  // 2000 × $3.75/M + 3000 × $6/M
  expect_usd(c.output, 0.0075);       // 500 × $15/M
  expect_usd(c.total, 0.039);
  EXPECT_FALSE(c.tiered);
  ASSERT_NE(c.price, nullptr);
  EXPECT_EQ(c.price->model, "claude-sonnet-4-5");
}

TEST(PricingCost, OneHourWriteCostsTwiceInputFiveMinuteOneAndAQuarter) {
  Tokens five, hour;
  five.cache_write_5m = five.cache_write = 1'000'000;
  hour.cache_write_1h = hour.cache_write = 1'000'000;
  expect_usd(priced("claude-opus-4-1", five).cache_write, 18.75);  // 1.25 × $15
  expect_usd(priced("claude-opus-4-1", hour).cache_write, 30.0);   // 2 × $15
  expect_usd(priced("claude-haiku-4-5", hour).cache_write, 2.0);   // 2 × $1
}

TEST(PricingCost, UnsplitCacheWriteAtTheFiveMinuteRate) {
  Tokens t;
  t.cache_write = 4000;
  expect_usd(priced("claude-sonnet-4-5", t).cache_write, 0.015);  // 4000 × $3.75/M
  t.cache_write_1h = 1000;  // the split names 1000 of the 5000; the rest is unsplit
  t.cache_write = 5000;
  expect_usd(priced("claude-sonnet-4-5", t).cache_write, 0.021);  // 1000 × $6/M + 4000 × $3.75/M
}

TEST(PricingCost, OpenAICachedTokensBilledOnceAtTheCachedRate) {
  // prompt_tokens 1000 of which cached_tokens 400: usage has input 600, cache_read 400.
  Tokens t;
  t.input = 600;
  t.cache_read = 400;
  t.output = 200;
  const Cost c = priced("gpt-4o", t);
  expect_usd(c.input, 0.0015);       // 600 × $2.50/M
  expect_usd(c.cache_read, 0.0005);  // 400 × $1.25/M
  expect_usd(c.output, 0.002);       // 200 × $10/M
  expect_usd(c.total, 0.004);
  expect_usd(c.cache_write, 0.0);
}

TEST(PricingCost, ReasoningAtTheOutputRateUnlessPricedApart) {
  Tokens t;
  t.output = 1000;  // includes 800 reasoning
  t.reasoning = 800;
  expect_usd(priced("o3", t).output, 0.008);  // all 1000 × $8/M

  auto table = PriceTable::parse(
      R"({"version": "t", "models": {"thinker": {"input": 1, "output": 4, "reasoning": 10}}})", "t.json");
  ASSERT_TRUE(table.ok()) << table.error();
  t.reasoning = 300;
  // 700 visible × $4/M + 300 reasoning × $10/M
  expect_usd(priced("thinker", t, table.value()).output, 0.0058);
  expect_usd(priced("thinker", t, table.value()).total, 0.0058);
}

TEST(PricingCost, ReasoningIsNeverLeftOut) {
  // Inconsistent usage (reasoning above output) bills the reasoning rather than drop it.
  Tokens t;
  t.output = 100;
  t.reasoning = 500;
  expect_usd(priced("o3", t).output, 0.004);  // 500 × $8/M
}

TEST(PricingCost, GeminiTierAbove200kAppliesToAllTokensAndCountsCachedOnes) {
  Tokens t;
  t.input = 150'000;
  t.cache_read = 60'000;  // 210,000 prompt tokens: over the threshold only with the cached ones
  t.output = 1000;
  Cost c = priced("gemini-2.5-pro", t);
  EXPECT_TRUE(c.tiered);
  expect_usd(c.input, 0.375);       // 150,000 × $2.50/M
  expect_usd(c.cache_read, 0.015);  // 60,000 × $0.25/M
  expect_usd(c.output, 0.015);      // 1000 × $15/M
  expect_usd(c.total, 0.405);

  t.input = 140'000;  // exactly 200,000: not above
  c = priced("gemini-2.5-pro", t);
  EXPECT_FALSE(c.tiered);
  expect_usd(c.input, 0.175);        // 140,000 × $1.25/M
  expect_usd(c.cache_read, 0.0075);  // 60,000 × $0.125/M
  expect_usd(c.output, 0.01);        // 1000 × $10/M
  expect_usd(c.total, 0.1925);
}

TEST(PricingCost, AnthropicTierCountsCacheWritesTowardsTheThreshold) {
  Tokens t;
  t.input = 1000;
  t.cache_write_1h = t.cache_write = 199'500;
  t.output = 100;
  const Cost c = priced("claude-sonnet-4-5", t);
  EXPECT_TRUE(c.tiered);
  expect_usd(c.input, 0.006);         // 1000 × $6/M
  expect_usd(c.cache_write, 2.394);   // 199,500 × $12/M
  expect_usd(c.output, 0.00225);      // 100 × $22.50/M
  expect_usd(c.total, 2.40225);
}

TEST(PricingCost, UnknownModelHasNoCost) {
  Tokens t;
  t.input = 10;
  EXPECT_FALSE(cost(builtin_table(), "gpt-99", t).has_value());
  EXPECT_FALSE(cost(builtin_table(), "", t).has_value());
  EXPECT_FALSE(cost(PriceTable{}, "gpt-4o", t).has_value());
}

TEST(PricingCost, NegativeCountsCountAsZero) {
  Tokens t;
  t.input = -5;
  t.output = 100;
  const Cost c = priced("gpt-4o", t);
  expect_usd(c.input, 0.0);
  expect_usd(c.total, 0.001);
}

// --- name resolution -----------------------------------------------------------------------

TEST(PricingFind, SnapshotsAndPrefixesResolveToTheirFamily) {
  const std::pair<const char*, const char*> cases[] = {
      {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
      {"anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"},
      {"openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"},
      {"Claude-Sonnet-4-5", "claude-sonnet-4-5"},
      {"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
      {"anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"},
      {"claude-3-5-sonnet@20240620", "claude-3-5-sonnet"},
      {"claude-sonnet-4-20250514", "claude-sonnet-4"},
      {"claude-opus-4-1-20250805", "claude-opus-4-1"},
      {"claude-3-5-sonnet-latest", "claude-3-5-sonnet"},
      {"openrouter/openai/gpt-4o", "gpt-4o"},
      {"gpt-4o-2024-08-06", "gpt-4o"},
      {"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
      {"o3-mini-2025-01-31", "o3-mini"},
      {"models/gemini-2.5-pro", "gemini-2.5-pro"},
      {"openrouter/deepseek/deepseek-chat-v3.1", "deepseek/deepseek-chat-v3.1"},
  };
  for (const auto& [id, family] : cases) {
    const ModelPrice* p = builtin_table().find(id);
    ASSERT_NE(p, nullptr) << id;
    EXPECT_EQ(p->model, family) << id;
  }
}

TEST(PricingFind, AnExactSnapshotEntryWinsOverItsFamily) {
  const ModelPrice* p = builtin_table().find("gpt-4o-2024-05-13");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->model, "gpt-4o-2024-05-13");
  expect_usd(p->rates.input, 5e-6);
  const ModelPrice* r1 = builtin_table().find("openrouter/deepseek/deepseek-r1-0528");
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->model, "deepseek/deepseek-r1-0528");
}

TEST(PricingFind, NoMatchByMerePrefix) {
  const PriceTable& t = builtin_table();
  ASSERT_NE(t.find("gpt-4o-mini"), nullptr);
  EXPECT_EQ(t.find("gpt-4o-mini")->model, "gpt-4o-mini");
  EXPECT_EQ(t.find("gpt-5-mini")->model, "gpt-5-mini");
  for (const char* unknown : {"gpt-99", "gpt-4o-turbo", "claude-sonnet-4-7", "gemini-2.5-pro-exp",
                              "openrouter/deepseek/deepseek-chat-v3.1:free", "o3x", "gpt"})
    EXPECT_EQ(t.find(unknown), nullptr) << unknown;
}

// --- the bundled table ---------------------------------------------------------------------

TEST(PricingBuiltin, MatchesTheDataFileAndCoversTheMainFamilies) {
  const PriceTable& t = builtin_table();
  auto on_disk = PriceTable::load(fs::path(CLAWTRACE_SOURCE_DIR) / "compiler/data/prices.json");
  ASSERT_TRUE(on_disk.ok()) << on_disk.error();
  EXPECT_EQ(t.version(), on_disk->version());
  EXPECT_EQ(t.models().size(), on_disk->models().size());
  for (const char* family : {"claude-opus-4-8", "claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5",
                             "claude-3-7-sonnet", "claude-3-5-haiku", "gpt-5", "gpt-5-mini", "gpt-4.1",
                             "gpt-4o", "gpt-4o-mini", "o3", "o4-mini", "gemini-2.5-pro",
                             "gemini-2.5-flash", "gemini-2.5-flash-lite"})
    EXPECT_NE(t.find(family), nullptr) << family;
}

TEST(PricingBuiltin, EveryEntryIsDatedAndSourced) {
  for (const auto& [name, p] : builtin_table().models()) {
    EXPECT_EQ(p.checked.size(), 10u) << name;
    EXPECT_FALSE(p.provider.empty()) << name;
    EXPECT_FALSE(p.source.empty()) << name;
    EXPECT_GT(p.rates.input, 0) << name;
    EXPECT_GT(p.rates.output, 0) << name;
  }
}

TEST(PricingBuiltin, AnthropicCacheRatesFollowTheInputRate) {
  for (const auto& [name, p] : builtin_table().models()) {
    if (p.provider != "anthropic") continue;
    std::vector<const Rates*> all{&p.rates};
    for (const Tier& tier : p.tiers) all.push_back(&tier.rates);
    for (const Rates* r : all) {
      expect_usd(r->cache_write_5m, 1.25 * r->input);
      expect_usd(r->cache_write_1h, 2.0 * r->input);
      expect_usd(r->cache_read, 0.1 * r->input);
    }
  }
}

// --- overrides -----------------------------------------------------------------------------

TEST(PricingOverride, LaterEntriesWinOthersStay) {
  auto user = PriceTable::parse(R"({"version": "mine", "models": {
      "gpt-4o": {"input": 1.0, "output": 2.0},
      "my-local-model": {"provider": "vllm", "input": 0.5, "output": 0.5}}})", "mine.json");
  ASSERT_TRUE(user.ok()) << user.error();
  PriceTable t = builtin_table();
  t.override_with(user.value());
  expect_usd(t.find("gpt-4o-2024-08-06")->rates.input, 1e-6);
  expect_usd(t.find("gpt-4o-mini")->rates.input, 0.15e-6);
  ASSERT_NE(t.find("my-local-model"), nullptr);
  EXPECT_EQ(t.version(), builtin_table().version() + "+mine");
}

TEST(PricingOverride, BuiltinThenDefaultFileThenCommandLine) {
  TempDir dir;
  const fs::path xdg = dir.path() / "config";
  dir.write("config/clawtrace/prices.json", one_model_file("xdg", 1.0));
  const fs::path named = dir.write("named.json", one_model_file("named", 2.0));
  const fs::path cli = dir.write("cli.json", one_model_file("cli", 3.0));
  ScopedEnv xdg_env("XDG_CONFIG_HOME", xdg.c_str());
  ScopedEnv no_named("CLAWTRACE_PRICES", nullptr);

  auto only_default = load_prices(std::nullopt);
  ASSERT_TRUE(only_default.ok()) << only_default.error();
  expect_usd(only_default->find("gpt-4o")->rates.input, 1e-6);
  EXPECT_NE(only_default->find("claude-sonnet-4-5"), nullptr);  // builtin still there

  auto with_cli = load_prices(cli);
  ASSERT_TRUE(with_cli.ok()) << with_cli.error();
  expect_usd(with_cli->find("gpt-4o")->rates.input, 3e-6);
  EXPECT_EQ(with_cli->version(), builtin_table().version() + "+xdg+cli");

  ScopedEnv named_env("CLAWTRACE_PRICES", named.c_str());  // wins over the XDG file
  auto with_named = load_prices(std::nullopt);
  ASSERT_TRUE(with_named.ok()) << with_named.error();
  expect_usd(with_named->find("gpt-4o")->rates.input, 2e-6);
  EXPECT_EQ(with_named->version(), builtin_table().version() + "+named");
}

TEST(PricingOverride, MissingDefaultFileIsFineMissingNamedFileIsNot) {
  TempDir dir;
  ScopedEnv xdg_env("XDG_CONFIG_HOME", dir.path().c_str());
  ScopedEnv no_named("CLAWTRACE_PRICES", nullptr);
  auto plain = load_prices(std::nullopt);
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_EQ(plain->version(), builtin_table().version());

  const fs::path missing = dir.path() / "nope.json";
  auto cli = load_prices(missing);
  ASSERT_FALSE(cli.ok());
  EXPECT_EQ(cli.error().rfind(missing.string() + ": cannot read", 0), 0u) << cli.error();

  ScopedEnv named("CLAWTRACE_PRICES", missing.c_str());
  auto env_missing = load_prices(std::nullopt);
  ASSERT_FALSE(env_missing.ok());
  EXPECT_EQ(env_missing.error().rfind(missing.string() + ": cannot read", 0), 0u) << env_missing.error();
}

TEST(PricingOverride, HomeConfigWhenNoXdg) {
  TempDir dir;
  dir.write(".config/clawtrace/prices.json", one_model_file("home", 4.0));
  ScopedEnv home("HOME", dir.path().c_str());
  ScopedEnv no_xdg("XDG_CONFIG_HOME", nullptr);
  ScopedEnv no_named("CLAWTRACE_PRICES", nullptr);
  auto t = load_prices(std::nullopt);
  ASSERT_TRUE(t.ok()) << t.error();
  expect_usd(t->find("gpt-4o")->rates.input, 4e-6);
}

// --- LiteLLM import ------------------------------------------------------------------------

TEST(PricingLiteLLM, ImportsChatModelsWithTiersAndCacheRates) {
  const fs::path fixture = fs::path(CLAWTRACE_COMPILER_FIXTURES) / "litellm_small.json";
  auto t = PriceTable::import_litellm(fixture);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->version(), "litellm:litellm_small.json");

  const ModelPrice* sonnet = t->find("claude-sonnet-4-5-20250929");
  ASSERT_NE(sonnet, nullptr);
  EXPECT_EQ(sonnet->provider, "anthropic");
  expect_usd(sonnet->rates.cache_write_5m, 3.75e-6);
  expect_usd(sonnet->rates.cache_write_1h, 6e-6);
  ASSERT_EQ(sonnet->tiers.size(), 1u);
  EXPECT_EQ(sonnet->tiers[0].above_prompt_tokens, 200'000u);
  expect_usd(sonnet->tiers[0].rates.input, 6e-6);
  expect_usd(sonnet->tiers[0].rates.output, 22.5e-6);
  expect_usd(sonnet->tiers[0].rates.cache_read, 0.6e-6);
  expect_usd(sonnet->tiers[0].rates.cache_write_5m, 7.5e-6);
  expect_usd(sonnet->tiers[0].rates.cache_write_1h, 12e-6);

  const ModelPrice* gpt = t->find("gpt-5.4");
  ASSERT_NE(gpt, nullptr);
  ASSERT_EQ(gpt->tiers.size(), 1u);  // the _priority variants are not a tier
  EXPECT_EQ(gpt->tiers[0].above_prompt_tokens, 272'000u);
  expect_usd(gpt->tiers[0].rates.cache_read, 0.5e-6);
  expect_usd(gpt->rates.cache_write_5m, 2.5e-6);  // no write surcharge listed: the input rate

  ASSERT_NE(t->find("o3-pro"), nullptr);  // responses mode is a chat model
  const ModelPrice* think = t->find("gemini-think");
  ASSERT_NE(think, nullptr);
  ASSERT_TRUE(think->rates.reasoning.has_value());
  expect_usd(*think->rates.reasoning, 7e-6);
  const ModelPrice* ds = t->find("openrouter/deepseek/deepseek-chat-v3.1");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->model, "openrouter/deepseek/deepseek-chat-v3.1");
  expect_usd(ds->rates.cache_read, 0.02e-6);

  EXPECT_EQ(t->find("sample_spec"), nullptr);
  EXPECT_EQ(t->find("text-embedding-3-small"), nullptr);
  EXPECT_EQ(t->find("dall-e-3"), nullptr);
  EXPECT_EQ(t->find("half-priced-chat"), nullptr);  // no output price: not guessed
  EXPECT_EQ(t->models().size(), 5u);

  Tokens tokens;
  tokens.input = 300'000;
  tokens.output = 10;
  const Cost c = priced("gpt-5.4", tokens, t.value());
  EXPECT_TRUE(c.tiered);
  expect_usd(c.total, 1.500225);  // 300,000 × $5/M + 10 × $22.50/M
}

TEST(PricingLiteLLM, OverrideFilesAreRecognisedByShape) {
  auto t = PriceTable::load_any(fs::path(CLAWTRACE_COMPILER_FIXTURES) / "litellm_small.json");
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_NE(t->find("gpt-5.4"), nullptr);
  TempDir dir;
  auto ours = PriceTable::load_any(dir.write("p.json", one_model_file("ours", 1.0)));
  ASSERT_TRUE(ours.ok()) << ours.error();
  EXPECT_EQ(ours->version(), "ours");
}

TEST(PricingLiteLLM, BadValuesAreErrors) {
  TempDir dir;
  const fs::path f = dir.write("map.json", R"({"m": {"mode": "chat", "input_cost_per_token": "0.1",
                                                     "output_cost_per_token": 1e-6}})");
  auto t = PriceTable::import_litellm(f);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error(), f.string() + ": model \"m\": \"input_cost_per_token\" must be a number, not a string");

  const fs::path empty = dir.write("empty.json", R"({"sample_spec": {}})");
  auto none = PriceTable::import_litellm(empty);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), empty.string() + ": no chat model with input and output prices");
}

// --- our format's errors -------------------------------------------------------------------

struct BadFile {
  const char* name;
  const char* json;
  const char* error;  // after "<file>: "
};

void PrintTo(const BadFile& bad, std::ostream* os) { *os << bad.name; }

class PricingErrors : public testing::TestWithParam<BadFile> {};

TEST_P(PricingErrors, NameTheFileAndTheKey) {
  TempDir dir;
  const fs::path f = dir.write("prices.json", GetParam().json);
  auto t = PriceTable::load(f);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error(), f.string() + ": " + GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    BadFiles, PricingErrors,
    testing::Values(
        BadFile{"UnknownField", R"({"version": "1", "models": {"gpt-4o": {"inptu": 2.5, "output": 10}}})",
                R"(model "gpt-4o": "inptu" is not a known field)"},
        BadFile{"StringPrice", R"({"version": "1", "models": {"gpt-4o": {"input": "2.5", "output": 10}}})",
                R"(model "gpt-4o": "input" must be a number (USD per million tokens), not a string)"},
        BadFile{"NegativePrice", R"({"version": "1", "models": {"gpt-4o": {"input": 2.5, "output": -10}}})",
                R"(model "gpt-4o": "output" must not be negative)"},
        BadFile{"MissingInput", R"({"version": "1", "models": {"gpt-4o": {"output": 10}}})",
                R"(model "gpt-4o": "input" is required)"},
        BadFile{"TierOrder", R"({"version": "1", "models": {"m": {"input": 1, "output": 2, "tiers": [
                  {"above_prompt_tokens": 272000, "input": 2},
                  {"above_prompt_tokens": 200000, "input": 3}]}}})",
                R"(model "m": tiers must be in ascending order of above_prompt_tokens (200000 after 272000))"},
        BadFile{"TierUnknownField", R"({"version": "1", "models": {"m": {"input": 1, "output": 2, "tiers": [
                  {"above_prompt_tokens": 200000, "ouptut": 3}]}}})",
                R"(model "m": tier 1: "ouptut" is not a known field)"},
        BadFile{"FractionalThreshold", R"({"version": "1", "models": {"m": {"input": 1, "output": 2, "tiers": [
                  {"above_prompt_tokens": 2.5e5, "input": 3}]}}})",
                R"(model "m": tier 1: "above_prompt_tokens" must be a whole number of tokens)"},
        BadFile{"TiersNotArray", R"({"version": "1", "models": {"m": {"input": 1, "output": 2, "tiers": {}}}})",
                R"(model "m": "tiers" must be an array, not an object)"},
        BadFile{"BadDate", R"({"version": "1", "models": {"m": {"input": 1, "output": 2, "checked": "yesterday"}}})",
                R"(model "m": "checked" must be a date YYYY-MM-DD, not "yesterday")"},
        BadFile{"ModelNotObject", R"({"version": "1", "models": {"m": 3}})", R"(model "m": must be an object, not a number)"},
        BadFile{"UnknownTopLevel", R"({"version": "1", "modles": {}})", R"("modles" is not a known top-level field)"},
        BadFile{"NoVersion", R"({"models": {}})", R"("version" is required)"},
        BadFile{"NoModels", R"({"version": "1"})", R"("models" is required)"},
        BadFile{"NotAnObject", R"([1, 2])", R"(expected an object with "version" and "models")"},
        BadFile{"ListedTwice", R"({"version": "1", "models": {"M": {"input": 1, "output": 2},
                                                 "m": {"input": 1, "output": 2}}})",
                R"(model "m": listed twice)"}),
    [](const testing::TestParamInfo<BadFile>& param_info) { return std::string(param_info.param.name); });

TEST(PricingErrorsFile, InvalidJsonAndMissingFile) {
  TempDir dir;
  const fs::path f = dir.write("prices.json", R"({"version": "1", "models": {)");
  auto t = PriceTable::load(f);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().rfind(f.string() + ": not valid JSON: ", 0), 0u) << t.error();

  auto missing = PriceTable::load(dir.path() / "absent.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().rfind((dir.path() / "absent.json").string() + ": cannot read: ", 0), 0u)
      << missing.error();
}
