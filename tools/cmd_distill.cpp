// `clawtrace distill`: scored sessions → a skill directory (SKILL.md + patches.yaml), SPEC §6.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include "cli.h"
#include "costcraft.h"
#include "llm_proposer.h"
#include "tree.h"

namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace distill SESSION...|--all [--tag K=V]... -o DIR [--offline]
                         [--ablate no-cost|no-prune|no-counterfactual]... [--top K] [--prices FILE]

Distils a skill from the TraceCards of scored sessions (clawtrace score): repairs of
failures (citing the errored steps), prunes of costly steps that did not matter (only
from successes, only against the K costliest steps or wasted work, each with a
counterfactual), and preserves of what successful sessions did. Writes DIR/SKILL.md
(Agent Skills format; its name is DIR's name) and DIR/patches.yaml (every proposal, its
admission decision and reason, and the merged rules). The same sessions give the same
bytes.
--all          every scored root session (unscored ones are skipped)
--tag K=V      only sessions with this tag (repeatable; named in the skill's trigger)
-o DIR         the skill directory; its name must be 1-64 of [a-z0-9-]
--offline      the deterministic proposer built on the cards' findings (the default)
--llm URL --model M   an LLM proposer: an OpenAI-compatible or Anthropic endpoint (a
               base URL or the full path; key from $ANTHROPIC_API_KEY or $OPENAI_API_KEY,
               $CLAWTRACE_LLM_API_KEY wins), retried on 429/5xx, answers cached under
               ~/.cache/clawtrace/llm so a rerun costs nothing
--ablate A     no-cost: the proposer sees cards without any cost; no-prune: admit no
               prune; no-counterfactual: admit prunes without a counterfactual
               (repeatable, or comma-separated)
--top K        prunes may target the K costliest steps of a card (default 10)
--prices F     prices that win over the bundled table (as for `clawtrace card`)
)";

struct Args {
  std::vector<std::string> sessions;
  bool all = false, offline = false;
  std::vector<std::string> tags;
  std::string out;
  std::optional<std::string> llm, model, prices;
  costcraft::Options options;
};

Result<void> add_ablation(costcraft::Options& o, const std::string& list) {
  size_t at = 0;
  while (at <= list.size()) {
    const size_t comma = std::min(list.find(',', at), list.size());
    const std::string a = list.substr(at, comma - at);
    if (a == "no-cost") o.no_cost = true;
    else if (a == "no-prune") o.no_prune = true;
    else if (a == "no-counterfactual") o.no_counterfactual = true;
    else return fail("unknown ablation '" + a + "' (no-cost, no-prune or no-counterfactual)");
    at = comma + 1;
  }
  return {};
}

// 0 when parsed, else the exit code to return (help printed, or a usage error).
int parse(const std::vector<std::string>& args, Args& a) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s == "--help" || s == "-h") {
      std::fputs(kHelp, stdout);
      return -1;
    }
    const bool valued = s == "--tag" || s == "-o" || s == "--out" || s == "--llm" || s == "--model" ||
                        s == "--ablate" || s == "--top" || s == "--prices";
    if (valued && i + 1 >= args.size()) return usage_error("distill", s + " needs a value");
    if (s == "--all") a.all = true;
    else if (s == "--offline") a.offline = true;
    else if (s == "--tag") a.tags.push_back(args[++i]);
    else if (s == "-o" || s == "--out") a.out = args[++i];
    else if (s == "--llm") a.llm = args[++i];
    else if (s == "--model") a.model = args[++i];
    else if (s == "--prices") a.prices = args[++i];
    else if (s == "--ablate") {
      if (auto r = add_ablation(a.options, args[++i]); !r) return usage_error("distill", r.error());
    } else if (s == "--top") {
      const std::string& v = args[++i];
      char* end = nullptr;
      const unsigned long k = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || v[0] == '-') return usage_error("distill", "--top needs a number, not '" + v + "'");
      a.options.top = k;
    } else if (!s.empty() && s[0] == '-') {
      return usage_error("distill", "unknown option " + s);
    } else {
      a.sessions.push_back(s);
    }
  }
  for (const auto& t : a.tags)
    if (t.find('=') == std::string::npos || t[0] == '=') return usage_error("distill", "--tag needs K=V, not '" + t + "'");
  if (a.out.empty()) return usage_error("distill", "where to? (-o DIR)");
  if (a.all == !a.sessions.empty()) return usage_error("distill", "which sessions? name sessions or give --all (not both)");
  if (a.model && !a.llm) return usage_error("distill", "--model goes with --llm URL");
  if (a.llm && !a.model) return usage_error("distill", "--llm needs --model M");
  if (a.llm && a.offline) return usage_error("distill", "--offline or --llm, not both");
  return 0;
}

