// The price table and the cost of one LLM exchange (SPEC §5). Prices come from a versioned
// table bundled into the library (compiler/data/prices.json), which a user file overrides.
// An unknown model has no cost (nullopt), never a cost of zero.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace clawtrace::pricing {

namespace detail {
struct TableAccess;
}

struct Rates {  // USD per token
  double input = 0, output = 0, cache_read = 0, cache_write_5m = 0, cache_write_1h = 0;
  std::optional<double> reasoning;  // when priced apart from output; else output's rate
};

// A request whose prompt (input + cache_read + cache_write) exceeds above_prompt_tokens pays
// these rates for ALL its tokens.
struct Tier {
  uint64_t above_prompt_tokens = 0;
  Rates rates;
};

struct ModelPrice {
  std::string model;     // the family name the table lists
  std::string provider;  // anthropic, openai, google, openrouter, ...
  Rates rates;
  std::vector<Tier> tiers;  // ascending
  std::string checked;      // date the price was checked, YYYY-MM-DD
  std::string source;       // where the figures came from (free text; may be empty)
};

// Billing classes as in event usage (SPEC §5). output includes reasoning; cache_write =
// 5m + 1h when split; an unsplit cache_write is billed at the 5-minute rate.
struct Tokens {
  int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, cache_write_5m = 0,
          cache_write_1h = 0, reasoning = 0;
};

struct Cost {
  double total = 0, input = 0, output = 0, cache_read = 0, cache_write = 0;
  const ModelPrice* price = nullptr;  // points into the table passed to cost()
  bool tiered = false;                // a long-context tier applied
};

class PriceTable {
 public:
  [[nodiscard]] static Result<PriceTable> builtin();  // the bundled table
  // Our format (see compiler/README.md). Errors name the file and the model/key.
  [[nodiscard]] static Result<PriceTable> load(const std::filesystem::path& file);
  // LiteLLM's model_prices_and_context_window.json (chat and responses modes only).
  [[nodiscard]] static Result<PriceTable> import_litellm(const std::filesystem::path& file);
  // Our format or a LiteLLM map, told apart by shape (what override files go through).
  [[nodiscard]] static Result<PriceTable> load_any(const std::filesystem::path& file);
  // Our format from memory; `name` stands for the file in error messages.
  [[nodiscard]] static Result<PriceTable> parse(std::string_view json, std::string_view name);

  void override_with(const PriceTable& other);  // other's entries win

  // Resolves dated snapshots (claude-sonnet-4-5-20250929, gpt-4o-2024-08-06), provider or
  // router prefixes (anthropic/…, openrouter/anthropic/…), Bedrock ids
  // (us.anthropic.claude-…-v1:0) and Vertex ids (…@20240620) to a family. An exact entry
  // wins over its family; a name is never matched by a mere prefix (gpt-4o-mini ≠ gpt-4o).
  const ModelPrice* find(std::string_view model) const;
  const std::string& version() const;  // "2026-11-27", "2026-11-27+<override version>"…
  const std::map<std::string, ModelPrice>& models() const { return models_; }

 private:
  friend struct detail::TableAccess;
  const ModelPrice* exact(std::string_view name) const;

  std::map<std::string, ModelPrice> models_;  // node-based: ModelPrice pointers stay valid
  std::string version_;
};

// nullopt: unknown model.
std::optional<Cost> cost(const PriceTable& t, std::string_view model, const Tokens& tokens);

// The default override file: $CLAWTRACE_PRICES, else $XDG_CONFIG_HOME/clawtrace/prices.json,
// else ~/.config/clawtrace/prices.json (nullopt when none can be named).
std::optional<std::filesystem::path> default_prices_file();

// builtin, then the default override file if it exists (a $CLAWTRACE_PRICES naming a missing
// file is an error), then `cli_file` if given; each later one wins.
[[nodiscard]] Result<PriceTable> load_prices(const std::optional<std::filesystem::path>& cli_file);

}  // namespace clawtrace::pricing
