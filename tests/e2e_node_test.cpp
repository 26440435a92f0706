// End to end with Node.js clients from npm over a plain-HTTP base URL (Node's bundled
// OpenSSL is static, so HTTPS from Node is out of the preload's reach; see README):
// the official `openai` and `@anthropic-ai/sdk` packages, and the Claude Code CLI making a
// streamed call and a Bash tool call whose process nests under the model's tool call.
// The packages are installed into a cache directory once; the tests are skipped, with the
// reason, only when node/npm are missing or the registry cannot be reached.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <utility>

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

using e2e::api_key_of;

// What an exchange said: its text and tool-call ids, in the log's or an llm_output's terms.
std::string said(const json::object& o) {
  std::string key = e2e::s(o, "text");
  if (const auto* calls = o.if_contains("tool_calls"); calls && calls->is_array())
    for (const auto& c : calls->get_array())
      if (c.is_object()) key += "\n" + e2e::s(c.get_object(), "name") + " " + e2e::s(c.get_object(), "id");
  return key;
}

// Every LLM exchange the stand-in logged has an llm_output that says the same. Each log line
// is paired with the earliest unused output saying the same thing (concurrent requests, such
// as Claude Code's title request, may finish in either order), else with the earliest unused
// one, so that the differences show. Returns the output per line.
std::vector<const clawtrace::Event*> expect_all_outputs_match(const e2e::Trace& t,
                                                               const std::vector<json::object>& log) {
  auto outputs = t.of(EventType::llm_output);
  std::vector<const clawtrace::Event*> paired(log.size(), nullptr);
  EXPECT_EQ(outputs.size(), log.size());
  for (size_t i = 0; i < log.size(); ++i) {
    auto it = std::find_if(outputs.begin(), outputs.end(),
                           [&](const clawtrace::Event* o) { return o && said(o->data) == said(log[i]); });
    if (it == outputs.end())
      it = std::find_if(outputs.begin(), outputs.end(), [](const clawtrace::Event* o) { return o != nullptr; });
    if (it == outputs.end()) {
      ADD_FAILURE() << "no llm_output left for the exchange " << json::serialize(log[i]);
      continue;
    }
    paired[i] = std::exchange(*it, nullptr);
    e2e::expect_output_matches(*paired[i], log[i], api_key_of(e2e::s(log[i], "api")),
                               log[i].at("stream").as_bool());
  }
  return paired;
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

// ---- Claude Code's sub-agent tool ("Agent"; "Task" in older versions) ---------------------

constexpr const char* kMainPrompt = "Delegate the quokka count to a sub-agent";
constexpr const char* kSubTask = "SUBTASK-QX7: run one shell command and report the quokka count.";
constexpr const char* kSubFinal = "SUBAGENT-DONE: the quokka count is 314.";
constexpr const char* kMainFinal = "MAIN-DONE: the sub-agent reported back.";

// The main conversation delegates kSubTask; the sub-agent's conversation (its first user
// message carries the task's marker) runs one Bash command, then answers kSubFinal; the
// main conversation answers once the tool result is back. Requests without tools (Claude
// Code's session-title request) are side calls. First matching rule wins.
constexpr const char* kTaskScript = R"({"rules": [
  {"name": "side", "when": {"has_tools": false},
   "reply": {"text": "{\"title\": \"Count quokkas with a sub-agent\"}"}},
  {"name": "sub-final", "when": {"user_contains": "SUBTASK-QX7", "last_is_tool_result": true},
   "reply": {"text": "SUBAGENT-DONE: the quokka count is 314."}},
  {"name": "sub-bash", "when": {"user_contains": "SUBTASK-QX7"},
   "reply": {"tool_calls": [{"name": "Bash", "arguments":
     {"command": "echo quokka from the sub-agent", "description": "Print the quokka marker"}}]}},
  {"name": "main-final", "when": {"last_is_tool_result": true},
   "reply": {"text": "MAIN-DONE: the sub-agent reported back."}},
  {"name": "main-spawn", "when": {"tool_offered": "Agent"},
   "reply": {"tool_calls": [{"name": "Agent", "arguments": {"description": "Count the quokkas",
     "prompt": "SUBTASK-QX7: run one shell command and report the quokka count.",
     "subagent_type": "general-purpose"}}]}},
  {"name": "main-spawn", "when": {"tool_offered": "Task"},
   "reply": {"tool_calls": [{"name": "Task", "arguments": {"description": "Count the quokkas",
     "prompt": "SUBTASK-QX7: run one shell command and report the quokka count.",
     "subagent_type": "general-purpose"}}]}}
]})";

