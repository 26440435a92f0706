// Sub-agents over an in-memory book: in-process ones (a Task-style tool call running a
// second conversation inside it; a spawn-style call that returns at once while the child
// runs on and announces its answer later), side calls that are not sub-agents, and
// process ones (a child session making LLM calls, through a shell that does not), ended
// normally or killed. Every scenario is also fed with the state saved to JSON and
// restored after every record, as ingestion passes do, and must give the same events.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <map>

#include "memory_book.h"
#include "synth.h"

using namespace clawtrace;
namespace json = boost::json;

namespace {

struct Book : clawtrace::test::MemoryBook {
  void round_trip() { ASSERT_TRUE(MemoryBook::round_trip()); }
};

// Builds the records of processes talking Anthropic Messages over captured connections.
class Capture {
 public:
  struct Tagged {
    uint64_t session;
    SpoolRecord record;
  };

  void start(uint64_t session, uint32_t pid, std::vector<std::string> argv, uint64_t parent = 0,
             uint64_t parent_span = 0) {
    SpoolRecord r = rec(wire::RecordType::proc_start);
    r.pid = pid;
    r.session = session;
    r.trace_hi = 1;
    r.trace_lo = 2;
    r.ppid = 1;
    r.argv = std::move(argv);
    r.via = static_cast<uint64_t>(parent ? wire::Via::child : wire::Via::root);
    if (parent) {
      r.parent_session = parent;
      r.parent_span = parent_span;
      r.parent_exact = 1;
    }
    add(session, r);
  }

  void spawn(uint64_t session, uint64_t span, uint64_t child_pid, std::vector<std::string> argv) {
    SpoolRecord r = rec(wire::RecordType::spawn);
    r.span = span;
    r.kind = static_cast<uint64_t>(wire::SpawnKind::posix_spawn);
    r.child_pid = child_pid;
    r.argv = std::move(argv);
    add(session, r);
  }

  void reap(uint64_t session, uint64_t child_pid, int status) {
    SpoolRecord r = rec(wire::RecordType::reap);
    r.child_pid = child_pid;
    r.wait_status = static_cast<uint64_t>(status);
    add(session, r);
  }

  void exit(uint64_t session, int code) {
    SpoolRecord r = rec(wire::RecordType::proc_exit);
    r.exit_code = static_cast<uint64_t>(code);
    r.exit_via = static_cast<uint64_t>(wire::ExitVia::exit);
    add(session, r);
  }

  // One request and its response on connection `conn` of `session` (opened on first use).
  void request(uint64_t session, uint64_t conn, const std::string& body, const std::string& path = "/v1/messages") {
    open(session, conn);
    send(session, conn, 0,
         "POST " + path + " HTTP/1.1\r\nHost: api.anthropic.com\r\ncontent-type: application/json\r\n"
         "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  void response(uint64_t session, uint64_t conn, const std::string& body) {
    send(session, conn, 1,
         "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body);
  }
  void exchange(uint64_t session, uint64_t conn, const std::string& req, const std::string& resp) {
    request(session, conn, req);
    response(session, conn, resp);
  }

  std::vector<Event> run(bool round_trip) const {
    Book book;
    Synthesizer synth(book);
    for (const auto& t : records) {
      synth.apply(hex_id(t.session), t.record);
      if (round_trip) book.round_trip();
    }
    for (uint64_t killed : killed_) synth.finish_truncated(hex_id(killed), t_ + 1);
    return book.events;
  }

  void kill(uint64_t session) { killed_.push_back(session); }
  std::vector<Tagged> records;

 private:
  SpoolRecord rec(wire::RecordType type) {
    SpoolRecord r;
    r.type = type;
    r.t_ns = t_ += 1000;
    r.pid = 1;
    return r;
  }
  void add(uint64_t session, SpoolRecord r) { records.push_back({session, std::move(r)}); }
  void open(uint64_t session, uint64_t conn) {
    if (!opened_.insert({conn, 0}).second) return;
    SpoolRecord r = rec(wire::RecordType::conn_open);
    r.conn = conn;
    r.layer = static_cast<uint64_t>(wire::Layer::tls);
    r.host = "api.anthropic.com";
    add(session, r);
  }
  void send(uint64_t session, uint64_t conn, int dir, const std::string& bytes) {
    uint64_t& offset = dir == 0 ? opened_[conn] : in_[conn];
    SpoolRecord r = rec(wire::RecordType::conn_data);
    r.conn = conn;
    r.direction = static_cast<uint64_t>(dir);
    r.stream_offset = offset;
    r.payload = bytes;
    offset += bytes.size();
    add(session, r);
  }
  uint64_t t_ = 1'000'000;
  std::map<uint64_t, uint64_t> opened_, in_;
  std::vector<uint64_t> killed_;
};

std::string user(const std::string& text) { return R"({"role":"user","content":")" + text + R"("})"; }
std::string tool_use(const std::string& id, const std::string& name, const std::string& input) {
  return R"({"role":"assistant","content":[{"type":"tool_use","id":")" + id + R"(","name":")" + name +
         R"(","input":)" + input + "}]}";
}
std::string tool_result(const std::string& id, const std::string& text) {
  return R"({"role":"user","content":[{"type":"tool_result","tool_use_id":")" + id + R"(","content":")" + text +
         R"("}]})";
}
std::string assistant(const std::string& text) { return R"({"role":"assistant","content":")" + text + R"("})"; }

