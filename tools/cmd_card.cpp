// `clawtrace card`: a session's TraceCard (SPEC §5) as YAML.
#include <cstdio>
#include <cstdlib>

#include "card.h"
#include "cli.h"

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace card SESSION [--top K] [--no-cost] [--prices FILE]

Prints the session's TraceCard as YAML: the session, totals (cost in USD and tokens by
billing class, rolled up over its sub-agents), every step with its cost (the steps'
costs add up to the total), the K costliest steps (default 10), and the sub-agents with
where their answers were used. The same events always give the same bytes.
--no-cost   leave out every cost figure
--prices F  prices that win over the bundled table (and over the default override file:
            $CLAWTRACE_PRICES, else ~/.config/clawtrace/prices.json); see compiler/README.md
)";

}  // namespace

int cmd_card(const Globals& g, const std::vector<std::string>& args) {
  std::string spec;
  card::Options options;
  std::optional<std::filesystem::path> prices_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--no-cost") {
      options.no_cost = true;
    } else if (a == "--top" || a == "--prices") {
      if (i + 1 >= args.size()) return usage_error("card", a + " needs a value");
      const std::string& v = args[++i];
      if (a == "--prices") {
        prices_file = v;
        continue;
      }
      char* end = nullptr;
      const unsigned long k = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end) return usage_error("card", "--top needs a number, not '" + v + "'");
      options.top = k;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("card", "unknown option " + a);
    } else if (spec.empty()) {
      spec = a;
    } else {
      return usage_error("card", "unexpected argument '" + a + "'");
    }
  }
  if (spec.empty()) return usage_error("card", "which session? (an id, a prefix, or last)");
  auto prices = pricing::load_prices(prices_file);
  if (!prices) return error(prices.error());
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  auto id = (*store)->resolve(spec);
  if (!id) return error(id.error());
  auto tree = load_span_tree(**store, *id);
  if (!tree) return error(tree.error());
  const std::string yaml = card::to_yaml(card::compile(*tree, *prices), options);
  std::fwrite(yaml.data(), 1, yaml.size(), stdout);
  return 0;
}

}  // namespace clawtrace::cli
