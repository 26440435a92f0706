// Our price file format (compiler/README.md) and the helpers both readers share.
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "pricing_detail.h"

namespace clawtrace::pricing::detail {

namespace json = boost::json;

namespace {

constexpr std::uintmax_t kMaxFileBytes = 64u << 20;  // LiteLLM's whole map is ~2 MB
constexpr double kPerMillion = 1e6;

std::string in_quotes(std::string_view s) {
  std::string out;  // appended, not "\"" + s + "\"": g++ 12 warns falsely (-Wrestrict) on that
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (i != 4 && i != 7 && !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

Result<double> per_token_price(const json::value& v, std::string_view key, const std::string& where) {
  if (!v.is_number())
    return fail(where + in_quotes(key) + " must be a number (USD per million tokens), not " + kind_name(v));
  json::error_code ec;
  const double per_million = v.to_number<double>(ec);
  if (ec || !std::isfinite(per_million)) return fail(where + in_quotes(key) + " is not a finite number");
  if (per_million < 0) return fail(where + in_quotes(key) + " must not be negative");
  return per_million / kPerMillion;
}

Result<std::string> string_field(const json::value& v, std::string_view key, const std::string& where) {
  if (!v.is_string()) return fail(where + in_quotes(key) + " must be a string, not " + kind_name(v));
  return std::string(v.get_string());
}

// Sets one rate if `key` names one; false when it is not a rate key.
Result<bool> read_rate(GivenRates& g, std::string_view key, const json::value& v, const std::string& where) {
  std::optional<double>* slot = nullptr;
  if (key == "input") slot = &g.input;
  else if (key == "output") slot = &g.output;
  else if (key == "cache_read") slot = &g.cache_read;
  else if (key == "cache_write_5m") slot = &g.cache_write_5m;
  else if (key == "cache_write_1h") slot = &g.cache_write_1h;
  else if (key == "reasoning") slot = &g.reasoning;
  if (!slot) return false;
  auto price = per_token_price(v, key, where);
  if (!price) return fail(price.error());
  *slot = price.value();
  return true;
}

Result<void> require_input_output(const GivenRates& g, const std::string& where) {
  if (!g.input) return fail(where + "\"input\" is required");
  if (!g.output) return fail(where + "\"output\" is required");
  return {};
}

Result<uint64_t> token_count(const json::value& v, const std::string& where) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<uint64_t>(v.get_int64());
  return fail(where + "\"above_prompt_tokens\" must be a whole number of tokens");
}

Result<Tier> read_tier(const json::value& v, const Rates& base, const std::string& where) {
  if (!v.is_object()) return fail(where + "must be an object, not " + kind_name(v));
  GivenRates given;
  std::optional<uint64_t> above;
  for (const auto& [key, field] : v.get_object()) {
    if (key == "above_prompt_tokens") {
      auto n = token_count(field, where);
      if (!n) return fail(n.error());
      above = n.value();
      continue;
    }
    auto rate = read_rate(given, key, field, where);
    if (!rate) return fail(rate.error());
    if (!rate.value()) return fail(where + in_quotes(key) + " is not a known field");
  }
  if (!above) return fail(where + "\"above_prompt_tokens\" is required");
  return Tier{*above, overlay(base, given)};
}

Result<std::vector<Tier>> read_tiers(const json::value& v, const Rates& base, const std::string& where) {
  if (!v.is_array()) return fail(where + "\"tiers\" must be an array, not " + kind_name(v));
  std::vector<Tier> tiers;
  for (const auto& item : v.get_array()) {
    auto tier = read_tier(item, base, where + "tier " + std::to_string(tiers.size() + 1) + ": ");
    if (!tier) return fail(tier.error());
    if (!tiers.empty() && tier->above_prompt_tokens <= tiers.back().above_prompt_tokens)
      return fail(where + "tiers must be in ascending order of above_prompt_tokens (" +
                  std::to_string(tier->above_prompt_tokens) + " after " +
                  std::to_string(tiers.back().above_prompt_tokens) + ")");
    tiers.push_back(std::move(tier.value()));
  }
  return tiers;
}

Result<ModelPrice> read_model(std::string name, const json::value& v, const std::string& where) {
  if (!v.is_object()) return fail(where + "must be an object, not " + kind_name(v));
  ModelPrice price;
  price.model = std::move(name);
  GivenRates given;
  const json::value* tiers_json = nullptr;
  for (const auto& [key, field] : v.get_object()) {
    if (key == "provider" || key == "checked" || key == "source") {
      auto text = string_field(field, key, where);
      if (!text) return fail(text.error());
      if (key == "checked" && !is_date(text.value()))
        return fail(where + "\"checked\" must be a date YYYY-MM-DD, not " + in_quotes(text.value()));
      (key == "provider" ? price.provider : key == "checked" ? price.checked : price.source) = text.value();
      continue;
    }
    if (key == "tiers") {
      tiers_json = &field;  // read once the base rates are known
      continue;
    }
    auto rate = read_rate(given, key, field, where);
    if (!rate) return fail(rate.error());
    if (!rate.value()) return fail(where + in_quotes(key) + " is not a known field");
  }
  if (auto r = require_input_output(given, where); !r) return fail(r.error());
  price.rates = complete(given);
  if (tiers_json) {
    auto tiers = read_tiers(*tiers_json, price.rates, where);
    if (!tiers) return fail(tiers.error());
    price.tiers = std::move(tiers.value());
  }
  return price;
}

Result<PriceTable> from_ours(const json::value& doc, const std::string& name) {
  if (!doc.is_object()) return fail(name + ": expected an object with \"version\" and \"models\"");
  std::string version;
  std::map<std::string, ModelPrice> models;
  bool have_models = false;
  for (const auto& [key, field] : doc.get_object()) {
    if (key == "version") {
      auto text = string_field(field, key, name + ": ");
      if (!text) return fail(text.error());
      version = text.value();
    } else if (key == "models") {
      if (!field.is_object()) return fail(name + ": \"models\" must be an object, not " + kind_name(field));
      have_models = true;
      for (const auto& [model, entry] : field.get_object()) {
        const std::string where = name + ": model " + in_quotes(model) + ": ";
        std::string family = lowercase(model);
        if (family.empty()) return fail(name + ": a model has an empty name");
        if (models.count(family)) return fail(where + "listed twice");
        auto price = read_model(family, entry, where);
        if (!price) return fail(price.error());
        models.emplace(std::move(family), std::move(price.value()));
      }
    } else if (key != "comment") {
      return fail(name + ": " + in_quotes(key) + " is not a known top-level field");
    }
  }
  if (version.empty()) return fail(name + ": \"version\" is required");
  if (!have_models) return fail(name + ": \"models\" is required");
  return TableAccess::make(std::move(version), std::move(models));
}

}  // namespace

Rates complete(const GivenRates& g) {
  Rates r;
  r.input = g.input.value_or(0);
  r.output = g.output.value_or(0);
  r.cache_read = g.cache_read.value_or(r.input);
  r.cache_write_5m = g.cache_write_5m.value_or(r.input);
  r.cache_write_1h = g.cache_write_1h.value_or(r.cache_write_5m);
  r.reasoning = g.reasoning;
  return r;
}

Rates overlay(const Rates& base, const GivenRates& g) {
  Rates r = base;
  if (g.input) r.input = *g.input;
  if (g.output) r.output = *g.output;
  if (g.cache_read) r.cache_read = *g.cache_read;
  if (g.cache_write_5m) r.cache_write_5m = *g.cache_write_5m;
  if (g.cache_write_1h) r.cache_write_1h = *g.cache_write_1h;
  if (g.reasoning) r.reasoning = g.reasoning;
  return r;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
    default: return "a number";
  }
}

Result<std::string> read_text_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return fail(name + ": cannot read: " + ec.message());
  if (size > kMaxFileBytes) return fail(name + ": too large for a price file");
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return fail(name + ": cannot read");
  return text.str();
}

