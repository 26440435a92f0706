// `clawtrace demo --closed-loop`: CostCraft's loop end to end, offline. The bundled agent
// does three tasks over a workspace with a large notes file, re-reading the file each time
// (the waste to find); an oracle scores the answers; `clawtrace distill --offline` writes
// a skill from the scored TraceCards; the agent does the same tasks again with the skill
// in its first message; `clawtrace eval` compares the two conditions. The stand-in plays
// a model that follows the skill: when the conversation carries CostCraft's rule against
// re-reading unchanged files, it does not ask for the second read. Every step is this
// executable run as a child, exactly what a user would type.
#include <ctime>
#include <fstream>

#include "cli.h"
#include "demo_run.h"

namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

using namespace demo;

// The skill's rule the stand-in reacts to (CostCraft's wording for a repeated read).
constexpr const char* kRuleMarker = "Do not re-read a file";
constexpr const char* kDelegateTask = "Count the TODO lines in notes.md";
constexpr int kTodos = 3;

struct Task {
  const char* tag;
  const char* text;
  const char* answer;    // the scripted model's answer
  const char* expected;  // what the oracle looks for in it
};

constexpr Task kTasks[] = {
    {"count-todos", "How many TODOs are open in notes.md?", "notes.md has 3 open TODOs.", "3 open TODOs"},
    {"owner", "Which TODO is assigned to Ana?", "Ana is asked to review the README.", "review the README"},
    {"version", "Which version does the release bump to?", "The release bumps the version to 0.2.0.", "0.2.0"},
};

// A long release log (the expensive file to re-read) with three open TODOs.
std::string notes() {
  std::string s = "# Exporter release notes (draft)\n- TODO: write the changelog entry for the OTLP exporter\n"
                  "- Done: bump the version to 0.2.0\n- TODO: add a test for sessions without LLM calls\n"
                  "- TODO: ask Ana to review the README\n\n## Log\n";
  for (int i = 1; i <= 300; ++i)
    s += "- Done: change " + std::to_string(i) + " merged after review; spans, costs and cards unchanged\n";
  return s;
}

std::string tool_call(const std::string& name, const std::string& arg, const std::string& value) {
  return R"({"tool_calls": [{"name": ")" + name + R"(", "arguments": {")" + arg + R"(": ")" + value + R"("}}]})";
}

// The model for one run: with the rule in context it reads once; without, it reads twice.
// No usage is scripted: the stand-in counts tokens from the bytes it is sent.
std::string script(const Task& t) {
  const std::string read = tool_call("read_file", "path", "notes.md"), delegate = tool_call("delegate", "task", kDelegateTask);
  const std::string answer = std::string(R"({"text": ")") + t.answer + R"("})";
  auto rule = [](const std::string& name, const std::string& when, const std::string& reply) {
    return R"({"name": ")" + name + R"(", "when": {)" + when + R"(}, "reply": )" + reply + "}";
  };
  const std::string skilled = std::string(R"("tool_offered": "delegate", "any_user_contains": ")") + kRuleMarker + "\", ";
  const std::string main = R"("tool_offered": "delegate", )";
  const std::string sub = std::string(R"("any_user_contains": ")") + kDelegateTask + "\"";
  return "{\"rules\": [\n" + rule("skilled 1: read", skilled + "\"nth\": 1", read) + ",\n" +
         rule("skilled 2: delegate", skilled + "\"nth\": 2", delegate) + ",\n" +
         rule("skilled 3: answer", skilled + "\"nth\": 3", answer) + ",\n" + rule("1: read", main + "\"nth\": 1", read) +
         ",\n" + rule("2: read again", main + "\"nth\": 2", read) + ",\n" + rule("3: delegate", main + "\"nth\": 3", delegate) +
         ",\n" + rule("4: answer", main + "\"nth\": 4", answer) + ",\n" +
         rule("sub 2: report", sub + ", \"last_is_tool_result\": true", R"({"text": "notes.md has 3 TODO lines."})") + ",\n" +
         rule("sub 1: grep", sub, tool_call("bash", "command", "grep -c TODO notes.md")) + "\n]}\n";
}

struct Loop {
  std::vector<std::string> self;  // this executable with --store
  fs::path standin, agent, out;
  std::string id;                 // tags this loop's sessions apart from earlier ones

  std::string condition(const char* name) const { return std::string("condition=") + name + "-" + id; }

  // One traced run of the agent on `t`, scored by the oracle; the session id, or an error.
  Result<std::string> run(const Task& t, const char* cond, const fs::path& skill) const {
    const fs::path dir = out / "runs" / (std::string(cond) + "-" + t.tag);
    fs::create_directories(dir / "workspace");
    std::ofstream(dir / "workspace/notes.md") << notes();
    Standin s;
    auto address = s.start(standin, dir, script(t));
    if (!address) return fail(address.error());
    std::vector<std::string> argv = self;
    argv.insert(argv.end(), {"run", "--name", std::string("loop-") + t.tag, "--tag", std::string("task=") + t.tag, "--tag",
                             condition(cond), "--", agent.string(), "https://127.0.0.1:" + std::to_string(address->https_port),
                             "--cafile", address->cert, "--task", t.text, "--workspace", (dir / "workspace").string()});
    if (!skill.empty()) argv.insert(argv.end(), {"--skill", skill.string()});
    if (int rc = run_and_wait(argv, {dir / "answer.txt", dir / "run.err"}); rc != 0)
      return fail(std::string("the agent failed on ") + t.tag + " (exit " + std::to_string(rc) + ")");
    const std::string session = session_from(read_text(dir / "run.err"));
    if (session.empty()) return fail(std::string("the run of ") + t.tag + " was not traced");
    const std::string answer = last_line(read_text(dir / "answer.txt"));
    const bool right = answer.find(t.expected) != std::string::npos;
    std::printf("  %-8s %-12s %s  Q=%d  %s\n", cond, t.tag, session.c_str(), right ? 1 : 0, answer.c_str());
    std::vector<std::string> score = self;
    score.insert(score.end(), {"score", session, right ? "1" : "0", "--note",
                               std::string("oracle: the answer ") + (right ? "states " : "lacks ") + t.expected});
    if (int rc = run_and_wait(score, {dir / "score.out", dir / "score.err"}); rc != 0)
      return fail("clawtrace score failed: " + last_line(read_text(dir / "score.err")));
    return session;
  }

  Result<void> runs(const char* cond, const fs::path& skill) const {
    for (const Task& t : kTasks)
      if (auto r = run(t, cond, skill); !r) return fail(r.error());
    return {};
  }
};

std::string loop_id() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  return buf;
}

}  // namespace

