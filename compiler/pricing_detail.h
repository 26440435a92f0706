// Shared by the price table readers (our format and LiteLLM's); not part of the API.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <string_view>

#include "pricing.h"

namespace clawtrace::pricing::detail {

// The bundled compiler/data/prices.json, embedded at build time (prices_data.cpp).
std::string_view builtin_prices_json();

Result<std::string> read_text_file(const std::filesystem::path& file);
Result<boost::json::value> parse_json(std::string_view text, const std::string& name);
const char* kind_name(const boost::json::value& v);  // "a string", "an array", ...
std::string lowercase(std::string_view s);

// Fills what a price list may leave out: cache rates default to the input rate (no discount
// or surcharge), a 1-hour write to the 5-minute write.
struct GivenRates {
  std::optional<double> input, output, cache_read, cache_write_5m, cache_write_1h, reasoning;
};
Rates complete(const GivenRates& g);
// A long-context tier lists what changes; the rest keeps the model's rate.
Rates overlay(const Rates& base, const GivenRates& g);

// Builds tables for the readers.
struct TableAccess {
  static PriceTable make(std::string version, std::map<std::string, ModelPrice> models) {
    PriceTable t;
    t.version_ = std::move(version);
    t.models_ = std::move(models);
    return t;
  }
};

// Shapes told apart by load_any.
Result<PriceTable> from_litellm(const boost::json::value& doc, const std::string& name);
bool looks_like_litellm(const boost::json::value& doc);

}  // namespace clawtrace::pricing::detail