Result<json::value> parse_json(std::string_view text, const std::string& name) {
  json::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return fail(name + ": not valid JSON: " + ec.message());
  return doc;
}

}  // namespace clawtrace::pricing::detail

namespace clawtrace::pricing {

Result<PriceTable> PriceTable::parse(std::string_view text, std::string_view name) {
  auto doc = detail::parse_json(text, std::string(name));
  if (!doc) return fail(doc.error());
  return detail::from_ours(doc.value(), std::string(name));
}

Result<PriceTable> PriceTable::builtin() {
  return parse(detail::builtin_prices_json(), "builtin prices.json");
}

Result<PriceTable> PriceTable::load(const std::filesystem::path& file) {
  auto text = detail::read_text_file(file);
  if (!text) return fail(text.error());
  return parse(text.value(), file.string());
}

Result<PriceTable> PriceTable::import_litellm(const std::filesystem::path& file) {
  auto text = detail::read_text_file(file);
  if (!text) return fail(text.error());
  auto doc = detail::parse_json(text.value(), file.string());
  if (!doc) return fail(doc.error());
  return detail::from_litellm(doc.value(), file.string());
}

Result<PriceTable> PriceTable::load_any(const std::filesystem::path& file) {
  auto text = detail::read_text_file(file);
  if (!text) return fail(text.error());
  auto doc = detail::parse_json(text.value(), file.string());
  if (!doc) return fail(doc.error());
  if (detail::looks_like_litellm(doc.value())) return detail::from_litellm(doc.value(), file.string());
  return detail::from_ours(doc.value(), file.string());
}

}  // namespace clawtrace::pricing
