// End to end with Node.js clients from npm over a plain-HTTP base URL (Node's bundled
// OpenSSL is static, so HTTPS from Node is out of the preload's reach; see README):
// the official `openai` and `@anthropic-ai/sdk` packages, and the Claude Code CLI making a
// streamed call and a Bash tool call whose process nests under the model's tool call.
// The packages are installed into a cache directory once; the tests are skipped, with the
// reason, only when node/npm are missing or the registry cannot be reached.
#include <cstdlib>

#include "e2e_support.h"

namespace e2e = clawtrace::e2e;
namespace fs = std::filesystem;
namespace json = boost::json;
using clawtrace::EventType;

namespace {

std::string g_skip;     // why the npm tests cannot run here
std::string g_modules;  // node_modules with the packages

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

class NodeClients : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string home = env_or("HOME", "/tmp");
    const fs::path cache = env_or("CLAWTRACE_NPM_CACHE", home + "/.cache/clawtrace/npm");
    const std::vector<std::string> env = {"PATH=" + env_or("PATH", "/usr/bin:/bin"), "HOME=" + home};
    if (e2e::run_process({"node", "--version"}, env).status != 0) {
      g_skip = "node is not installed";
      return;
    }
    fs::create_directories(cache);
    g_modules = (cache / "node_modules").string();
    const bool have = fs::exists(cache / "node_modules/openai") &&
                      fs::exists(cache / "node_modules/@anthropic-ai/sdk") &&
                      fs::exists(cache / "node_modules/.bin/claude");
    if (have) return;
    auto r = e2e::run_process({"npm", "install", "--no-audit", "--no-fund", "--prefix", cache.string(),
                               "openai", "@anthropic-ai/sdk", "@anthropic-ai/claude-code"},
                              env, 600);
    if (r.status != 0) g_skip = "npm install failed (registry unreachable?): " + r.err.substr(0, 300);
  }

  void SetUp() override {
    if (!g_skip.empty()) GTEST_SKIP() << g_skip;
  }
};

std::string api_key_of(const std::string& log_api) {
  if (log_api == "anthropic.messages") return "anthropic";
  if (log_api == "openai.chat") return "openai_chat";
  if (log_api == "openai.responses") return "openai_responses";
  if (log_api == "gemini.generate_content") return "gemini";
  return "ollama";
}

// Every LLM exchange the stand-in logged has an llm_output that says the same.
void expect_all_outputs_match(const e2e::Trace& t, const std::vector<json::object>& log) {
  auto outputs = t.of(EventType::llm_output);
  ASSERT_EQ(outputs.size(), log.size());
  for (size_t i = 0; i < log.size(); ++i)
    e2e::expect_output_matches(*outputs[i], log[i], api_key_of(e2e::s(log[i], "api")),
                               log[i].at("stream").as_bool());
}

TEST_F(NodeClients, OpenAiSdk) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  auto run = f.run_traced({"node", e2e::client_script("node_sdk_calls.cjs"), g_modules, f.http_url(), "openai"},
                          {std::string("CT_API_KEY=") + e2e::kSecret});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto log = f.standin_log();
  ASSERT_EQ(log.size(), 4u);
  expect_all_outputs_match(f.trace(), log);
  f.expect_no_secret_in_store();
}

TEST_F(NodeClients, AnthropicSdk) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  auto run = f.run_traced({"node", e2e::client_script("node_sdk_calls.cjs"), g_modules, f.http_url(), "anthropic"},
                          {std::string("CT_API_KEY=") + e2e::kSecret});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto log = f.standin_log();
  ASSERT_EQ(log.size(), 2u);
  expect_all_outputs_match(f.trace(), log);
  f.expect_no_secret_in_store();
}

// `claude -p` against the stand-in: it streams, asks for Bash (the stand-in's default
// answer to a request offering a bash tool), runs it, and sends the result back.
TEST_F(NodeClients, ClaudeCodeCli) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  auto run = f.run_traced({g_modules + "/.bin/claude", "-p", "Run echo hello with the Bash tool",
                           "--allowedTools", "Bash"},
                          {"ANTHROPIC_BASE_URL=" + f.http_url(), std::string("ANTHROPIC_API_KEY=") + e2e::kSecret,
                           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1"});
  ASSERT_EQ(run.status, 0) << run.err;
  const auto log = f.standin_log();
  e2e::Trace t = f.trace();
  expect_all_outputs_match(t, log);
  bool streamed = false;
  for (const auto* out : t.of(EventType::llm_output)) streamed = streamed || out->data.at("stream").as_bool();
  EXPECT_TRUE(streamed);
  const e2e::ToolSpan* bash = nullptr;
  auto calls = t.model_tool_calls();
  for (const auto& c : calls)
    if (e2e::s(c.open->data, "name") == "Bash") bash = &c;
  ASSERT_NE(bash, nullptr) << "no Bash tool call among " << calls.size();
  ASSERT_NE(bash->close, nullptr);
  EXPECT_NE(e2e::s(bash->close->data, "result").find("hello from the stand-in"), std::string::npos)
      << e2e::s(bash->close->data, "result");
  // The shell that ran the command nests under the model's tool call.
  bool ran_it = false;
  for (const auto* p : t.process_spans_under(bash->open->span)) {
    const clawtrace::Event* end = t.end_of(*p);
    const auto* argv = end ? end->data.if_contains("argv") : nullptr;
    if (argv && json::serialize(*argv).find("echo hello from the stand-in") != std::string::npos) ran_it = true;
  }
  EXPECT_TRUE(ran_it);
  f.expect_no_secret_in_store();
}

}  // namespace