struct Exchange {
  const json::object* log = nullptr;
  const clawtrace::Event* input = nullptr;
  const clawtrace::Event* output = nullptr;
};

// The exchanges of each script rule, with the llm_input and llm_output ClawTrace recorded.
std::map<std::string, std::vector<Exchange>> exchanges_by_rule(
    const e2e::Trace& t, const std::vector<json::object>& log, const std::vector<const clawtrace::Event*>& outputs) {
  std::map<std::string, std::vector<Exchange>> out;
  for (size_t i = 0; i < log.size(); ++i) {
    Exchange x{&log[i], nullptr, outputs[i]};
    for (const auto* in : t.of(EventType::llm_input))
      if (x.output && in->span == x.output->span && in->session == x.output->session) x.input = in;
    out[e2e::s(log[i], "rule")].push_back(x);
  }
  return out;
}

// The model tool call with this tool-use id (as the stand-in logged it sent).
const e2e::ToolSpan* call_with_id(const std::vector<e2e::ToolSpan>& calls, const json::object& log) {
  const std::string id = e2e::s(log.at("tool_calls").at(0).as_object(), "id");
  for (const auto& c : calls)
    if (e2e::s(c.open->data, "id") == id) return &c;
  return nullptr;
}

int64_t usage_of(const clawtrace::Event* out, std::string_view key) {
  const auto* usage = out ? out->data.if_contains("usage") : nullptr;
  const auto* v = usage && usage->is_object() ? usage->get_object().if_contains(key) : nullptr;
  return v && v->is_number() ? v->to_number<int64_t>() : 0;
}

// The sub-agent contract (/tmp/contract.md, being implemented in hooks/): one
// subagent_spawned under the spawning tool call, one subagent_ended with the answer.
void expect_subagent_events(const e2e::Trace& t, const e2e::ToolSpan& spawn, const std::vector<Exchange>& sub,
                            const std::string& sub_thread) {
  const auto spawned = t.of(EventType::subagent_spawned);
  const auto ended = t.of(EventType::subagent_ended);
  ASSERT_EQ(spawned.size(), 1u) << "subagent_spawned events";
  ASSERT_EQ(ended.size(), 1u) << "subagent_ended events";
  const auto& sp = *spawned[0];
  const auto& en = *ended[0];
  EXPECT_EQ(sp.session, spawn.open->session);
  EXPECT_EQ(sp.parent.value_or(""), spawn.open->span) << "spawned under the model's tool call";
  EXPECT_EQ(sp.span, sub_thread) << "in-process: the sub-agent's id is its thread";
  EXPECT_EQ(e2e::s(sp.data, "how"), "in_process");
  EXPECT_EQ(e2e::s(sp.data, "thread"), sub_thread);
  EXPECT_EQ(e2e::s(sp.data, "tool_name"), e2e::s(spawn.open->data, "name"));
  EXPECT_NE(e2e::s(sp.data, "task").find(kSubTask), std::string::npos) << e2e::s(sp.data, "task");
  for (const auto& x : sub) EXPECT_EQ(x.input->parent.value_or(""), sp.span) << "a sub-agent call under its span";
  EXPECT_EQ(en.span, sp.span);
  EXPECT_EQ(en.parent, sp.parent);
  EXPECT_EQ(e2e::s(en.data, "how"), "in_process");
  EXPECT_EQ(e2e::s(en.data, "status"), "ok");
  EXPECT_NE(e2e::s(en.data, "final_text").find(kSubFinal), std::string::npos) << e2e::s(en.data, "final_text");
  // Its answer came back as the spawning call's tool result: the provenance names that call.
  const std::string provenance = en.data.contains("provenance") ? json::serialize(en.data.at("provenance")) : "";
  EXPECT_TRUE(provenance.find(e2e::s(spawn.open->data, "id")) != std::string::npos ||
              provenance.find(spawn.open->span) != std::string::npos)
      << provenance;
  EXPECT_EQ(e2e::u(en.data, "llm_calls"), sub.size());
  int64_t input = 0, output = 0;
  for (const auto& x : sub) input += usage_of(x.output, "input"), output += usage_of(x.output, "output");
  EXPECT_EQ(usage_of(&en, "input"), input);
  EXPECT_EQ(usage_of(&en, "output"), output);
}

