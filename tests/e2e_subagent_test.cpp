// Sub-agents end to end: a Python agent (tests/clients/py_delegating_agent.py) that
// delegates to a child agent process, which delegates again — depth 3, all talking to the
// stand-in over HTTPS, started through sh -c, env, xargs, posix_spawn and a double fork.
// Three linked agent sessions, each subagent_spawned/subagent_ended pair on the right
// parent span, the child's answer carried for provenance, one span tree across them; a
// sub-agent killed mid-work leaves the tree above intact and is marked truncated.
#include "e2e_support.h"

namespace e2e = clawtrace::e2e;
namespace json = boost::json;
using clawtrace::Event;
using clawtrace::EventType;
using clawtrace::SessionInfo;
using clawtrace::SpanNode;
using clawtrace::SpanTree;

namespace {

const std::string kTask1 = "depth 1: plan a trip to Lisbon";
const std::string kTask2 = "depth 2: book the hotel in Lisbon";
const std::string kTask3 = "depth 3: compare three hotel prices";
const std::string kLeafAnswer = "Hotel Baixa is cheapest at 90 EUR a night.";
const std::string kMiddleAnswer = "Booked Hotel Baixa for three nights.";
const std::string kRootAnswer = "Trip planned: flights next, hotel booked.";

// Each depth's first request delegates the next task; the leaf answers; each tool result
// then gets that depth's answer (the deeper one comes back first).
std::string script() {
  auto delegate = [](const std::string& task) {
    return R"({"tool_calls": [{"name": "delegate", "arguments": {"task": ")" + task + R"("}}]})";
  };
  return R"({"rules": [
    {"when": {"last_is_tool_result": true, "nth": 1}, "reply": {"text": ")" + kMiddleAnswer + R"("}},
    {"when": {"last_is_tool_result": true, "nth": 2}, "reply": {"text": ")" + kRootAnswer + R"("}},
    {"when": {"user_contains": "depth 3"}, "reply": {"text": ")" + kLeafAnswer + R"("}},
    {"when": {"user_contains": "depth 2"}, "reply": )" + delegate(kTask3) + R"(},
    {"when": {"user_contains": "depth 1"}, "reply": )" + delegate(kTask2) + R"(}
  ]})";
}

std::string str(const json::object& o, std::string_view k) { return e2e::s(o, k); }

// The agent sessions (those that called a model), by the task of their first call.
struct Agents {
  std::map<std::string, std::string> by_task;  // task -> session id
};

Agents agents_of(const e2e::Trace& t) {
  Agents a;
  for (const auto* in : t.of(EventType::llm_input)) {
    const auto& added = in->data.at("messages_added").as_array();
    if (e2e::u(in->data, "messages_added_from") != 0 || added.empty()) continue;
    std::string first = json::serialize(added.at(0));
    for (const auto& task : {kTask1, kTask2, kTask3})
      if (first.find(task) != std::string::npos) a.by_task[task] = in->session;
  }
  return a;
}

const Event* delegate_call(const e2e::Trace& t, const std::string& session) {
  for (const auto& c : t.model_tool_calls())
    if (c.open->session == session && str(c.open->data, "name") == "delegate") return c.open;
  return nullptr;
}

const Event* in_session(const std::vector<const Event*>& list, const std::string& session) {
  for (const auto* e : list)
    if (e->session == session) return e;
  return nullptr;
}

// The last non-empty llm_output text of a session.
std::string last_text(const e2e::Trace& t, const std::string& session) {
  std::string text;
  for (const auto* out : t.of(EventType::llm_output))
    if (out->session == session && !str(out->data, "text").empty()) text = str(out->data, "text");
  return text;
}

// The path of node kinds from the tree's root down to the session node of `session`.
std::vector<SpanNode::Kind> path_to(const SpanTree& tree, const std::string& session) {
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    if (tree.nodes[i].kind != SpanNode::Kind::session || tree.nodes[i].session != session) continue;
    std::vector<SpanNode::Kind> path;
    for (size_t at = i; at != 0; at = tree.nodes[at].parent) path.insert(path.begin(), tree.nodes[at].kind);
    return path;
  }
  return {};
}

class Subagents : public ::testing::TestWithParam<std::string> {};

