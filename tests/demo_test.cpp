// `clawtrace demo` end to end: the built clawtrace, stand-in and demo agent, a fresh store.
// What the tree shows is checked by its lines; what the store holds by the CLI's JSON.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
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
