// Model name resolution, the cost of one exchange, and the override chain.
#include "pricing.h"

#include <algorithm>
#include <cstdlib>

#include "pricing_detail.h"

namespace clawtrace::pricing {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool ends_with(std::string_view s, std::string_view end) {
  return s.size() >= end.size() && s.substr(s.size() - end.size()) == end;
}

// "us.anthropic.claude-…" → "claude-…": Bedrock region and vendor prefixes are words without
// digits followed by a dot (a model's own dots, as in gpt-4.1, follow digits).
std::string_view strip_bedrock_prefix(std::string_view s) {
  for (;;) {
    const size_t dot = s.find('.');
    if (dot == std::string_view::npos || dot == 0) return s;
    const std::string_view word = s.substr(0, dot);
    const bool is_word = std::all_of(word.begin(), word.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
    if (!is_word) return s;
    s.remove_prefix(dot + 1);
  }
}

// Deployment tags: Vertex "…@20240620", Bedrock "…-v1:0" / "…-v2".
std::string_view strip_deployment_suffix(std::string_view s) {
  if (const size_t at = s.find('@'); at != std::string_view::npos) s = s.substr(0, at);
  const size_t v = s.rfind("-v");
  if (v != std::string_view::npos) {
    const std::string_view tag = s.substr(v + 2);
    const size_t colon = tag.find(':');
    const bool versioned = colon == std::string_view::npos
                               ? all_digits(tag)
                               : all_digits(tag.substr(0, colon)) && all_digits(tag.substr(colon + 1));
    if (versioned) s = s.substr(0, v);
  }
  return s;
}

// Snapshot suffixes: -20250929, -2024-08-06, -0613, -latest.
std::string_view strip_snapshot_suffix(std::string_view s) {
  if (ends_with(s, "-latest")) return s.substr(0, s.size() - 7);
  if (s.size() > 11 && s[s.size() - 11] == '-' && s[s.size() - 6] == '-' && s[s.size() - 3] == '-' &&
      all_digits(s.substr(s.size() - 10, 4)) && all_digits(s.substr(s.size() - 5, 2)) &&
      all_digits(s.substr(s.size() - 2)))
    return s.substr(0, s.size() - 11);
  const size_t dash = s.rfind('-');
  if (dash == std::string_view::npos) return s;
  const std::string_view tail = s.substr(dash + 1);
  if ((tail.size() == 8 || tail.size() == 4) && all_digits(tail)) return s.substr(0, dash);
  return s;
}

// OpenRouter spells Claude versions with dots: claude-sonnet-4.5 → claude-sonnet-4-5.
std::string claude_dots_to_hyphens(std::string_view s) {
  std::string out(s);
  if (out.rfind("claude", 0) == 0) std::replace(out.begin(), out.end(), '.', '-');
  return out;
}

// The names one path segment may stand for, most specific first.
std::vector<std::string> candidates(std::string_view name) {
  std::vector<std::string> out{std::string(name)};
  auto add = [&out](std::string_view s) {
    if (s != out.back()) out.emplace_back(s);
  };
  add(strip_bedrock_prefix(out.back()));
  add(strip_deployment_suffix(out.back()));
  add(strip_snapshot_suffix(out.back()));
  add(claude_dots_to_hyphens(out.back()));
  return out;
}

double count(int64_t n) { return n > 0 ? static_cast<double>(n) : 0.0; }
uint64_t nonneg(int64_t n) { return n > 0 ? static_cast<uint64_t>(n) : 0; }
uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

const Rates& rates_for(const ModelPrice& p, uint64_t prompt_tokens, bool& tiered) {
  const Rates* rates = &p.rates;
  tiered = false;
  for (const Tier& t : p.tiers) {
    if (prompt_tokens <= t.above_prompt_tokens) break;
    rates = &t.rates;
    tiered = true;
  }
  return *rates;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

}  // namespace

const ModelPrice* PriceTable::exact(std::string_view name) const {
  auto it = models_.find(std::string(name));
  return it == models_.end() ? nullptr : &it->second;
}

const ModelPrice* PriceTable::find(std::string_view model) const {
  const std::string name = detail::lowercase(model);
  // The whole id first (an imported "openrouter/…" entry), then without each leading segment.
  for (std::string_view rest = name;;) {
    for (const std::string& c : candidates(rest))
      if (const ModelPrice* p = exact(c)) return p;
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return nullptr;
    rest.remove_prefix(slash + 1);
  }
}

const std::string& PriceTable::version() const { return version_; }

void PriceTable::override_with(const PriceTable& other) {
  for (const auto& [name, price] : other.models_) models_.insert_or_assign(name, price);
  version_ = version_.empty() ? other.version_ : version_ + "+" + other.version_;
}

std::optional<Cost> cost(const PriceTable& t, std::string_view model, const Tokens& k) {
  const ModelPrice* price = t.find(model);
  if (!price) return std::nullopt;
  // A split write may come with or without its total; what the split leaves is unsplit.
  const uint64_t split = sat_add(nonneg(k.cache_write_5m), nonneg(k.cache_write_1h));
  const uint64_t writes = std::max(nonneg(k.cache_write), split);
  const uint64_t prompt = sat_add(sat_add(nonneg(k.input), nonneg(k.cache_read)), writes);

  Cost c;
  c.price = price;
  const Rates& r = rates_for(*price, prompt, c.tiered);
  c.input = count(k.input) * r.input;
  c.cache_read = count(k.cache_read) * r.cache_read;
  c.cache_write = static_cast<double>(writes - split) * r.cache_write_5m +
                  count(k.cache_write_5m) * r.cache_write_5m + count(k.cache_write_1h) * r.cache_write_1h;
  // Output includes reasoning; reasoning is billed apart only when the model prices it apart.
  const double reasoning = count(k.reasoning);
  const double output = std::max(count(k.output), reasoning);
  c.output = r.reasoning ? (output - reasoning) * r.output + reasoning * *r.reasoning : output * r.output;
  c.total = c.input + c.output + c.cache_read + c.cache_write;
  return c;
}

std::optional<std::filesystem::path> default_prices_file() {
  if (auto explicit_file = env("CLAWTRACE_PRICES")) return std::filesystem::path(*explicit_file);
  if (auto xdg = env("XDG_CONFIG_HOME")) return std::filesystem::path(*xdg) / "clawtrace" / "prices.json";
  if (auto home = env("HOME")) return std::filesystem::path(*home) / ".config" / "clawtrace" / "prices.json";
  return std::nullopt;
}

Result<PriceTable> load_prices(const std::optional<std::filesystem::path>& cli_file) {
  auto table = PriceTable::builtin();
  if (!table) return table;
  if (auto file = default_prices_file()) {
    std::error_code ec;
    // A file named in $CLAWTRACE_PRICES must exist: missing it would silently price by the builtin.
    if (std::filesystem::exists(*file, ec) || env("CLAWTRACE_PRICES")) {
      auto user = PriceTable::load_any(*file);
      if (!user) return user;
      table->override_with(user.value());
    }
  }
  if (cli_file) {
    auto cli = PriceTable::load_any(*cli_file);
    if (!cli) return cli;
    table->override_with(cli.value());
  }
  return table;
}

}  // namespace clawtrace::pricing