// `claude -p` delegating to its sub-agent tool. Nonessential traffic stays on, since that
// is what makes the title (side) request, but goes through a proxy that is the stand-in,
// which refuses it (404 to CONNECT): nothing leaves 127.0.0.1.
TEST_F(NodeClients, ClaudeCodeTaskSubagent) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(kTaskScript));
  const std::string url = f.http_url();
  auto run = f.run_traced({g_modules + "/.bin/claude", "-p", kMainPrompt, "--allowedTools", "Agent,Task,Bash"},
                          {"ANTHROPIC_BASE_URL=" + url, std::string("ANTHROPIC_API_KEY=") + e2e::kSecret,
                           "DISABLE_AUTOUPDATER=1", "HTTPS_PROXY=" + url, "HTTP_PROXY=" + url,
                           "NO_PROXY=127.0.0.1,localhost"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find(kMainFinal), std::string::npos) << run.out;
  const auto log = f.standin_log();
  const e2e::Trace t = f.trace();
  const auto by_rule = exchanges_by_rule(t, log, expect_all_outputs_match(t, log));
  auto rule = [&](const char* name) { return by_rule.count(name) ? by_rule.at(name) : std::vector<Exchange>{}; };
  const auto spawns = rule("main-spawn"), subs = rule("sub-bash"), sub_finals = rule("sub-final");
  const auto main_finals = rule("main-final"), sides = rule("side");
  ASSERT_EQ(spawns.size(), 1u);
  ASSERT_EQ(subs.size(), 1u);
  ASSERT_EQ(sub_finals.size(), 1u);
  ASSERT_EQ(main_finals.size(), 1u);
  EXPECT_GE(sides.size(), 1u) << "Claude Code's title request";
  std::vector<Exchange> sub = subs;
  sub.push_back(sub_finals[0]);
  for (const auto& x : {spawns[0], sub[0], sub[1], main_finals[0]}) ASSERT_NE(x.input, nullptr);

  // The spawning tool call opens and closes with the sub-agent's answer as its result.
  const auto calls = t.model_tool_calls();
  const e2e::ToolSpan* spawn = call_with_id(calls, *spawns[0].log);
  ASSERT_NE(spawn, nullptr);
  ASSERT_NE(spawn->close, nullptr);
  EXPECT_NE(e2e::s(spawn->close->data, "result").find(kSubFinal), std::string::npos)
      << e2e::s(spawn->close->data, "result");
  // The sub-agent's Bash call runs inside it, and its shell nests under that call.
  const e2e::ToolSpan* bash = call_with_id(calls, *subs[0].log);
  ASSERT_NE(bash, nullptr);
  ASSERT_NE(bash->close, nullptr);
  EXPECT_GT(bash->open->t_ns, spawn->open->t_ns);
  EXPECT_LT(bash->close->t_ns, spawn->close->t_ns);
  bool ran_it = false;
  for (const auto* p : t.process_spans_under(bash->open->span)) {
    const clawtrace::Event* end = t.end_of(*p);
    const auto* argv = end ? end->data.if_contains("argv") : nullptr;
    ran_it = ran_it || (argv && json::serialize(*argv).find("echo quokka from the sub-agent") != std::string::npos);
  }
  EXPECT_TRUE(ran_it);

  // Thread roles: one main thread, one sub-agent thread, side calls under the session.
  const std::string session = spawns[0].input->session;
  const std::string main_thread = e2e::s(spawns[0].input->data, "thread");
  const std::string sub_thread = e2e::s(sub[0].input->data, "thread");
  EXPECT_NE(main_thread, sub_thread);
  for (const auto& x : {spawns[0], main_finals[0]}) {
    EXPECT_EQ(e2e::s(x.input->data, "thread"), main_thread);
    EXPECT_EQ(e2e::s(x.input->data, "thread_role"), "main");
    EXPECT_EQ(x.input->parent.value_or(""), session);
  }
  for (const auto& x : sub) {
    EXPECT_EQ(e2e::s(x.input->data, "thread"), sub_thread);
    EXPECT_EQ(e2e::s(x.input->data, "thread_role"), "subagent");
  }
  for (const auto& x : sides) {
    ASSERT_NE(x.input, nullptr);
    EXPECT_EQ(e2e::s(x.input->data, "thread_role"), "side");
    EXPECT_EQ(x.input->parent.value_or(""), session);
  }
  expect_subagent_events(t, *spawn, sub, sub_thread);
  f.expect_no_secret_in_store();
}

}  // namespace
