// `clawtrace demo`: the whole pipeline on a newcomer's machine, with no network and no API
// key. Starts the bundled provider stand-in (HTTPS on 127.0.0.1, scripted by
// demo/standin_script.json), runs the bundled demo agent under `clawtrace run`, then
// prints its span tree and TraceCard. Each step is this same executable run as a child, so
// the demo is exactly what a user would type.
#include <cstdio>

#include "cli.h"
#include "demo_run.h"
#include "demo_script.h"

namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

using namespace demo;

constexpr const char* kHelp = R"(usage: clawtrace demo
       clawtrace demo --closed-loop [--out DIR]

Runs a small bundled agent (clawtrace-demo-agent: C++, libcurl over HTTPS) against the
bundled provider stand-in (clawtrace-standin on 127.0.0.1), traced into the store, and
prints its span tree and TraceCard. The agent summarises the TODOs of a scratch workspace:
it reads a file, reads it again (a redundant step), delegates counting to a sub-agent
process that runs one shell command, and answers. No network, no API key. Afterwards the
session is in the store like any other (`clawtrace sessions`).

--closed-loop runs CostCraft's loop: the agent does three tasks over a workspace with a
long notes file, reading it twice each time; an oracle scores the answers (clawtrace
score); clawtrace distill --offline writes a skill from the scored TraceCards; the agent
does the tasks again with the skill in its first message (the stand-in, playing the model,
follows its rule against re-reading an unchanged file); clawtrace eval compares the two.
The skill, the runs and the plots go to DIR (default ./clawtrace-closed-loop).
)";

// `clawtrace card ID`; a build without the card command says so and the demo still passes.
int print_card(const std::vector<std::string>& self, const std::string& id, const fs::path& scratch) {
  std::vector<std::string> argv = self;
  argv.insert(argv.end(), {"card", id});
  const Redirect to{scratch / "card.out", scratch / "card.err"};
  int rc = run_and_wait(argv, to);
  std::string err = read_text(to.err);
  if (rc != 0 && err.find("unknown command") != std::string::npos) {
    std::printf("(TraceCards are not available in this build of clawtrace.)\n");
    return 0;
  }
  std::fputs(read_text(to.out).c_str(), stdout);
  std::fputs(err.c_str(), stderr);
  return rc == 0 ? 0 : error("clawtrace card failed (exit " + std::to_string(rc) + ")");
}

}  // namespace

int cmd_demo(const Globals& g, const std::vector<std::string>& args) {
  bool closed_loop = false;
  fs::path out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--closed-loop") closed_loop = true;
    else if (a == "--out" && i + 1 < args.size()) out = args[++i];
    else return usage_error("demo", a == "--out" ? "--out needs a directory" : "unexpected argument '" + a + "'");
  }
  if (!out.empty() && !closed_loop) return usage_error("demo", "--out goes with --closed-loop");
  if (closed_loop) return demo_closed_loop(g, out.empty() ? fs::path("clawtrace-closed-loop") : out);
  const auto standin_exe = find_program("clawtrace-standin");
  const auto agent_exe = find_program("clawtrace-demo-agent");
  if (!standin_exe) return error("demo: cannot find clawtrace-standin next to " + self_exe().string());
  if (!agent_exe) return error("demo: cannot find clawtrace-demo-agent next to " + self_exe().string());
  ScratchDir scratch;
  if (scratch.path().empty()) return error("demo: cannot make a temporary directory");
  IgnoreInterrupts interrupts;

  std::printf("clawtrace demo: a small agent summarises the TODOs in a scratch workspace, talking\n"
              "Anthropic Messages over HTTPS to a local provider stand-in (no network, no API key),\n"
              "traced into %s.\n",
              g.store_dir.c_str());
  const std::vector<std::string> self{self_exe().string(), "--store", g.store_dir.string()};
  std::string id;
  {
    Standin standin;
    auto address = standin.start(*standin_exe, scratch.path(), kDemoScript);
    if (!address) return error("demo: " + address.error());
    heading("The agent's answer  (clawtrace run --name demo -- clawtrace-demo-agent …)");
    std::vector<std::string> run = self;
    run.insert(run.end(), {"run", "--name", "demo", "--", agent_exe->string(),
                           "https://127.0.0.1:" + std::to_string(address->https_port), "--cafile",
                           address->cert});
    const fs::path run_err = scratch.path() / "run.err";
    int rc = run_and_wait(run, {{}, run_err});
    const std::string err = read_text(run_err);
    std::fputs(err.c_str(), stderr);
    if (rc != 0) return error("demo: the demo agent failed (exit " + std::to_string(rc) + ")");
    id = session_from(err);
    if (id.empty()) return error("demo: the demo agent ran but was not traced");
  }

  heading("What ClawTrace saw  (clawtrace events " + id + " --tree)");
  std::vector<std::string> tree = self;
  tree.insert(tree.end(), {"events", id, "--tree"});
  if (int rc = run_and_wait(tree); rc != 0) return error("demo: clawtrace events failed (exit " + std::to_string(rc) + ")");

  heading("Its TraceCard  (clawtrace card " + id + ")");
  if (int rc = print_card(self, id, scratch.path()); rc != 0) return rc;

  const std::string store_arg = g.store_dir == default_store_dir() ? "" : " --store " + shell_join({g.store_dir.string()});
  std::printf("\nThe demo is session %s in the store: try `clawtrace%s sessions`.\n", id.c_str(), store_arg.c_str());
  return 0;
}

}  // namespace clawtrace::cli
