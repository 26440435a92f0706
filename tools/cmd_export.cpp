// `clawtrace export`: sessions (with the sessions below them) as JSON lines.
#include <cstdio>
#include <iostream>

#include "cli.h"
#include "import.h"

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace export SESSION... [--jsonl]
       clawtrace export --all [--jsonl]

Writes the events of each SESSION and of every session below it (its child processes
and sub-agents, to any depth), or of every session with --all, as JSON lines in the
envelope `clawtrace events` prints: sessions in start order, each session's events in
order. The same store always gives the same bytes; `clawtrace import` reads them back.
--jsonl is the format (the default); --otlp URL is not supported yet.
)";

}  // namespace

int cmd_export(const Globals& g, const std::vector<std::string>& args) {
  bool all = false;
  std::vector<std::string> specs;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--all") all = true;
    else if (a == "--jsonl") continue;
    else if (a == "--otlp" || a.rfind("--otlp=", 0) == 0)
      return usage_error("export", "--otlp is not supported yet (only --jsonl)");
    else if (!a.empty() && a[0] == '-') return usage_error("export", "unknown option " + a);
    else specs.push_back(a);
  }
  if (all && !specs.empty()) return usage_error("export", "give sessions or --all, not both");
  if (!all && specs.empty()) return usage_error("export", "which sessions? (ids, prefixes, last, or --all)");
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  std::vector<std::string> ids;
  if (all) {
    auto sessions = (*store)->sessions();
    if (!sessions) return error(sessions.error());
    for (const auto& s : *sessions) ids.push_back(s.id);
  } else {
    std::vector<std::string> roots;
    for (const auto& spec : specs) {
      auto id = (*store)->resolve(spec);
      if (!id) return error(id.error());
      roots.push_back(*id);
    }
    auto below = sessions_with_descendants(**store, roots);
    if (!below) return error(below.error());
    ids = std::move(*below);
  }
  std::ios::sync_with_stdio(false);
  auto written = export_jsonl(**store, ids, std::cout);
  if (!written) return error(written.error());
  return 0;
}

}  // namespace clawtrace::cli
