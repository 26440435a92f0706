// `clawtrace demo` end to end: the built clawtrace, stand-in and demo agent, a fresh store.
// What the tree shows is checked by its lines; what the store holds by the CLI's JSON.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "subprocess.h"
#include "temp_dir.h"

extern char** environ;

namespace {

using clawtrace::test::ProcessOutput;
using clawtrace::test::run_process;
using clawtrace::test::TempDir;

// Our environment, with every proxy variable pointing at an unroutable address: the demo
// must reach nothing but its stand-in on 127.0.0.1.
std::vector<std::string> demo_env() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("CLAWTRACE_", 0) != 0 && kv.rfind("LD_PRELOAD=", 0) != 0) env.push_back(kv);
  }
  for (const char* var : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"})
    env.push_back(std::string(var) + "=http://192.0.2.1:9");  // TEST-NET-1, never answers
  return env;
}

ProcessOutput clawtrace(const std::string& store, std::vector<std::string> args) {
  args.insert(args.begin(), {CT_CLAWTRACE, "--store", store});
  return run_process(args, demo_env(), 180);
}

bool exited_ok(const ProcessOutput& r) { return r.status >= 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Where a tree line's label starts (after the indentation and branch glyphs, in bytes).
size_t label_column(const std::string& line) {
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') ++i;
    else if (line.compare(i, 3, "│") == 0 || line.compare(i, 3, "├") == 0 || line.compare(i, 3, "└") == 0 ||
             line.compare(i, 3, "─") == 0)
      i += 3;
    else break;
  }
  return i;
}

std::string label(const std::string& line) { return line.substr(label_column(line)); }

// Index of the first line at or after `from` whose label starts with `prefix`; npos if none.
size_t find_label(const std::vector<std::string>& lines, const std::string& prefix, size_t from = 0) {
  for (size_t i = from; i < lines.size(); ++i)
    if (label(lines[i]).rfind(prefix, 0) == 0) return i;
  return std::string::npos;
}

// True if line `child` lies in the subtree of line `parent` (deeper, with no line between
// them back at the parent's depth or above).
bool is_under(const std::vector<std::string>& lines, size_t parent, size_t child) {
  if (parent == std::string::npos || child == std::string::npos || child <= parent) return false;
  for (size_t i = parent + 1; i <= child; ++i)
    if (label_column(lines[i]) <= label_column(lines[parent])) return false;
  return true;
}

boost::json::array json_array(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  return !ec && v.is_array() ? v.get_array() : boost::json::array{};
}

class Demo : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    store_ = new TempDir("clawtrace-demo-test");
    result_ = new ProcessOutput(clawtrace(store_->path().string(), {"demo"}));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete store_;
  }
  static std::string store() { return store_->path().string(); }
  static const ProcessOutput& result() { return *result_; }
  static TempDir* store_;
  static ProcessOutput* result_;
};
TempDir* Demo::store_ = nullptr;
ProcessOutput* Demo::result_ = nullptr;

TEST_F(Demo, ExitsZeroAndPrintsTheAnswerTreeAndCardHeadings) {
  ASSERT_TRUE(exited_ok(result())) << clawtrace::test::describe_status(result().status) << "\n"
                                   << result().out << result().err;
  EXPECT_NE(result().out.find("notes.md has 3 open TODOs"), std::string::npos) << result().out;
  EXPECT_NE(result().out.find("What ClawTrace saw"), std::string::npos);
  EXPECT_NE(result().out.find("Its TraceCard"), std::string::npos);
  EXPECT_NE(result().err.find("clawtrace: session "), std::string::npos) << result().err;
}

TEST_F(Demo, TreeShowsTheRedundantReadTheDelegationAndTheSubAgentsShell) {
  ASSERT_TRUE(exited_ok(result())) << result().err;
  const auto lines = lines_of(result().out);
  const size_t root = find_label(lines, "session ");
  ASSERT_NE(root, std::string::npos) << result().out;
  EXPECT_NE(label(lines[root]).find("clawtrace-demo-agent https://127.0.0.1:"), std::string::npos) << lines[root];

  const std::string read = R"(tool read_file {"path":"notes.md"})";
  const size_t read1 = find_label(lines, read, root);
  const size_t read2 = find_label(lines, read, read1 + 1);
  EXPECT_TRUE(is_under(lines, root, read1)) << result().out;
  EXPECT_TRUE(is_under(lines, root, read2)) << "the same read twice, as two tool calls\n" << result().out;

  const size_t delegate = find_label(lines, R"(tool delegate {"task":"Count the TODO lines in notes.md"})", root);
  const size_t sub = find_label(lines, "sub-agent via delegate", delegate);
  const size_t sub_session = find_label(lines, "session ", sub);
  const size_t bash = find_label(lines, R"(tool bash {"command":"grep -c TODO notes.md"})", sub_session);
  const size_t shell = find_label(lines, "process sh", bash);
  EXPECT_TRUE(is_under(lines, root, delegate)) << result().out;
  EXPECT_TRUE(is_under(lines, delegate, sub)) << result().out;
  EXPECT_TRUE(is_under(lines, sub, sub_session)) << result().out;
  ASSERT_NE(sub_session, std::string::npos);
  EXPECT_NE(lines[sub_session].find("--sub"), std::string::npos) << lines[sub_session];
  EXPECT_TRUE(is_under(lines, sub_session, bash)) << result().out;
  EXPECT_TRUE(is_under(lines, bash, shell)) << "the shell the sub-agent ran\n" << result().out;
}

