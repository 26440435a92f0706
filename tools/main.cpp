// clawtrace: the command line. Subcommands live in cmd_*.cpp.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"

using namespace clawtrace;

namespace {

constexpr const char* kHelp = R"(clawtrace - cost-aware tracing for unmodified LLM agents

usage: clawtrace [--store DIR] COMMAND [ARGS]

commands:
  run [--name N] [--tag K=V]... [--relay] -- CMD...
                                            run CMD traced; exit status is CMD's (--relay: its
                                            provider calls go through a relay, for agents that
                                            cannot be preloaded)
  sessions [--json] [--all]                 list traced sessions (root sessions unless --all)
  events SESSION [--tree]                   a session's events as JSON lines, or its span tree
  card SESSION [--top K] [--no-cost]        the session's TraceCard (YAML): cost per step
  score SESSION|task=X Q [--note TEXT]      record an oracle's outcome quality Q in [0,1]
  score --outcomes FILE                     record many (session or task=X -> Q)
  distill SESSION...|--all -o DIR           distil a skill (SKILL.md + patches.yaml) from
                                            scored sessions: repairs, prunes, preserves
  import FILE                               store events from JSON lines (FILE or - for stdin)
  eval --baseline SEL --treated SEL [--json] [--svg DIR] [--task-tag K]
                                            baseline vs treated runs paired by task: Q, cost,
                                            wins, regressions (SEL: ids, prefixes, last, K=V)
  export SESSION...|--all [--otlp URL]      sessions and those below them as JSON lines, or
                                            as OTLP spans to a tracing backend
  serve [--bind A] [--port N] [--token T]   the dashboard: a local web page and JSON API over
                                            the store (default http://127.0.0.1:8377/)
  relay --upstream URL [--upstream-for NAME=URL]... [--listen A:P]
                                            a local provider endpoint that forwards to URL and
                                            records every exchange (for static binaries)
  demo                                      trace a bundled example agent against a local
                                            provider stand-in (no network, no API key)

SESSION is an id, a unique id prefix, or `last`.
--store DIR defaults to $CLAWTRACE_STORE, else $XDG_DATA_HOME/clawtrace,
else ~/.local/share/clawtrace. `clawtrace COMMAND --help` describes a command.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  cli::Globals g{cli::default_store_dir()};
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--store") {
      if (i + 1 >= args.size()) return cli::usage_error("", "--store needs a directory");
      g.store_dir = args[++i];
    } else if (a.rfind("--store=", 0) == 0) {
      g.store_dir = a.substr(8);
    } else if (a == "-h" || a == "--help" || a == "help") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--version") {
      std::puts("clawtrace 0.1.0");
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return cli::usage_error("", "unknown option " + a);
    } else {
      break;
    }
  }
  if (i == args.size()) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  if (g.store_dir.empty()) return cli::usage_error("", "--store needs a directory");
  const std::string command = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
  if (command == "run") return cli::cmd_run(g, rest);
  if (command == "sessions") return cli::cmd_sessions(g, rest);
  if (command == "events") return cli::cmd_events(g, rest);
  if (command == "card") return cli::cmd_card(g, rest);
  if (command == "score") return cli::cmd_score(g, rest);
  if (command == "distill") return cli::cmd_distill(g, rest);
  if (command == "import") return cli::cmd_import(g, rest);
  if (command == "export") return cli::cmd_export(g, rest);
  if (command == "eval") return cli::cmd_eval(g, rest);
  if (command == "demo") return cli::cmd_demo(g, rest);
  if (command == "serve") return cli::cmd_serve(g, rest);
  if (command == "relay") return cli::cmd_relay(g, rest);
  return cli::usage_error("", "unknown command '" + command + "' (see clawtrace --help)");
}