std::string req(const std::string& system, const std::vector<std::string>& tools, const std::vector<std::string>& msgs) {
  std::string t, m;
  for (const auto& name : tools) t += (t.empty() ? "" : ",") + std::string(R"({"name":")") + name + R"(","input_schema":{}})";
  for (const auto& x : msgs) m += (m.empty() ? "" : ",") + x;
  return R"({"model":"claude-sonnet-4-5","max_tokens":100,"system":")" + system + R"(","tools":[)" + t +
         R"(],"messages":[)" + m + "]}";
}

std::string says(const std::string& text, int in = 100, int out = 10) {
  return R"({"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":")" +
         text + R"("}],"stop_reason":"end_turn","usage":{"input_tokens":)" + std::to_string(in) +
         R"(,"output_tokens":)" + std::to_string(out) + "}}";
}
std::string calls(const std::string& id, const std::string& name, const std::string& input, int in = 100,
                  int out = 10) {
  return R"({"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"tool_use","id":")" +
         id + R"(","name":")" + name + R"(","input":)" + input + R"(}],"stop_reason":"tool_use","usage":{"input_tokens":)" +
         std::to_string(in) + R"(,"output_tokens":)" + std::to_string(out) + "}}";
}

std::vector<const Event*> of(const std::vector<Event>& ev, EventType type, const std::string& session = "") {
  std::vector<const Event*> out;
  for (const auto& e : ev)
    if (e.type == type && (session.empty() || e.session == session)) out.push_back(&e);
  return out;
}

const Event* tool_call(const std::vector<Event>& ev, const std::string& name, EventType type) {
  for (const auto& e : ev)
    if (e.type == type && e.data.contains("name") && e.data.at("name") == name.c_str() &&
        e.data.at("source") == "model")
      return &e;
  return nullptr;
}