TEST_F(Demo, StoreHoldsTheSessionsAndOnlyLoopbackLlmTraffic) {
  ASSERT_TRUE(exited_ok(result())) << result().err;
  ProcessOutput roots = clawtrace(store(), {"sessions", "--json"});
  ASSERT_TRUE(exited_ok(roots)) << roots.err;
  boost::json::array root_sessions = json_array(roots.out);
  ASSERT_EQ(root_sessions.size(), 1u) << roots.out;
  EXPECT_EQ(root_sessions[0].at("name"), "demo");
  EXPECT_EQ(root_sessions[0].at("status"), "ok");
  EXPECT_EQ(root_sessions[0].at("llm_calls").to_number<int64_t>(), 4);

  ProcessOutput all = clawtrace(store(), {"sessions", "--json", "--all"});
  ASSERT_TRUE(exited_ok(all)) << all.err;
  int llm_inputs = 0, agents = 0;
  for (const auto& s : json_array(all.out)) {
    const auto& argv = s.at("argv").as_array();
    for (const auto& a : argv) {
      std::string arg(a.as_string());
      if (arg.rfind("https://", 0) == 0) {
        EXPECT_EQ(arg.rfind("https://127.0.0.1:", 0), 0u) << arg;
      }
    }
    if (s.at("llm_calls").to_number<int64_t>() > 0) ++agents;
    ProcessOutput events = clawtrace(store(), {"events", std::string(s.at("id").as_string())});
    ASSERT_TRUE(exited_ok(events)) << events.err;
    for (const auto& line : lines_of(events.out)) {
      boost::system::error_code ec;
      boost::json::value e = boost::json::parse(line, ec);
      if (ec || e.at("type") != "llm_input") continue;
      ++llm_inputs;
      std::string host(e.at("data").at("host").as_string());
      EXPECT_EQ(host.rfind("127.0.0.1:", 0), 0u) << "an LLM call to " << host;
    }
  }
  EXPECT_EQ(agents, 2) << "the agent and its sub-agent\n" << all.out;
  EXPECT_EQ(llm_inputs, 6) << "four calls of the agent, two of the sub-agent";
}

TEST(DemoCommand, RejectsArgumentsAndHasHelp) {
  TempDir store("clawtrace-demo-test");
  ProcessOutput help = clawtrace(store.path().string(), {"demo", "--help"});
  EXPECT_TRUE(exited_ok(help));
  EXPECT_NE(help.out.find("usage: clawtrace demo"), std::string::npos);
  ProcessOutput bad = clawtrace(store.path().string(), {"demo", "--bogus"});
  EXPECT_TRUE(WIFEXITED(bad.status) && WEXITSTATUS(bad.status) == 2);
  EXPECT_NE(bad.err.find("unexpected argument"), std::string::npos) << bad.err;
}

}  // namespace

