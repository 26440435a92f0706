// TraceCards (compiler/card.*) from hand-made and random sessions: every billed dollar
// belongs to exactly one step (the steps add up to the total), a tool result's re-reading
// cost goes to the tool step, a sub-agent's step owns its calls, unknown models are
// counted and never priced as zero, and the YAML is the same bytes every time.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <random>

#include "card.h"
#include "temp_dir.h"

using namespace clawtrace;
namespace json = boost::json;

namespace {

// Two models at round prices (per million tokens): in 1, out 10, cache read 0.1,
// cache write 1.25 (5 m) / 2 (1 h); "big" costs ten times that.
pricing::PriceTable test_prices() {
  clawtrace::test::TempDir dir;
  const auto file = dir.path() / "prices.json";
  std::ofstream(file) << R"({"version": "test", "models": {
    "small": {"provider": "test", "input": 1, "output": 10, "cache_read": 0.1, "cache_write_5m": 1.25, "cache_write_1h": 2, "checked": "2026-11-27"},
    "big": {"provider": "test", "input": 10, "output": 100, "cache_read": 1, "cache_write_5m": 12.5, "cache_write_1h": 20, "checked": "2026-11-27"}}})";
  auto t = pricing::PriceTable::load(file);
  EXPECT_TRUE(t.ok()) << t.error();
  return t ? std::move(t.value()) : pricing::PriceTable{};
}

// Builds one session's events as the synthesiser emits them.
class Session {
 public:
  explicit Session(std::string id, std::optional<std::string> parent = {}, std::optional<std::string> span = {})
      : id_(std::move(id)) {
    info.id = id_;
    info.name = "agent";
    info.argv = {"agent", "--task", "x"};
    info.start_ns = t_;
    info.parent_session = std::move(parent);
    info.parent_span = std::move(span);
    push(EventType::session_start, id_, info.parent_span, {});
  }

  // An LLM call: its request added `added` (normalised messages) after `from` earlier ones.
  std::string call(const std::string& thread, size_t from, json::array added, const json::object& usage,
                   const std::string& model = "small", std::vector<std::string> tool_ids = {},
                   const std::string& parent = "", const std::string& role = "main", const std::string& text = "ok") {
    const std::string span = "llm" + std::to_string(++n_);
    uint64_t bytes = 200;
    for (const auto& m : added) bytes += json::serialize(m).size();
    push(EventType::llm_input, span, parent.empty() ? id_ : parent,
         {{"model", model}, {"thread", thread}, {"thread_role", role}, {"messages_added_from", from},
          {"messages_added", std::move(added)}, {"request_bytes", bytes + 1000 * from}});
    json::array calls;
    for (const auto& id : tool_ids) calls.push_back(json::object{{"id", id}, {"name", "bash"}, {"arguments", "{}"}});
    push(EventType::llm_output, span, parent.empty() ? id_ : parent,
         {{"model_returned", model}, {"usage", usage}, {"text", text}, {"tool_calls", calls}});
    return span;
  }

  std::string tool(const std::string& llm, const std::string& id, const std::string& result) {
    const std::string span = "tool" + std::to_string(++n_);
    push(EventType::before_tool_call, span, llm, {{"source", "model"}, {"id", id}, {"name", "bash"}, {"arguments", "{}"}});
    push(EventType::after_tool_call, span, llm, {{"source", "model"}, {"id", id}, {"name", "bash"}, {"result", result}});
    return span;
  }

  void subagent_open(const std::string& span, const std::string& parent, const std::string& child = "") {
    json::object d{{"how", child.empty() ? "in_process" : "process"}, {"tool_name", "Task"}};
    if (!child.empty()) d["child_session"] = child;
    push(EventType::subagent_spawned, span, parent, d);
  }
  void subagent_close(const std::string& span, const std::string& parent, const std::string& answer) {
    push(EventType::subagent_ended, span, parent, {{"status", "ok"}, {"final_text", answer}});
  }

  void end() {
    push(EventType::session_end, id_, info.parent_span, {{"status", "ok"}});
    info.end_ns = t_;
    info.status = SessionStatus::ok;
  }

  SessionInfo info;
  std::vector<Event> events;

 private:
  void push(EventType type, const std::string& span, std::optional<std::string> parent, json::object data) {
    Event e;
    e.seq = events.size() + 1;
    e.t_ns = t_ += 1'000'000;
    e.type = type;
    e.session = id_;
    e.span = span;
    e.parent = std::move(parent);
    e.data = std::move(data);
    events.push_back(std::move(e));
  }
  std::string id_;
  uint64_t t_ = 1'700'000'000'000'000'000;
  int n_ = 0;
};