std::string s(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

void expect_same_with_round_trips(const Capture& c) {
  auto straight = c.run(false), passes = c.run(true);
  ASSERT_EQ(straight.size(), passes.size());
  for (size_t i = 0; i < straight.size(); ++i) EXPECT_EQ(to_json_line(straight[i]), to_json_line(passes[i])) << i;
}

constexpr uint64_t kMain = 0x100, kConnMain = 0xa1, kConnSub = 0xa2, kConnSide = 0xa3;
const std::string kTask = "Find every TODO comment in src and list them by file";
const std::string kSubAnswer = "Found 3 TODOs: parser.c (2) and main.c (1).";

// Claude Code's Task tool, reduced: the main conversation asks for Task; inside it a
// second conversation (its own tools) runs bash and answers; the answer comes back as
// the tool result; a title request without tools runs alongside.
Capture task_scenario() {
  Capture c;
  c.start(kMain, 10, {"agent"});
  const std::string task_input = R"({"description":"find todos","prompt":")" + kTask + R"("})";
  c.exchange(kMain, kConnMain, req("You are the main agent", {"Task", "Bash"}, {user("clean up the repo")}),
             calls("toolu_task", "Task", task_input, 500, 40));
  c.exchange(kMain, kConnSide, req("Write a title", {}, {user("clean up the repo")}), says("Repo clean-up", 20, 3));
  c.exchange(kMain, kConnSub, req("You are a sub-agent", {"Bash"}, {user(kTask)}),
             calls("toolu_grep", "Bash", R"({"command":"grep -rn TODO src"})", 200, 20));
  c.spawn(kMain, 0x51, 11, {"/bin/sh", "-c", "grep -rn TODO src"});
  c.reap(kMain, 11, 0);
  c.exchange(kMain, kConnSub,
             req("You are a sub-agent", {"Bash"},
                 {user(kTask), tool_use("toolu_grep", "Bash", R"({"command":"grep -rn TODO src"})"),
                  tool_result("toolu_grep", "src/parser.c:1: TODO")}),
             says(kSubAnswer, 300, 30));
  c.exchange(kMain, kConnMain,
             req("You are the main agent", {"Task", "Bash"},
                 {user("clean up the repo"), tool_use("toolu_task", "Task", task_input),
                  tool_result("toolu_task", kSubAnswer + " (agent finished)")}),
             says("All TODOs listed.", 700, 10));
  c.exit(kMain, 0);
  return c;
}

TEST(InProcessSubagent, TaskToolRunsASecondConversation) {
  auto ev = task_scenario().run(false);
  const std::string main = hex_id(kMain);
  const Event* task = tool_call(ev, "Task", EventType::before_tool_call);
  const Event* task_end = tool_call(ev, "Task", EventType::after_tool_call);
  ASSERT_TRUE(task && task_end);
  auto spawned = of(ev, EventType::subagent_spawned);
  auto ended = of(ev, EventType::subagent_ended);
  ASSERT_EQ(spawned.size(), 1u);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(spawned[0]->parent, task->span);
  EXPECT_EQ(s(spawned[0]->data, "how"), "in_process");
  EXPECT_EQ(s(spawned[0]->data, "task"), kTask);
  EXPECT_EQ(s(spawned[0]->data, "tool_name"), "Task");
  EXPECT_EQ(ended[0]->span, spawned[0]->span);
  EXPECT_EQ(ended[0]->parent, task->span);

  auto inputs = of(ev, EventType::llm_input);
  ASSERT_EQ(inputs.size(), 5u);
  // main, side (title), sub-agent x2, main again.
  EXPECT_EQ(s(inputs[0]->data, "thread_role"), "main");
  EXPECT_EQ(inputs[0]->parent, main);
  EXPECT_EQ(s(inputs[1]->data, "thread_role"), "side");
  EXPECT_EQ(inputs[1]->parent, main);
  for (int i : {2, 3}) {
    EXPECT_EQ(s(inputs[i]->data, "thread_role"), "subagent");
    EXPECT_EQ(inputs[i]->parent, spawned[0]->span);
    EXPECT_EQ(s(inputs[i]->data, "thread"), spawned[0]->span);
  }
  EXPECT_EQ(s(inputs[4]->data, "thread_role"), "main");
  EXPECT_EQ(s(inputs[4]->data, "thread"), s(inputs[0]->data, "thread"));
  EXPECT_EQ(inputs[4]->data.at("messages_added_from").as_uint64(), 1u);
  for (const auto* out : of(ev, EventType::llm_output)) {
    for (const auto* in : inputs)
      if (in->span == out->span) {
        EXPECT_EQ(out->parent, in->parent);
      }
  }

  // The sub-agent's own tool call, and the process it ran, nest inside it.
  const Event* bash = tool_call(ev, "Bash", EventType::before_tool_call);
  ASSERT_NE(bash, nullptr);
  auto outputs = of(ev, EventType::llm_output);
  EXPECT_EQ(bash->parent, outputs[2]->span);
  bool nested = false;
  for (const auto* b : of(ev, EventType::before_tool_call))
    if (s(b->data, "source") == "process") nested = b->parent == bash->span;
  EXPECT_TRUE(nested);

  const json::object& d = ended[0]->data;
  EXPECT_EQ(s(d, "status"), "ok");
  EXPECT_EQ(s(d, "final_text"), kSubAnswer);
  EXPECT_EQ(d.at("llm_calls").as_uint64(), 2u);
  EXPECT_EQ(d.at("usage").at("input").as_int64(), 500);
  EXPECT_EQ(d.at("usage").at("output").as_int64(), 50);
  const json::object& prov = d.at("provenance").as_object();
  EXPECT_EQ(s(prov, "returned_in"), "tool_result");
  EXPECT_EQ(s(prov, "tool_span"), task->span);
  ASSERT_EQ(prov.at("outputs").as_array().size(), 1u);
  EXPECT_EQ(prov.at("outputs").at(0).at("span"), outputs[3]->span.c_str());
  EXPECT_EQ(prov.at("outputs").at(0).at("match"), "full");
  EXPECT_LE(ended[0]->t_ns, task_end->t_ns);
}

TEST(InProcessSubagent, StateSurvivesJsonBetweenEveryRecord) { expect_same_with_round_trips(task_scenario()); }

// OpenClaw's sessions_spawn, reduced: the call returns "accepted" at once; the child
// conversation (its first message carries the task) starts afterwards and answers; the
// answer is announced into the parent's conversation as a new user message.
Capture spawn_scenario() {
  Capture c;
  c.start(kMain, 10, {"openclaw"});
  const std::string spawn_input = R"({"task":"Write a haiku about the sea and return it","label":"poet"})";
  const std::string haiku = "Grey waves fold to foam, salt wind combs the empty shore, gulls write on the tide.";
  c.exchange(kMain, kConnMain, req("main", {"sessions_spawn", "exec"}, {user("get me a sea haiku")}),
             calls("toolu_sp", "sessions_spawn", spawn_input));
  const std::string accepted = R"({\"status\":\"accepted\",\"runId\":\"r1\"})";
  c.exchange(kMain, kConnMain,
             req("main", {"sessions_spawn", "exec"},
                 {user("get me a sea haiku"), tool_use("toolu_sp", "sessions_spawn", spawn_input),
                  tool_result("toolu_sp", accepted)}),
             says("A sub-agent is writing it."));
  c.exchange(kMain, kConnSub,
             req("child", {"exec"}, {user("[Subagent Task]: Write a haiku about the sea and return it")}),
             says(haiku, 80, 25));
  c.exchange(kMain, kConnMain,
             req("main", {"sessions_spawn", "exec"},
                 {user("get me a sea haiku"), tool_use("toolu_sp", "sessions_spawn", spawn_input),
                  tool_result("toolu_sp", accepted), assistant("A sub-agent is writing it."),
                  user("[System] Sub-agent poet finished: " + haiku)}),
             says("Here it is: " + haiku));
  c.exit(kMain, 0);
  return c;
}

TEST(InProcessSubagent, SpawnStyleChildIsLinkedByTaskAndEndsWhenAnnounced) {
  auto ev = spawn_scenario().run(false);
  const Event* spawn = tool_call(ev, "sessions_spawn", EventType::before_tool_call);
  const Event* spawn_end = tool_call(ev, "sessions_spawn", EventType::after_tool_call);
  ASSERT_TRUE(spawn && spawn_end);
  auto spawned = of(ev, EventType::subagent_spawned);
  auto ended = of(ev, EventType::subagent_ended);
  ASSERT_EQ(spawned.size(), 1u);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(spawned[0]->parent, spawn->span);
  EXPECT_TRUE(spawned[0]->data.at("tool_returned").as_bool());
  EXPECT_GT(spawned[0]->t_ns, spawn_end->t_ns);
  auto inputs = of(ev, EventType::llm_input);
  ASSERT_EQ(inputs.size(), 4u);
  EXPECT_EQ(s(inputs[2]->data, "thread_role"), "subagent");
  EXPECT_EQ(inputs[2]->parent, spawned[0]->span);
  EXPECT_EQ(s(inputs[3]->data, "thread_role"), "main");
  const json::object& prov = ended[0]->data.at("provenance").as_object();
  EXPECT_EQ(s(prov, "returned_in"), "message");
  EXPECT_EQ(s(prov, "llm_span"), inputs[3]->span);
  EXPECT_EQ(prov.at("message").as_uint64(), 4u);
  EXPECT_EQ(s(prov, "role"), "user");
  EXPECT_EQ(ended[0]->t_ns, inputs[3]->t_ns);
  EXPECT_EQ(s(ended[0]->data, "status"), "ok");
}

TEST(InProcessSubagent, SpawnStyleStateSurvivesJson) { expect_same_with_round_trips(spawn_scenario()); }

// OpenClaw, as captured: every request ends with a context message it re-renders each
// turn (so no request is a prefix of the next), the system prompt and tool set change
// between turns, and tool-call ids come back stripped to [A-Za-z0-9]. Still one
// conversation, its tool calls closed by their results, the child linked by its task and
// ended by the announcement.
TEST(InProcessSubagent, OpenClawShapedTurnsStayOneConversation) {
  Capture c;
  c.start(kMain, 10, {"openclaw"});
  const std::string ctx1 = user("<<<CONTEXT>>> Active Subagents: none");
  const std::string spawn_input = R"({"task":"TASK-7Q: reply with the magic word","label":"magic"})";
  c.exchange(kMain, kConnMain, req("main v1", {"sessions_spawn", "exec"}, {user("Spawn a sub-agent for the magic word"), ctx1}),
             calls("call_standin_1", "sessions_spawn", spawn_input));
  const std::string accepted = R"({\"status\":\"accepted\"})";
  c.exchange(kMain, kConnMain,
             req("main v1", {"sessions_spawn", "exec"},
                 {user("Spawn a sub-agent for the magic word"), tool_use("callstandin1", "sessions_spawn", spawn_input),
                  tool_result("callstandin1", accepted), user("<<<CONTEXT>>> Active Subagents: magic")}),
             says("Waiting for the sub-agent."));
  c.exchange(kMain, kConnSub,
             req("child", {"exec"}, {user("[Subagent Task] TASK-7Q: reply with the magic word. Begin."), ctx1}),
             says("CHILD-RESULT-4242 is the magic word"));
  c.exchange(kMain, kConnMain,
             req("main v2", {"exec"},
                 {user("Spawn a sub-agent for the magic word"), tool_use("callstandin1", "sessions_spawn", spawn_input),
                  tool_result("callstandin1", accepted), assistant("Waiting for the sub-agent."),
                  user("A background task completed. Child result: CHILD-RESULT-4242 is the magic word"),
                  user("<<<CONTEXT>>> results awaiting delivery")}),
             says("The magic word is CHILD-RESULT-4242."));
  c.exit(kMain, 0);
  auto ev = c.run(false);
  auto inputs = of(ev, EventType::llm_input);
  ASSERT_EQ(inputs.size(), 4u);
  for (int i : {1, 3}) {
    EXPECT_EQ(s(inputs[i]->data, "thread"), s(inputs[0]->data, "thread")) << i;
    EXPECT_EQ(s(inputs[i]->data, "thread_role"), "main") << i;
  }
  EXPECT_EQ(inputs[3]->data.at("messages_added_from").as_uint64(), 3u);
  const Event* done = tool_call(ev, "sessions_spawn", EventType::after_tool_call);
  ASSERT_NE(done, nullptr);
  EXPECT_FALSE(done->data.contains("abandoned"));
  auto spawned = of(ev, EventType::subagent_spawned);
  auto ended = of(ev, EventType::subagent_ended);
  ASSERT_EQ(spawned.size(), 1u);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(s(inputs[2]->data, "thread_role"), "subagent");
  EXPECT_EQ(s(ended[0]->data.at("provenance").as_object(), "llm_span"), inputs[3]->span);
  EXPECT_EQ(ended[0]->data.at("provenance").at("message").as_uint64(), 4u);
  expect_same_with_round_trips(c);
}

// A conversation that is not started by a tool call is not a sub-agent, even with tools;
// a no-tools request on the main conversation's messages (a summary) is a side call that
// leaves the conversation where it was.
TEST(InProcessSubagent, SideCallsAndIndependentConversationsAreNotSubagents) {
  Capture c;
  c.start(kMain, 10, {"agent"});
  c.exchange(kMain, kConnMain, req("main", {"Bash"}, {user("hello there, agent")}), says("hi"));
  c.exchange(kMain, kConnSide, req("summarise", {}, {user("hello there, agent"), assistant("hi"), user("summarise")}),
             says("greeting"));
  c.exchange(kMain, kConnMain, req("main", {"Bash"}, {user("hello there, agent"), assistant("hi"), user("go on")}),
             says("ok"));
  c.exit(kMain, 0);
  auto ev = c.run(false);
  EXPECT_TRUE(of(ev, EventType::subagent_spawned).empty());
  auto inputs = of(ev, EventType::llm_input);
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(s(inputs[1]->data, "thread_role"), "side");
  EXPECT_EQ(s(inputs[1]->data, "thread"), s(inputs[0]->data, "thread"));
  EXPECT_EQ(s(inputs[2]->data, "thread_role"), "main");
  EXPECT_EQ(s(inputs[2]->data, "thread"), s(inputs[0]->data, "thread"));
  // New since the main conversation's own last request (had the summary moved it on, the
  // shared "hi" would not count as new).
  EXPECT_EQ(inputs[2]->data.at("messages_added_from").as_uint64(), 1u);
}

// The first conversation without tools waits for its role: a title request sent before
// the agent's tools conversation starts (Claude Code does) turns out a side call; in a
// process that never offers tools, a single call is the main conversation, and so is a
// no-tools chat that goes on to a second turn.
TEST(InProcessSubagent, FirstNoToolsCallWaitsForItsRole) {
  auto roles = [](const Capture& c) {
    std::vector<std::string> out;
    const auto ev = c.run(false);
    for (const auto* in : of(ev, EventType::llm_input)) out.push_back(s(in->data, "thread_role"));
    return out;
  };
  Capture title_first;
  title_first.start(kMain, 10, {"claude"});
  title_first.exchange(kMain, kConnSide, req("Write a title", {}, {user("<session>fix the bug</session>")}), says("Bug fix"));
  title_first.exchange(kMain, kConnMain, req("agent", {"Bash"}, {user("fix the bug")}), says("done"));
  title_first.exit(kMain, 0);
  EXPECT_EQ(roles(title_first), (std::vector<std::string>{"side", "main"}));
  expect_same_with_round_trips(title_first);

  Capture chat;
  chat.start(kMain, 10, {"chat"});
  chat.exchange(kMain, kConnMain, req("be nice", {}, {user("hello")}), says("hi there"));
  chat.exit(kMain, 0);
  EXPECT_EQ(roles(chat), (std::vector<std::string>{"main"}));
  const auto chat_events = chat.run(false);
  EXPECT_EQ(of(chat_events, EventType::llm_output).size(), 1u);  // released at the end too

  Capture two_turns;
  two_turns.start(kMain, 10, {"chat"});
  two_turns.exchange(kMain, kConnMain, req("be nice", {}, {user("hello")}), says("hi there"));
  two_turns.exchange(kMain, kConnMain, req("be nice", {}, {user("hello"), assistant("hi there"), user("bye")}), says("bye"));
  two_turns.exchange(kMain, kConnSide, req("agent", {"Bash"}, {user("now work")}), says("ok"));
  two_turns.exit(kMain, 0);
  EXPECT_EQ(roles(two_turns), (std::vector<std::string>{"main", "main", "main"}));
}

// A batch runner doing the same task twice in one process: the second run opens with the
// same message, and is a conversation of its own, not a rewind of the first.
TEST(InProcessSubagent, SameTaskRunAgainIsANewConversation) {
  Capture c;
  c.start(kMain, 10, {"eval"});
  const std::string use = tool_use("toolu_1", "bash", R"({"command":"ls"})");
  for (int run = 0; run < 2; ++run) {
    c.exchange(kMain, kConnMain, req("agent", {"bash"}, {user("list the files")}),
               calls("toolu_1", "bash", R"({"command":"ls"})"));
    c.exchange(kMain, kConnMain, req("agent", {"bash"}, {user("list the files"), use, tool_result("toolu_1", "a.txt")}),
               says("One file."));
  }
  c.exit(kMain, 0);
  auto ev = c.run(false);
  auto inputs = of(ev, EventType::llm_input);
  ASSERT_EQ(inputs.size(), 4u);
  std::vector<uint64_t> from;
  for (const auto* in : inputs) from.push_back(in->data.at("messages_added_from").as_uint64());
  EXPECT_EQ(from, (std::vector<uint64_t>{0, 1, 0, 1}));
  EXPECT_EQ(s(inputs[1]->data, "thread"), s(inputs[0]->data, "thread"));
  EXPECT_EQ(s(inputs[3]->data, "thread"), s(inputs[2]->data, "thread"));
  EXPECT_NE(s(inputs[2]->data, "thread"), s(inputs[0]->data, "thread"));
  EXPECT_TRUE(of(ev, EventType::subagent_spawned).empty());
}

// A sub-agent whose process dies mid-task is ended with the session, marked truncated.
TEST(InProcessSubagent, KilledMidTaskIsTruncated) {
  Capture c;
  c.start(kMain, 10, {"agent"});
  c.exchange(kMain, kConnMain, req("main", {"Task"}, {user("do it")}),
             calls("toolu_t", "Task", R"({"prompt":"Collect the build logs and summarise failures"})"));
  c.exchange(kMain, kConnSub, req("sub", {"Bash"}, {user("Collect the build logs and summarise failures")}),
             calls("toolu_b", "Bash", R"({"command":"make"})"));
  c.kill(kMain);
  auto ev = c.run(false);
  auto ended = of(ev, EventType::subagent_ended);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(s(ended[0]->data, "status"), "truncated");
  EXPECT_EQ(ended[0]->data.at("llm_calls").as_uint64(), 1u);
}

// OpenAI Responses with server-side state: the second request names the first response
// and sends only the tool's output. It continues that conversation: it is not a new
// thread, and not a sub-agent of the tool call it answers.
TEST(InProcessSubagent, ResponsesContinuationByPreviousResponseIdIsTheSameConversation) {
  Capture c;
  c.start(kMain, 10, {"agent"});
  const std::string tools = R"("tools":[{"type":"function","name":"shell","parameters":{}}])";
  c.request(kMain, kConnMain, R"({"model":"gpt-5","input":[{"role":"user","content":"list the files"}],)" + tools + "}",
            "/v1/responses");
  c.response(kMain, kConnMain,
             R"({"id":"resp_1","object":"response","model":"gpt-5","status":"completed","output":[{"type":"function_call","call_id":"call_1","name":"shell","arguments":"{\"cmd\":\"ls\"}"}],"usage":{"input_tokens":10,"output_tokens":5}})");
  c.request(kMain, kConnMain,
            R"({"model":"gpt-5","previous_response_id":"resp_1","input":[{"type":"function_call_output","call_id":"call_1","output":"a.txt"}],)" +
                tools + "}",
            "/v1/responses");
  c.response(kMain, kConnMain,
             R"({"id":"resp_2","object":"response","model":"gpt-5","status":"completed","output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"One file."}]}],"usage":{"input_tokens":20,"output_tokens":3}})");
  c.exit(kMain, 0);
  auto ev = c.run(false);
  EXPECT_TRUE(of(ev, EventType::subagent_spawned).empty());
  auto inputs = of(ev, EventType::llm_input);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(s(inputs[1]->data, "thread"), s(inputs[0]->data, "thread"));
  EXPECT_EQ(s(inputs[1]->data, "thread_role"), "main");
  EXPECT_EQ(s(inputs[1]->data, "continues"), "resp_1");
  EXPECT_EQ(s(of(ev, EventType::llm_output)[0]->data, "response_id"), "resp_1");
  const Event* done = tool_call(ev, "shell", EventType::after_tool_call);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(s(done->data, "result"), "a.txt");
  expect_same_with_round_trips(c);
}