namespace {

const ProcessOutput& card_of_demo(const std::string& store, std::vector<std::string> extra = {}) {
  static std::map<std::string, ProcessOutput> cache;
  std::vector<std::string> args = {"card", "last"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string key = store;
  for (const auto& a : args) key += " " + a;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, clawtrace(store, args)).first;
  return it->second;
}

// The demo's TraceCard: the redundant read found and named by both steps, the sub-agent's
// answer traced to the call that used it, every dollar on exactly one step, priced.
TEST_F(Demo, CardFindsTheRedundantReadAndPartitionsTheBill) {
  const ProcessOutput& card = card_of_demo(store());
  ASSERT_TRUE(exited_ok(card)) << card.err;
  YAML::Node y = YAML::Load(card.out);
  EXPECT_EQ(y["tracecard"].as<int>(), 1);
  EXPECT_EQ(y["session"]["name"].as<std::string>(), "demo");
  EXPECT_EQ(y["totals"]["unpriced_calls"].as<int>(), 0);
  EXPECT_EQ(y["totals"]["llm_calls"].as<int>(), 6);
  EXPECT_EQ(y["totals"]["subagents"].as<int>(), 1);
  const double total = y["totals"]["cost_usd"].as<double>();
  EXPECT_GT(total, 0);
  double sum = 0;
  std::vector<std::string> reads;
  for (const auto& s : y["steps"]) {
    sum += s["cost_usd"].as<double>();
    if (s["name"].as<std::string>() == "read_file") reads.push_back(s["id"].as<std::string>());
  }
  EXPECT_NEAR(sum, total, 1e-9);
  ASSERT_EQ(reads.size(), 2u);
  ASSERT_EQ(y["redundancy"].size(), 1u);
  EXPECT_EQ(y["redundancy"][0]["kind"].as<std::string>(), "repeated_read");
  EXPECT_EQ(y["redundancy"][0]["steps"].as<std::vector<std::string>>(), reads);
  EXPECT_GT(y["redundancy"][0]["wasted_usd"].as<double>(), 0);
  ASSERT_EQ(y["subagents"].size(), 1u);
  EXPECT_EQ(y["subagents"][0]["output"].as<std::string>(), "notes.md has 3 TODO lines.");
  EXPECT_EQ(y["subagents"][0]["used_by"].size(), 1u);
  // `sessions` shows the same total.
  const ProcessOutput listed = clawtrace(store(), {"sessions", "--json"});
  const boost::json::array rows = json_array(listed.out);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(rows[0].as_object().contains("cost_usd")) << listed.out;
  EXPECT_NEAR(rows[0].at("cost_usd").to_number<double>(), total, 1e-12);
  // Deterministic, and --no-cost leaves every figure out.
  EXPECT_EQ(clawtrace(store(), {"card", "last"}).out, card.out);
  const ProcessOutput& bare = card_of_demo(store(), {"--no-cost"});
  ASSERT_TRUE(exited_ok(bare));
  EXPECT_EQ(bare.out.find("cost_usd"), std::string::npos);
  EXPECT_EQ(bare.out.find("wasted_usd"), std::string::npos);
}

// Export, import into a fresh store, card again: the same bytes.
TEST_F(Demo, CardSurvivesExportAndImport) {
  const ProcessOutput& before = card_of_demo(store());
  ASSERT_TRUE(exited_ok(before));
  const std::string id = YAML::Load(before.out)["session"]["id"].as<std::string>();
  TempDir other("clawtrace-demo-import");
  const std::string file = (other.path() / "demo.jsonl").string();
  const ProcessOutput exported = clawtrace(store(), {"export", id});
  ASSERT_TRUE(exited_ok(exported)) << exported.err;
  std::ofstream(file) << exported.out;
  const std::string fresh = (other.path() / "store").string();
  const ProcessOutput imported = clawtrace(fresh, {"import", file});
  ASSERT_TRUE(exited_ok(imported)) << imported.err;
  const ProcessOutput after = clawtrace(fresh, {"card", id});
  ASSERT_TRUE(exited_ok(after)) << after.err;
  EXPECT_EQ(after.out, before.out);
}

}  // namespace

namespace {

// CostCraft's loop (`demo --closed-loop`): the skill distilled from the scored baseline
// runs holds the rule against re-reading, the treated runs no longer re-read, and eval
// shows a lower median cost with no regression.
TEST(DemoClosedLoop, SkillLowersTheMedianCostWithoutRegression) {
  TempDir dir("clawtrace-closed-loop");
  const std::string store = (dir.path() / "store").string(), out = (dir.path() / "out").string();
  ProcessOutput loop = clawtrace(store, {"demo", "--closed-loop", "--out", out});
  ASSERT_TRUE(exited_ok(loop)) << loop.err << loop.out;

  std::ifstream skill_file(dir.path() / "out/demo-skill/SKILL.md");
  std::stringstream skill;
  skill << skill_file.rdbuf();
  EXPECT_EQ(skill.str().rfind("---\nname: demo-skill\n", 0), 0u) << skill.str();
  EXPECT_NE(skill.str().find("Do not re-read a file that has not changed"), std::string::npos) << skill.str();
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out/demo-skill/patches.yaml"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out/plots/task_costs.svg"));

  // The conditions, as the loop tagged them.
  const size_t at = loop.out.find("condition=baseline-");
  ASSERT_NE(at, std::string::npos) << loop.out;
  const std::string id = loop.out.substr(at + 19, loop.out.find_first_of(" )\n", at) - at - 19);
  ProcessOutput eval = clawtrace(store, {"eval", "--baseline", "condition=baseline-" + id, "--treated",
                                         "condition=treated-" + id, "--json"});
  ASSERT_TRUE(exited_ok(eval)) << eval.err;
  const boost::json::object report = boost::json::parse(eval.out).as_object();
  const boost::json::object& summary = report.at("summary").as_object();
  EXPECT_EQ(summary.at("tasks").to_number<int>(), 3);
  EXPECT_EQ(summary.at("regressions").to_number<int>(), 0);
  EXPECT_EQ(summary.at("catastrophic").to_number<int>(), 0);
  EXPECT_LT(summary.at("median_cost_change_usd").to_number<double>(), 0) << eval.out;
  for (const auto& t : report.at("tasks").as_array()) {
    const auto& task = t.as_object();
    EXPECT_EQ(task.at("baseline").at("quality").to_number<double>(), 1.0);
    EXPECT_EQ(task.at("treated").at("quality").to_number<double>(), 1.0);
    // The treated run's card: the re-read is gone.
    const std::string session(task.at("treated").at("sessions").at(0).as_string());
    ProcessOutput card = clawtrace(store, {"card", session});
    ASSERT_TRUE(exited_ok(card)) << card.err;
    EXPECT_EQ(card.out.find("repeated_read"), std::string::npos) << card.out;
    const std::string base(task.at("baseline").at("sessions").at(0).as_string());
    EXPECT_NE(clawtrace(store, {"card", base}).out.find("repeated_read"), std::string::npos);
  }
}

}  // namespace