json::object usage(int64_t in, int64_t out, int64_t read = 0, int64_t write = 0) {
  return {{"input", in}, {"output", out}, {"cache_read", read}, {"cache_write", write}, {"cache_write_5m", write},
          {"cache_write_1h", 0}, {"reasoning", 0}};
}
json::value msg(const std::string& role, const std::string& text) {
  return json::object{{"role", role}, {"content", json::array{json::object{{"type", "text"}, {"text", text}}}}};
}
json::value result_msg(const std::string& id, const std::string& text) {
  return json::object{{"role", "user"},
                      {"content", json::array{json::object{{"type", "tool_result"}, {"tool_use_id", id}, {"content", text}}}}};
}

SpanTree tree_of(const std::vector<Session*>& sessions) {
  std::vector<SessionInfo> infos;
  std::map<std::string, std::vector<Event>> events;
  for (auto* s : sessions) {
    infos.push_back(s->info);
    events[s->info.id] = s->events;
  }
  return build_span_tree(sessions[0]->info.id, infos, events);
}

double step_sum(const card::Card& c) {
  double sum = 0;
  for (const auto& s : c.steps) sum += s.cost_usd;
  return sum;
}

const card::Step* step(const card::Card& c, const std::string& id) {
  for (const auto& s : c.steps)
    if (s.id == id) return &s;
  return nullptr;
}

TEST(Card, ToolResultReReadCostGoesToTheToolStep) {
  auto prices = test_prices();
  Session s("root");
  const std::string big_result(40000, 'x');
  const std::string l1 = s.call("t", 0, json::array{msg("user", "list files")}, usage(1000, 100), "small", {"toolu_1"});
  const std::string t1 = s.tool(l1, "toolu_1", big_result);
  const std::string l2 = s.call("t", 1, json::array{msg("assistant", "calling"), result_msg("toolu_1", big_result)},
                                usage(11000, 50));
  s.end();
  const card::Card c = card::compile(tree_of({&s}), prices);
  ASSERT_EQ(c.steps.size(), 3u);
  EXPECT_NEAR(c.cost_usd, (1000 * 1 + 100 * 10 + 11000 * 1 + 50 * 10) / 1e6, 1e-15);
  EXPECT_NEAR(step_sum(c), c.cost_usd, 1e-12);
  // The second call's input is mostly the 40 KB result: most of it belongs to the tool.
  EXPECT_GT(step(c, t1)->cost_usd, 0.8 * 11000 / 1e6);
  EXPECT_EQ(step(c, l2)->role, "final_reply");
  EXPECT_EQ(step(c, l1)->role, "plan_then_tool");
  EXPECT_EQ(c.unpriced_calls, 0u);
  EXPECT_NEAR(step(c, l1)->output_usd, 100 * 10 / 1e6, 1e-18);  // its own output, part of its cost
  EXPECT_NEAR(step(c, l2)->output_usd, 50 * 10 / 1e6, 1e-18);
  EXPECT_EQ(step(c, t1)->output_usd, 0.0);
}

TEST(Card, CacheReadPrefixIsBilledAtTheCacheRate) {
  auto prices = test_prices();
  Session s("root");
  const std::string l1 = s.call("t", 0, json::array{msg("user", std::string(4000, 'a'))}, usage(0, 10, 0, 1000));
  const std::string l2 = s.call("t", 1, json::array{msg("assistant", "ok"), msg("user", std::string(4000, 'b'))},
                                usage(1000, 10, 1000, 0));
  s.end();
  const card::Card c = card::compile(tree_of({&s}), prices);
  EXPECT_NEAR(c.cost_usd, (1000 * 1.25 + 10 * 10 + 1000 * 0.1 + 1000 * 1 + 10 * 10) / 1e6, 1e-15);
  EXPECT_NEAR(step_sum(c), c.cost_usd, 1e-12);
  // l1 owns its first message both times: written to cache, then read from it.
  EXPECT_GT(step(c, l1)->cost_usd, step(c, l2)->cost_usd * 0.5);
}

// An LLM call whose request was never recorded (only its llm_output, e.g. the input line of
// an import was rejected) has no context to split: its whole bill is its own. It used to
// bind a reference to a null request (found by fuzz_card under UBSan).
TEST(Card, CallWithoutItsRequestKeepsItsWholeBill) {
  auto prices = test_prices();
  Session s("root");
  s.call("t", 0, json::array{msg("user", std::string(400, 'a'))}, usage(100, 10));
  const std::string orphan = s.call("t", 1, json::array{msg("user", "b")}, usage(1000, 20));
  s.end();
  std::erase_if(s.events, [&](const Event& e) { return e.span == orphan && e.type == EventType::llm_input; });
  const card::Card c = card::compile(tree_of({&s}), prices);
  ASSERT_NE(step(c, orphan), nullptr);
  EXPECT_NEAR(step(c, orphan)->cost_usd, (1000 * 1 + 20 * 10) / 1e6, 1e-15);
  EXPECT_NEAR(c.cost_usd, (100 * 1 + 10 * 10 + 1000 * 1 + 20 * 10) / 1e6, 1e-15);
  EXPECT_NEAR(step_sum(c), c.cost_usd, 1e-12);
}