// ---- process sub-agents ------------------------------------------------------------------

constexpr uint64_t kShell = 0x200, kChild = 0x300, kGrandchild = 0x400;

// An agent asks for a `delegate` tool; it runs `sh -c "python child.py"`; the shell makes
// no LLM call, the child does, and delegates again (by posix_spawn) to a grandchild.
Capture process_scenario(bool kill_grandchild) {
  Capture c;
  c.start(kMain, 10, {"python3", "agent.py"});
  c.exchange(kMain, 0xb1, req("root", {"delegate"}, {user("plan the trip")}),
             calls("toolu_d1", "delegate", R"({"task":"book the hotel for the trip"})", 100, 10));
  c.spawn(kMain, 0x61, 20, {"/bin/sh", "-c", "python3 child.py"});
  c.start(kShell, 20, {"/bin/sh", "-c", "python3 child.py"}, kMain, 0x61);
  c.spawn(kShell, 0x62, 30, {"python3", "child.py"});
  c.start(kChild, 30, {"python3", "child.py"}, kShell, 0x62);
  c.exchange(kChild, 0xb2, req("child", {"delegate"}, {user("book the hotel for the trip")}),
             calls("toolu_d2", "delegate", R"({"task":"compare three hotel prices"})", 200, 20));
  c.spawn(kChild, 0x63, 40, {"python3", "child.py", "--leaf"});
  c.start(kGrandchild, 40, {"python3", "child.py", "--leaf"}, kChild, 0x63);
  c.exchange(kGrandchild, 0xb3, req("leaf", {}, {user("compare three hotel prices")}),
             says("Hotel B is cheapest at 90 EUR.", 300, 30));
  if (kill_grandchild) {
    c.reap(kChild, 40, SIGKILL);  // raw wait status of a SIGKILLed child
    c.kill(kGrandchild);
  } else {
    c.exit(kGrandchild, 0);
    c.reap(kChild, 40, 0);
  }
  c.exchange(kChild, 0xb2,
             req("child", {"delegate"},
                 {user("book the hotel for the trip"), tool_use("toolu_d2", "delegate", "{}"),
                  tool_result("toolu_d2", "Hotel B is cheapest at 90 EUR.")}),
             says("Booked hotel B.", 400, 40));
  c.exit(kChild, 0);
  c.exit(kShell, 0);
  c.reap(kMain, 20, 0);
  c.exchange(kMain, 0xb1,
             req("root", {"delegate"},
                 {user("plan the trip"), tool_use("toolu_d1", "delegate", "{}"), tool_result("toolu_d1", "Booked hotel B.")}),
             says("Trip planned.", 500, 50));
  c.exit(kMain, 0);
  return c;
}

