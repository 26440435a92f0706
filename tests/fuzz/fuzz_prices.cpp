// The price-file readers (compiler/pricing*.cpp) on arbitrary bytes: our format and
// LiteLLM's map, as a user's override file reaches them. Never crash; an accepted table has
// only finite, non-negative rates and ascending tiers, finds each of its own models, and
// prices any token counts at a non-negative cost whose parts add up to the total.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "pricing.h"
#include "pricing_detail.h"

namespace {

using clawtrace::pricing::PriceTable;
using clawtrace::pricing::Rates;

bool sane(double rate) { return std::isfinite(rate) && rate >= 0; }

void check_rates(const Rates& r) {
  fuzz::check(sane(r.input) && sane(r.output) && sane(r.cache_read) && sane(r.cache_write_5m) && sane(r.cache_write_1h),
              "rates are finite and non-negative");
  fuzz::check(!r.reasoning || sane(*r.reasoning), "the reasoning rate is finite and non-negative");
}

void check_cost(const PriceTable& table, const std::string& model, int64_t scale) {
  clawtrace::pricing::Tokens t;
  t.input = 3 * scale;
  t.output = 5 * scale;
  t.cache_read = 7 * scale;
  t.cache_write_5m = 2 * scale;
  t.cache_write_1h = scale;
  t.cache_write = t.cache_write_5m + t.cache_write_1h;
  t.reasoning = scale;
  auto c = clawtrace::pricing::cost(table, model, t);
  fuzz::check(c.has_value(), "a listed model is priced");
  // Absurd but finite rates may overflow to infinity; never to NaN or below zero.
  fuzz::check(!std::isnan(c->total) && c->total >= 0, "a cost is a non-negative number");
  if (std::isinf(c->total)) return;
  const double parts = c->input + c->output + c->cache_read + c->cache_write;
  fuzz::check(std::fabs(parts - c->total) <= 1e-9 * std::max(1.0, std::fabs(c->total)), "the parts add up to the total");
}

void check_table(const PriceTable& table) {
  for (const auto& [name, price] : table.models()) {
    check_rates(price.rates);
    uint64_t above = 0;
    for (size_t i = 0; i < price.tiers.size(); ++i) {
      check_rates(price.tiers[i].rates);
      fuzz::check(i == 0 || price.tiers[i].above_prompt_tokens > above, "tiers ascend");
      above = price.tiers[i].above_prompt_tokens;
    }
    fuzz::check(table.find(name) != nullptr, "a table finds its own models");
    check_cost(table, name, 1);
    check_cost(table, name, 1'000'000);  // past any tier threshold the input could name
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto ours = PriceTable::parse(text, "fuzz.json")) {
    check_table(ours.value());
  } else {
    fuzz::check(!ours.error().empty(), "a rejected table says why");
  }
  auto doc = clawtrace::pricing::detail::parse_json(text, "fuzz.json");
  if (doc && clawtrace::pricing::detail::looks_like_litellm(doc.value())) {
    if (auto litellm = clawtrace::pricing::detail::from_litellm(doc.value(), "fuzz.json")) check_table(litellm.value());
  }
  return 0;
}