// Cache writes split by lifetime without their total (as imported events may carry them)
// are billed (pricing::cost), so the card counts them and its steps own them. They used to
// be billed in the total but given to no step (found by fuzz_card).
TEST(Card, SplitCacheWritesWithoutTheirTotalAreCountedAndAttributed) {
  auto prices = test_prices();
  Session s("root");
  const json::object split{{"input", 100}, {"output", 10}, {"cache_write_5m", 1000}, {"cache_write_1h", 500}};
  const std::string l1 = s.call("t", 0, json::array{msg("user", std::string(4000, 'a'))}, split);
  s.end();
  const card::Card c = card::compile(tree_of({&s}), prices);
  EXPECT_EQ(c.tokens.cache_write, 1500);
  EXPECT_NEAR(c.cost_usd, (100 * 1 + 10 * 10 + 1000 * 1.25 + 500 * 2) / 1e6, 1e-15);
  EXPECT_NEAR(step_sum(c), c.cost_usd, 1e-12);
  EXPECT_NEAR(step(c, l1)->cost_usd, c.cost_usd, 1e-12);
}

TEST(Card, SubagentStepOwnsItsCallsAndUnknownModelsAreCounted) {
  auto prices = test_prices();
  Session s("root");
  const std::string l1 = s.call("main", 0, json::array{msg("user", "research")}, usage(500, 20), "small", {"toolu_t"});
  s.subagent_open("sub1", "tool_x");
  const std::string tool = s.tool(l1, "toolu_t", "the answer is 42");
  s.call("sub", 0, json::array{msg("user", "find it")}, usage(300, 30), "big", {}, "sub1", "subagent");
  s.call("sub", 1, json::array{msg("assistant", "..."), msg("user", "more")}, usage(400, 40), "mystery-model", {}, "sub1",
         "subagent");
  s.subagent_close("sub1", "tool_x", "the answer is 42");
  s.end();
  const card::Card c = card::compile(tree_of({&s}), prices);
  EXPECT_EQ(c.llm_calls, 3u);
  EXPECT_EQ(c.subagents, 1u);
  EXPECT_EQ(c.unpriced_calls, 1u);
  EXPECT_EQ(c.unpriced_models, std::vector<std::string>{"mystery-model"});
  const card::Step* sub = step(c, "sub1");
  ASSERT_NE(sub, nullptr);
  EXPECT_NEAR(sub->cost_usd, (300 * 10 + 30 * 100) / 1e6, 1e-15);
  EXPECT_FALSE(sub->priced);
  EXPECT_EQ(sub->tokens->input, 700);
  EXPECT_EQ(sub->output, "the answer is 42");
  EXPECT_NEAR(step_sum(c), c.cost_usd, 1e-12);
  (void)tool;
}

// The same file read twice, unchanged: a finding naming both steps, the repeat's cost
// wasted. A large result nothing quoted afterwards is flagged; one the answer quotes is not.
TEST(Card, RepeatedReadAndUnusedResultAreRedundant) {
  auto prices = test_prices();
  Session s("root");
  std::string big, quoted;
  for (int i = 0; i < 400; ++i) big += "line " + std::to_string(i) + " of a log nobody looked at, padded\n";
  for (int i = 0; i < 400; ++i) quoted += "row " + std::to_string(i) + " of the table the answer quotes, padded\n";
  const std::string l1 = s.call("t", 0, json::array{msg("user", "go")}, usage(100, 10), "small", {"r1"});
  const std::string read1 = s.tool(l1, "r1", "config = 1");
  const std::string l2 = s.call("t", 1, json::array{msg("assistant", "a"), result_msg("r1", "config = 1")}, usage(200, 10),
                                "small", {"r2"});
  const std::string read2 = s.tool(l2, "r2", "config = 1");
  const std::string l3 = s.call("t", 3, json::array{msg("assistant", "b"), result_msg("r2", "config = 1")}, usage(300, 10),
                                "small", {"log", "tab"});
  const std::string log = s.tool(l3, "log", big);
  const std::string tab = s.tool(l3, "tab", quoted);
  s.call("t", 5, json::array{msg("assistant", "c"), result_msg("log", big), result_msg("tab", quoted)}, usage(30000, 10),
         "small", {}, "", "main", "Found: row 17 of the table the answer quotes, padded");
  s.end();
  const card::Card c = card::compile(tree_of({&s}), prices);
  ASSERT_EQ(c.redundancy.size(), 2u);
  EXPECT_EQ(c.redundancy[0].steps, (std::vector<std::string>{read1, read2}));
  EXPECT_EQ(c.redundancy[0].kind, "repeated_command");  // a tool named "bash"
  EXPECT_DOUBLE_EQ(c.redundancy[0].wasted_usd, step(c, read2)->cost_usd);
  EXPECT_GT(c.redundancy[0].wasted_usd, 0);
  EXPECT_EQ(c.redundancy[1].kind, "unused_result");
  EXPECT_EQ(c.redundancy[1].steps, std::vector<std::string>{log});
  EXPECT_NE(c.redundancy[1].reason.find("KiB"), std::string::npos);
  (void)tab;
}