TEST(ProcessSubagent, LinkedToTheToolCallAboveThroughAShellAtEveryDepth) {
  auto ev = process_scenario(false).run(false);
  const std::string main = hex_id(kMain), child = hex_id(kChild), leaf = hex_id(kGrandchild);
  auto spawned = of(ev, EventType::subagent_spawned);
  ASSERT_EQ(spawned.size(), 2u);
  // The shell made no LLM call: the child is the root's sub-agent, under its tool call.
  const Event* d1 = nullptr;
  const Event* d2 = nullptr;
  for (const auto& e : ev) {
    if (e.type == EventType::before_tool_call && s(e.data, "id") == "toolu_d1") d1 = &e;
    if (e.type == EventType::before_tool_call && s(e.data, "id") == "toolu_d2") d2 = &e;
  }
  ASSERT_TRUE(d1 && d2);
  EXPECT_EQ(spawned[0]->session, main);
  EXPECT_EQ(spawned[0]->span, child);
  EXPECT_EQ(spawned[0]->parent, d1->span);
  EXPECT_EQ(s(spawned[0]->data, "how"), "process");
  EXPECT_EQ(s(spawned[0]->data, "process_span"), hex_id(0x61));
  EXPECT_EQ(s(spawned[0]->data, "tool_name"), "delegate");
  EXPECT_EQ(s(spawned[0]->data, "task"), "book the hotel for the trip");
  EXPECT_EQ(spawned[1]->session, child);
  EXPECT_EQ(spawned[1]->span, leaf);
  EXPECT_EQ(spawned[1]->parent, d2->span);
  EXPECT_TRUE(of(ev, EventType::subagent_spawned, hex_id(kShell)).empty());

  auto ended = of(ev, EventType::subagent_ended);
  ASSERT_EQ(ended.size(), 2u);
  EXPECT_EQ(ended[0]->session, child);  // the leaf ends first
  EXPECT_EQ(s(ended[0]->data, "final_text"), "Hotel B is cheapest at 90 EUR.");
  EXPECT_EQ(s(ended[0]->data, "status"), "ok");
  EXPECT_EQ(ended[1]->session, main);
  EXPECT_EQ(ended[1]->parent, d1->span);
  EXPECT_EQ(s(ended[1]->data, "final_text"), "Booked hotel B.");
  // Its totals include the leaf's.
  EXPECT_EQ(ended[1]->data.at("llm_calls").as_uint64(), 3u);
  EXPECT_EQ(ended[1]->data.at("usage").at("input").as_int64(), 200 + 400 + 300);
}