bool has_tags(const SessionInfo& s, const std::vector<std::string>& tags) {
  for (const auto& t : tags) {
    const size_t eq = t.find('=');
    auto it = s.tags.find(t.substr(0, eq));
    if (it == s.tags.end() || it->second != t.substr(eq + 1)) return false;
  }
  return true;
}

Result<std::vector<std::string>> select(Store& store, const Args& a) {
  std::vector<std::string> ids;
  if (a.all) {
    auto sessions = store.sessions();
    if (!sessions) return Error{sessions.error()};
    size_t unscored = 0;
    for (const auto& s : *sessions) {
      if (s.parent_session || !has_tags(s, a.tags)) continue;
      if (s.quality) ids.push_back(s.id);
      else ++unscored;
    }
    if (ids.empty())
      return fail("no scored sessions to distill (" + std::to_string(unscored) + " unscored; grade them with clawtrace score)");
    if (unscored) error("distill: skipped " + std::to_string(unscored) + " unscored session(s)", 0);
    return ids;
  }
  std::set<std::string> seen;
  for (const auto& spec : a.sessions) {
    auto id = store.resolve(spec);
    if (!id) return Error{id.error()};
    auto info = store.session(*id);
    if (!info) return Error{info.error()};
    if (!info->has_value()) return fail("no session " + *id);
    if (!(*info)->quality) return fail("session " + *id + " has no quality score (clawtrace score " + *id + " Q)");
    if (has_tags(**info, a.tags) && seen.insert(*id).second) ids.push_back(*id);
  }
  if (ids.empty()) return fail("none of the sessions has the tags asked for");
  return ids;
}

void progress(const char* what, size_t done, size_t total) {
  if (!isatty(2) || total < 20) return;
  std::fprintf(stderr, "\rdistill: %s %zu/%zu", what, done, total);
  if (done == total) std::fputs("\r\033[K", stderr);
}

Result<void> write_file(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(text.data(), static_cast<std::streamsize>(text.size())) || !f.flush())
      return fail("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return fail("cannot write " + path.string() + ": " + ec.message());
  return {};
}

std::string skill_name(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

}  // namespace

int cmd_distill(const Globals& g, const std::vector<std::string>& argv) {
  Args a;
  if (int rc = parse(argv, a); rc != 0) return rc < 0 ? 0 : rc;
  costcraft::Request request{skill_name(a.out), a.tags, a.options};
  if (auto r = costcraft::check_skill_name(request.name); !r) return error("distill: -o " + a.out + ": " + r.error());
  auto prices = pricing::load_prices(a.prices ? std::optional<fs::path>(*a.prices) : std::nullopt);
  if (!prices) return error(prices.error());
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  auto ids = select(**store, a);
  if (!ids) return error("distill: " + ids.error());
  auto trees = SpanTreeLoader::open(**store);
  if (!trees) return error(trees.error());
  std::vector<card::Card> cards;
  for (const auto& id : *ids) {
    auto tree = trees->load(id);
    if (!tree) return error(tree.error());
    cards.push_back(card::compile(*tree, *prices));
    progress("reading cards", cards.size(), ids->size());
  }
  costcraft::OfflineProposer offline;
  std::optional<costcraft::LlmProposer> llm;
  if (a.llm) llm.emplace(costcraft::endpoint_for(*a.llm, *a.model));
  costcraft::Proposer& proposer = llm ? static_cast<costcraft::Proposer&>(*llm) : offline;
  auto d = costcraft::distill(cards, proposer, request, [](size_t done, size_t total) { progress("proposing", done, total); });
  if (!d) return error("distill: " + d.error());
  std::error_code ec;
  fs::create_directories(a.out, ec);
  if (ec) return error("distill: cannot create " + a.out + ": " + ec.message());
  if (auto r = write_file(fs::path(a.out) / "SKILL.md", costcraft::skill_md(*d)); !r) return error("distill: " + r.error());
  if (auto r = write_file(fs::path(a.out) / "patches.yaml", costcraft::patches_yaml(*d)); !r) return error("distill: " + r.error());
  size_t admitted = 0, rules = 0;
  for (const auto& p : d->patches) admitted += p.decision.admitted;
  for (const auto& r : d->rules) rules += r.in_skill;
  std::printf("distilled %zu session(s) with the %s proposer: %zu proposals, %zu admitted, %zu rejected; "
              "SKILL.md has %zu rule(s), about %zu tokens\nwrote %s and %s\n",
              d->sessions.size(), d->proposer.c_str(), d->patches.size(), admitted, d->patches.size() - admitted, rules,
              d->skill_tokens, (fs::path(a.out) / "SKILL.md").c_str(), (fs::path(a.out) / "patches.yaml").c_str());
  return 0;
}

}  // namespace clawtrace::cli
