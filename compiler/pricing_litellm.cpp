// LiteLLM's model_prices_and_context_window.json: per-token prices, keyed by model id
// (provider-prefixed ids included), with `*_above_<N>k_tokens` long-context rates.
#include <cmath>
#include <optional>

#include "pricing_detail.h"

namespace clawtrace::pricing::detail {

namespace json = boost::json;

namespace {

// The LiteLLM base keys we price, and where each goes.
std::optional<double>* slot_for(GivenRates& g, std::string_view base) {
  if (base == "input_cost_per_token") return &g.input;
  if (base == "output_cost_per_token") return &g.output;
  if (base == "cache_read_input_token_cost") return &g.cache_read;
  if (base == "input_cost_per_token_cache_hit") return &g.cache_read;  // DeepSeek's name for it
  if (base == "cache_creation_input_token_cost") return &g.cache_write_5m;
  if (base == "cache_creation_input_token_cost_above_1hr") return &g.cache_write_1h;
  if (base == "output_cost_per_reasoning_token") return &g.reasoning;
  return nullptr;
}

// "input_cost_per_token_above_200k_tokens" → base "input_cost_per_token", 200000.
std::optional<std::pair<std::string_view, uint64_t>> split_tier_key(std::string_view key) {
  constexpr std::string_view kEnd = "k_tokens";
  if (key.size() <= kEnd.size() || key.substr(key.size() - kEnd.size()) != kEnd) return std::nullopt;
  const std::string_view head = key.substr(0, key.size() - kEnd.size());
  const size_t at = head.rfind("_above_");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view digits = head.substr(at + 7);
  if (digits.empty() || digits.size() > 6) return std::nullopt;
  uint64_t thousands = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    thousands = thousands * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::make_pair(head.substr(0, at), thousands * 1000);
}

Result<std::optional<double>> price(const json::value& v, std::string_view key, const std::string& where) {
  if (v.is_null()) return std::optional<double>{};
  if (!v.is_number()) return fail(where + "\"" + std::string(key) + "\" must be a number, not " + kind_name(v));
  json::error_code ec;
  const double d = v.to_number<double>(ec);
  if (ec || !std::isfinite(d) || d < 0)
    return fail(where + "\"" + std::string(key) + "\" must be a non-negative number");
  return std::optional<double>(d);
}

bool is_chat(const json::object& entry) {
  const json::value* mode = entry.if_contains("mode");
  if (!mode || !mode->is_string()) return false;
  return mode->get_string() == "chat" || mode->get_string() == "responses";
}

std::string provider_of(const json::object& entry) {
  const json::value* p = entry.if_contains("litellm_provider");
  return p && p->is_string() ? std::string(p->get_string()) : std::string();
}

// nullopt: not a priced chat model (skipped, not an error).
Result<std::optional<ModelPrice>> read_entry(const std::string& model, const json::object& entry,
                                             const std::string& where) {
  if (!is_chat(entry)) return std::optional<ModelPrice>{};
  GivenRates base;
  std::map<uint64_t, GivenRates> tiers;
  for (const auto& [key, field] : entry) {
    std::string_view k = key;
    GivenRates* target = &base;
    if (auto tier = split_tier_key(k)) {
      k = tier->first;
      target = &tiers[tier->second];
    }
    std::optional<double>* slot = slot_for(*target, k);
    if (!slot) continue;
    auto p = price(field, key, where);
    if (!p) return fail(p.error());
    *slot = p.value();
  }
  if (!base.input || !base.output) return std::optional<ModelPrice>{};
  ModelPrice out;
  out.model = model;
  out.provider = provider_of(entry);
  out.rates = complete(base);
  for (const auto& [above, given] : tiers) out.tiers.push_back(Tier{above, overlay(out.rates, given)});
  out.source = "litellm " + model;
  return std::optional<ModelPrice>(std::move(out));
}

}  // namespace

bool looks_like_litellm(const json::value& doc) {
  if (!doc.is_object()) return false;
  const json::object& o = doc.get_object();
  if (o.contains("sample_spec")) return true;
  if (o.contains("models") || o.contains("version")) return false;
  for (const auto& [key, entry] : o)
    if (entry.is_object() && entry.get_object().contains("input_cost_per_token")) return true;
  return false;
}

Result<PriceTable> from_litellm(const json::value& doc, const std::string& name) {
  if (!doc.is_object()) return fail(name + ": expected a LiteLLM price map (an object of models)");
  std::map<std::string, ModelPrice> models;
  for (const auto& [key, entry] : doc.get_object()) {
    if (key == "sample_spec" || !entry.is_object()) continue;
    const std::string model = lowercase(key);
    auto price = read_entry(model, entry.get_object(), name + ": model \"" + std::string(key) + "\": ");
    if (!price) return fail(price.error());
    if (price.value()) models.insert_or_assign(model, std::move(*price.value()));
  }
  if (models.empty()) return fail(name + ": no chat model with input and output prices");
  return TableAccess::make("litellm:" + std::filesystem::path(name).filename().string(), std::move(models));
}

}  // namespace clawtrace::pricing::detail