// Random sessions: conversations with tool calls, cache use, side calls, sub-agents in
// process and in child sessions. The partition holds and the YAML is stable.
TEST(Card, RandomSessionsPartitionTheBillAndCompileIdentically) {
  auto prices = test_prices();
  std::mt19937_64 rng(20261127);
  for (int round = 0; round < 200; ++round) {
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
    Session root("r" + std::to_string(round));
    Session child("c" + std::to_string(round), root.info.id, "proc");
    size_t messages = 0;
    std::vector<std::string> pending;
    const int calls = 1 + pick(30);
    for (int k = 0; k < calls; ++k) {
      json::array added;
      if (messages == 0) added.push_back(msg("user", std::string(static_cast<size_t>(pick(5000)), 'u')));
      else added.push_back(msg("assistant", std::string(static_cast<size_t>(pick(2000)), 'a')));
      for (const auto& id : pending) added.push_back(result_msg(id, std::string(static_cast<size_t>(pick(20000)), 'r')));
      // Now and then a branch: the last message replaced (an edit, a re-rendered context).
      const size_t from = messages > 1 && pick(10) == 0 ? messages - 1 : messages;
      messages = from + added.size();
      pending.clear();
      std::vector<std::string> ids;
      for (int t = pick(3); t > 0; --t) ids.push_back("id" + std::to_string(round) + "_" + std::to_string(k) + "_" + std::to_string(t));
      const int64_t prompt = 100 + pick(50000);
      const int64_t read = pick(2) ? prompt / (1 + pick(4)) : 0;
      const int64_t write = pick(2) ? (prompt - read) / (1 + pick(4)) : 0;
      const std::string model = pick(10) == 0 ? "unknown" : pick(2) ? "small" : "big";
      const std::string role = pick(8) == 0 ? "side" : "main";
      const std::string l = root.call("t", from, added, usage(prompt - read - write, pick(3000), read, write), model, ids,
                                      "", role);
      if (role == "side") {
        messages = from;
        continue;
      }
      for (const auto& id : ids) {
        root.tool(l, id, "result");
        pending.push_back(id);
      }
      if (pick(6) == 0) {
        const std::string sub = "sub" + std::to_string(k);
        root.subagent_open(sub, l);
        root.call("s" + std::to_string(k), 0, json::array{msg("user", "task")}, usage(pick(9000), pick(900)), "small", {},
                  sub, "subagent");
        root.subagent_close(sub, l, "done");
      }
    }
    child.call("ct", 0, json::array{msg("user", "child")}, usage(pick(9000), pick(900)), "big");
    root.subagent_open(child.info.id, root.info.id, child.info.id);
    child.end();
    root.subagent_close(child.info.id, root.info.id, "child done");
    root.end();
    const SpanTree tree = tree_of({&root, &child});
    const card::Card c = card::compile(tree, prices);
    ASSERT_NEAR(step_sum(c), c.cost_usd, 1e-9) << "round " << round;
    const std::string a = card::to_yaml(c, {}), b = card::to_yaml(card::compile(tree, prices), {});
    ASSERT_EQ(a, b) << "round " << round;
    // The YAML parses, and its figures are the card's.
    YAML::Node y = YAML::Load(a);
    double printed = 0;
    for (const auto& s : y["steps"]) printed += s["cost_usd"].as<double>();
    ASSERT_NEAR(printed, y["totals"]["cost_usd"].as<double>(), 1e-9) << "round " << round;
    const std::string bare = card::to_yaml(c, {.top = 10, .no_cost = true});
    ASSERT_EQ(bare.find("cost_usd"), std::string::npos);
  }
}

}  // namespace