int demo_closed_loop(const Globals& g, const fs::path& out_dir) {
  const auto standin = find_program("clawtrace-standin");
  const auto agent = find_program("clawtrace-demo-agent");
  if (!standin || !agent) return error("demo: cannot find clawtrace-standin and clawtrace-demo-agent next to " + self_exe().string());
  Loop loop{{self_exe().string(), "--store", g.store_dir.string()}, *standin, *agent, out_dir, loop_id()};
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return error("demo: cannot make " + out_dir.string() + ": " + ec.message());
  IgnoreInterrupts interrupts;
  std::printf("clawtrace demo --closed-loop: the bundled agent does %zu tasks, CostCraft distills a skill from\n"
              "the scored traces, the agent does them again with the skill; outputs in %s.\n",
              std::size(kTasks), out_dir.c_str());

  heading("1. Baseline runs, scored by an oracle  (clawtrace run …; clawtrace score ID Q)");
  if (auto r = loop.runs("baseline", {}); !r) return error("demo: " + r.error());

  const fs::path skill_dir = out_dir / "demo-skill";
  heading("2. Distill  (clawtrace distill --all --tag " + loop.condition("baseline") + " -o " + skill_dir.string() + " --offline)");
  std::vector<std::string> distill = loop.self;
  distill.insert(distill.end(), {"distill", "--all", "--tag", loop.condition("baseline"), "-o", skill_dir.string(), "--offline"});
  if (int rc = run_and_wait(distill); rc != 0) return error("demo: clawtrace distill failed (exit " + std::to_string(rc) + ")");
  std::fputs(read_text(skill_dir / "SKILL.md").c_str(), stdout);

  heading("3. The same tasks with the skill  (clawtrace-demo-agent --skill SKILL.md)");
  if (auto r = loop.runs("treated", skill_dir / "SKILL.md"); !r) return error("demo: " + r.error());

  heading("4. Evaluate  (clawtrace eval --baseline " + loop.condition("baseline") + " --treated " + loop.condition("treated") + ")");
  std::vector<std::string> eval = loop.self;
  eval.insert(eval.end(), {"eval", "--baseline", loop.condition("baseline"), "--treated", loop.condition("treated"), "--svg",
                           (out_dir / "plots").string()});
  if (int rc = run_and_wait(eval); rc != 0) return error("demo: clawtrace eval failed (exit " + std::to_string(rc) + ")");
  std::printf("\nSkill: %s; plots: %s; JSON: the same eval with --json.\n", (skill_dir / "SKILL.md").c_str(),
              (out_dir / "plots").c_str());
  return 0;
}

}  // namespace clawtrace::cli