TEST_P(Subagents, ThreeLinkedAgentSessions) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(script()));
  auto run = f.run_traced({e2e::python(), e2e::client_script("py_delegating_agent.py"), f.https_url(), "--cafile",
                           f.cert(), "--key", e2e::kSecret, "--task", kTask1, "--via", GetParam()});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, kRootAnswer + "\n");
  e2e::Trace t = f.trace();
  ASSERT_EQ(f.standin_log().size(), 5u);
  Agents a = agents_of(t);
  ASSERT_EQ(a.by_task.size(), 3u);
  const std::string s1 = a.by_task[kTask1], s2 = a.by_task[kTask2], s3 = a.by_task[kTask3];
  auto spawned = t.of(EventType::subagent_spawned);
  auto ended = t.of(EventType::subagent_ended);
  ASSERT_EQ(spawned.size(), 2u);
  ASSERT_EQ(ended.size(), 2u);

  // Each child is announced in its parent agent's session, under that agent's delegate call.
  struct Link {
    std::string parent, child, answer;
  };
  for (const Link& l : {Link{s1, s2, kMiddleAnswer}, Link{s2, s3, kLeafAnswer}}) {
    const Event* call = delegate_call(t, l.parent);
    const Event* sp = in_session(spawned, l.parent);
    const Event* end = in_session(ended, l.parent);
    ASSERT_TRUE(call && sp && end) << l.parent;
    EXPECT_EQ(sp->span, l.child);
    EXPECT_EQ(sp->parent, call->span);
    EXPECT_EQ(str(sp->data, "how"), "process");
    EXPECT_EQ(str(sp->data, "child_session"), l.child);
    EXPECT_EQ(str(sp->data, "tool_name"), "delegate");
    EXPECT_EQ(end->span, l.child);
    EXPECT_EQ(end->parent, call->span);
    EXPECT_EQ(str(end->data, "status"), "ok");
    EXPECT_EQ(str(end->data, "final_text"), l.answer);
    EXPECT_EQ(str(end->data, "final_text"), last_text(t, l.child));
    EXPECT_LE(sp->t_ns, end->t_ns);
  }
  // Totals roll up: the middle agent's include the leaf's call.
  EXPECT_EQ(e2e::u(in_session(ended, s1)->data, "llm_calls"), 3u);
  EXPECT_EQ(e2e::u(in_session(ended, s2)->data, "llm_calls"), 1u);

  // One tree: root session → llm → delegate → sub-agent → session → llm → delegate → …
  SpanTree tree = f.tree(s1);
  using K = SpanNode::Kind;
  EXPECT_EQ(path_to(tree, s2), (std::vector<K>{K::llm, K::tool, K::subagent, K::session}));
  EXPECT_EQ(path_to(tree, s3), (std::vector<K>{K::llm, K::tool, K::subagent, K::session, K::llm, K::tool,
                                               K::subagent, K::session}));
  // The card of the whole run is the stand-in's bill.
  e2e::expect_card_matches_ledger(f, s1);
  f.expect_no_secret_in_store();
}

INSTANTIATE_TEST_SUITE_P(Launchers, Subagents, ::testing::Values("sh,spawn", "env,double_fork", "xargs,sh"),
                         [](const auto& p) {
                           std::string name = p.param;
                           for (char& c : name)
                             if (c == ',') c = '_';
                           return name;
                         });

TEST(SubagentsKilled, KilledSubagentIsTruncatedAndTheTreeAboveIsIntact) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(script()));
  auto run = f.run_traced({e2e::python(), e2e::client_script("py_delegating_agent.py"), f.https_url(), "--cafile",
                           f.cert(), "--task", kTask1, "--via", "sh,spawn", "--hang-at", "3"});
  ASSERT_EQ(run.status, 0) << run.err;
  e2e::Trace t = f.trace();
  Agents a = agents_of(t);
  ASSERT_EQ(a.by_task.size(), 3u);
  const std::string s1 = a.by_task[kTask1], s2 = a.by_task[kTask2], s3 = a.by_task[kTask3];
  const Event* end = in_session(t.of(EventType::subagent_ended), s2);
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(end->span, s3);
  EXPECT_EQ(str(end->data, "status"), "truncated");
  EXPECT_EQ(e2e::u(end->data, "signal"), 9u);
  EXPECT_EQ(str(end->data, "final_text"), kLeafAnswer);  // it had answered before it hung
  // The agents above ended normally, the middle one's tool result saying what happened.
  for (const auto& info : t.infos) {
    if (info.id == s1 || info.id == s2) {
      EXPECT_EQ(info.status, clawtrace::SessionStatus::ok) << info.id;
    }
    if (info.id == s3) {
      EXPECT_EQ(info.status, clawtrace::SessionStatus::truncated);
    }
  }
  const Event* up = in_session(t.of(EventType::subagent_ended), s1);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(str(up->data, "status"), "ok");
  SpanTree tree = f.tree(s1);
  EXPECT_EQ(path_to(tree, s3).size(), 8u);
}

}  // namespace