TEST(ProcessSubagent, KilledSubagentIsTruncatedAndTheTreeAboveIsIntact) {
  auto ev = process_scenario(true).run(false);
  const std::string child = hex_id(kChild), leaf = hex_id(kGrandchild);
  auto ended = of(ev, EventType::subagent_ended, child);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0]->span, leaf);
  EXPECT_EQ(s(ended[0]->data, "status"), "truncated");
  EXPECT_EQ(ended[0]->data.at("signal").as_int64(), SIGKILL);
  EXPECT_EQ(s(ended[0]->data, "final_text"), "Hotel B is cheapest at 90 EUR.");
  // Everything above still ends normally.
  for (const auto* e : of(ev, EventType::session_end))
    if (e->session != leaf) {
      EXPECT_EQ(s(e->data, "status"), "ok") << e->session;
    }
  EXPECT_EQ(of(ev, EventType::subagent_ended, hex_id(kMain)).size(), 1u);
}

// A launcher (npm run, a shell script) that never calls a model starts the agent: the
// agent is a top-level one, nobody's sub-agent.
TEST(ProcessSubagent, AgentUnderALauncherIsNotASubagent) {
  Capture c;
  c.start(kShell, 20, {"npm", "run", "agent"});
  c.spawn(kShell, 0x62, 30, {"node", "agent.js"});
  c.start(kChild, 30, {"node", "agent.js"}, kShell, 0x62);
  c.exchange(kChild, 0xb2, req("agent", {"Bash"}, {user("hello")}), says("hi"));
  c.exit(kChild, 0);
  c.reap(kShell, 30, 0);
  c.exit(kShell, 0);
  auto ev = c.run(false);
  EXPECT_TRUE(of(ev, EventType::subagent_spawned).empty());
  EXPECT_TRUE(of(ev, EventType::subagent_ended).empty());
}

TEST(ProcessSubagent, StateSurvivesJson) { expect_same_with_round_trips(process_scenario(false)); }

}  // namespace