namespace {

const std::string kSubPrompt = "SUBTASK: list the TODO comments under src, by file";
const std::string kSubAnswer = "SUB-ANSWER: two TODO comments, both in src/main.c.";

// A Python agent whose Task tool runs a second conversation in the same process; a title
// request without tools runs while the tool call is open.
TEST(InProcessSubagents, TaskToolConversationIsASubagentAndTheTitleCallIsNot) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [
    {"when": {"has_tools": false}, "reply": {"text": "Repository tidy-up, step one"}},
    {"when": {"last_is_tool_result": true, "nth": 1}, "reply": {"text": ")" + kSubAnswer + R"("}},
    {"when": {"last_is_tool_result": true, "nth": 2}, "reply": {"text": "All done."}},
    {"when": {"user_contains": "SUBTASK"}, "reply": {"tool_calls": [{"name": "bash", "arguments": {"command": "echo src/main.c: TODO one; echo src/main.c: TODO two"}}]}},
    {"when": {"tool_offered": "Task"}, "reply": {"tool_calls": [{"name": "Task", "arguments": {"description": "find todos", "prompt": ")" +
                                 kSubPrompt + R"("}}]}}
  ]})"));
  auto run = f.run_traced({e2e::python(), e2e::client_script("py_task_agent.py"), f.https_url(), "--cafile", f.cert(),
                           "--key", e2e::kSecret});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "All done.\n");
  e2e::Trace t = f.trace();
  ASSERT_EQ(f.standin_log().size(), 5u);
  const Event* task = nullptr;
  const Event* task_end = nullptr;
  const Event* inner_bash = nullptr;
  for (const auto& c : t.model_tool_calls()) {
    if (str(c.open->data, "name") == "Task") {
      task = c.open;
      task_end = c.close;
    }
    if (str(c.open->data, "name") == "bash") inner_bash = c.open;
  }
  ASSERT_TRUE(task && task_end && inner_bash);
  auto spawned = t.of(EventType::subagent_spawned);
  auto ended = t.of(EventType::subagent_ended);
  ASSERT_EQ(spawned.size(), 1u);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(str(spawned[0]->data, "how"), "in_process");
  EXPECT_EQ(spawned[0]->parent, task->span);
  EXPECT_EQ(str(spawned[0]->data, "task"), kSubPrompt);
  EXPECT_EQ(ended[0]->parent, task->span);
  EXPECT_EQ(str(ended[0]->data, "final_text"), kSubAnswer);
  EXPECT_EQ(str(ended[0]->data.at("provenance").as_object(), "returned_in"), "tool_result");
  EXPECT_EQ(str(task_end->data, "result"), kSubAnswer);

  // Roles: main, side (the title), sub-agent x2, main.
  auto inputs = t.of(EventType::llm_input);
  ASSERT_EQ(inputs.size(), 5u);
  std::vector<std::string> roles;
  for (const auto* in : inputs) roles.push_back(str(in->data, "thread_role"));
  EXPECT_EQ(roles, (std::vector<std::string>{"main", "side", "subagent", "subagent", "main"}));
  EXPECT_EQ(inputs[1]->parent, inputs[1]->session);
  EXPECT_EQ(inputs[2]->parent, spawned[0]->span);
  EXPECT_EQ(inputs[3]->parent, spawned[0]->span);
  EXPECT_EQ(str(inputs[4]->data, "thread"), str(inputs[0]->data, "thread"));

  // The tree: the sub-agent's calls, its bash call and the process under the Task call.
  SpanTree tree = f.tree(inputs[0]->session);
  const SpanNode* shell = nullptr;
  for (const auto& n : tree.nodes)
    if (n.kind == SpanNode::Kind::process && n.parent < tree.nodes.size() &&
        tree.nodes[n.parent].span == inner_bash->span)
      shell = &n;
  ASSERT_NE(shell, nullptr);
  std::vector<SpanNode::Kind> up;
  for (size_t at = tree.nodes[shell->parent].parent; at != 0; at = tree.nodes[at].parent) up.push_back(tree.nodes[at].kind);
  using K = SpanNode::Kind;
  EXPECT_EQ(up, (std::vector<K>{K::llm, K::subagent, K::tool, K::llm}));
  e2e::expect_card_matches_ledger(f, inputs[0]->session);
  f.expect_no_secret_in_store();
}

}  // namespace
