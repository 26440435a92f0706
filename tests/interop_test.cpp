// Interop imports (store/import_interop.h, `clawtrace import`): the original ClawTrace
// plugin's event stream and OpenClaw session transcripts, from fixtures written from the
// documented formats (tests/import/, docs/interop.md), imported by the real binary into a
// real store and compiled into TraceCards.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "card.h"
#include "import.h"
#include "import_interop.h"
#include "pricing.h"
#include "store.h"
#include "subprocess.h"
#include "files.h"
#include "temp_dir.h"
#include "tree.h"

namespace fs = std::filesystem;
using namespace clawtrace;

namespace {

const fs::path kFixtures = CLAWTRACE_IMPORT_FIXTURES;
const fs::path kPlugin = kFixtures / "plugin_stream.jsonl";
const fs::path kOpenClaw = kFixtures / "openclaw";
const fs::path kSessions = kOpenClaw / "agents/main/sessions";
constexpr const char* kParent = "7d0c2f4e-1b7a-4c8e-9a61-3f5e2d8b9c10";
constexpr const char* kChild = "c41e8a52-6f3d-4b9a-8e27-51a0d7c3e6f8";

using test::slurp;
using test::spit;

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// The fixture's usage lines priced with the bundled table: what the card must total.
double priced(const pricing::PriceTable& t, const std::string& model, pricing::Tokens tokens) {
  auto c = pricing::cost(t, model, tokens);
  EXPECT_TRUE(c) << model << " is not in the bundled price table";
  return c ? c->total : 0;
}

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = pricing::PriceTable::builtin();
    ASSERT_TRUE(p) << p.error();
    prices_ = std::move(*p);
  }

  test::ProcessOutput clawtrace(std::vector<std::string> args) {
    args.insert(args.begin(), {CLAWTRACE_BIN, "--store", store_dir().string()});
    return test::run_process(args, {std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
                                    "HOME=" + tmp_.path().string()});
  }
  fs::path store_dir() const { return tmp_.path() / "store"; }

  std::unique_ptr<Store> open_store() {
    auto s = Store::open(store_dir());
    EXPECT_TRUE(s) << s.error();
    return s ? std::move(s.value()) : nullptr;
  }

  // The one session with no parent, compiled into its card (sub-agents rolled up).
  card::Card root_card(Store& store) {
    std::string root;
    for (const auto& s : store.sessions().value())
      if (!s.parent_session) root = s.id;
    EXPECT_FALSE(root.empty());
    return card_of(store, root);
  }
  // A sub-agent's own card (the root's card rolls up its totals, not its steps).
  card::Card child_card(Store& store) {
    std::string child;
    for (const auto& s : store.sessions().value())
      if (s.parent_session) child = s.id;
    EXPECT_FALSE(child.empty());
    return card_of(store, child);
  }
  card::Card card_of(Store& store, const std::string& id) {
    auto tree = load_span_tree(store, id);
    EXPECT_TRUE(tree) << tree.error();
    return tree ? card::compile(*tree, prices_) : card::Card{};
  }

  std::string export_all() {
    auto r = clawtrace({"export", "--all", "--jsonl"});
    EXPECT_EQ(exit_code(r.status), 0) << r.err;
    return r.out;
  }

  static const card::Step* step(const card::Card& c, const std::string& id) {
    for (const auto& s : c.steps)
      if (s.id == id) return &s;
    return nullptr;
  }
  static std::vector<const card::Step*> steps_of(const card::Card& c, const std::string& kind) {
    std::vector<const card::Step*> out;
    for (const auto& s : c.steps)
      if (s.kind == kind) out.push_back(&s);
    return out;
  }

  test::TempDir tmp_{"clawtrace-interop"};
  pricing::PriceTable prices_;
};

// ---- shapes ------------------------------------------------------------------------------

TEST_F(Interop, ShapesAreRecognisedByTheirFirstLine) {
  auto first = [](const fs::path& p) {
    std::ifstream in(p);
    std::string line;
    std::getline(in, line);
    return line;
  };
  EXPECT_EQ(detect_format(first(kPlugin)), ImportFormat::clawtrace_plugin);
  EXPECT_EQ(detect_format(first(kSessions / (std::string(kParent) + ".jsonl"))), ImportFormat::openclaw_transcript);
  EXPECT_EQ(detect_format(R"({"seq":1,"t_ns":5,"type":"session_start","session":"a","span":"a"})"), ImportFormat::native);
  EXPECT_EQ(detect_format(R"({"type":"message","id":"x","timestamp":"2026-01-01T00:00:00Z","message":{}})"),
            ImportFormat::openclaw_transcript);
  EXPECT_EQ(detect_format(R"({"hello":"world"})"), ImportFormat::unknown);
  EXPECT_EQ(detect_format("[1,2]"), ImportFormat::unknown);
  EXPECT_EQ(detect_format("{\"schemaVersion\":1,\"event\":"), ImportFormat::unknown);
}

// ---- the plugin's event stream ------------------------------------------------------------

TEST_F(Interop, PluginStreamBecomesACardWithItsSubagent) {
  auto r = clawtrace({"import", kPlugin.string()});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_NE(r.err.find("imported 18 events in 2 sessions; 0 lines rejected"), std::string::npos) << r.err;
  auto store = open_store();
  ASSERT_TRUE(store);
  const auto sessions = store->sessions().value();
  ASSERT_EQ(sessions.size(), 2u);
  constexpr uint64_t kT0 = 1767000000000ull * 1000000;  // the stream's first tsMs, in ns
  for (const auto& s : sessions) {
    EXPECT_EQ(s.status, SessionStatus::ok) << s.id;
    // Each session ends at its own session_end: the child at +3.06 s, the parent at +4.3 s.
    EXPECT_EQ(s.start_ns, kT0 + (s.parent_session ? 1600 : 0) * 1000000ull) << s.id;
    EXPECT_EQ(s.end_ns.value_or(0), kT0 + (s.parent_session ? 3060 : 4300) * 1000000ull) << s.id;
    EXPECT_EQ(s.llm_calls, 1u) << s.id;
  }

  const card::Card c = root_card(*store);
  EXPECT_EQ(c.llm_calls, 2u);
  EXPECT_EQ(c.tool_calls, 4u);
  EXPECT_EQ(c.subagents, 1u);
  EXPECT_EQ(c.unpriced_calls, 0u);
  EXPECT_EQ(c.tokens.input, 2400 + 5200);
  EXPECT_EQ(c.tokens.output, 180 + 640);
  EXPECT_EQ(c.tokens.cache_read, 1200 + 18000);
  EXPECT_EQ(c.tokens.cache_write, 2100);
  const double expected = priced(prices_, "claude-sonnet-4-5", {5200, 640, 18000, 2100, 0, 0, 0}) +
                          priced(prices_, "gpt-4o-mini", {2400, 180, 1200, 0, 0, 0, 0});
  EXPECT_NEAR(c.cost_usd, expected, 1e-12);

  // One LLM step per run, marked as such; the tools the run called nest under it.
  for (const auto* s : steps_of(c, "llm")) EXPECT_EQ(s->detail, "run") << s->id;
  EXPECT_EQ(steps_of(c, "llm").size(), 1u) << "the parent's own run; the child's is in its card";
  const card::Step* run = step(c, "llm-1");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->name, "claude-sonnet-4-5");
  ASSERT_NE(step(c, "tool-1"), nullptr);
  EXPECT_EQ(step(c, "tool-1")->parent, "llm-1");
  EXPECT_NE(step(c, "tool-1")->result.find("Demo project"), std::string::npos);
  const card::Step* sub = step(c, "sub-1");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->kind, "subagent");
  EXPECT_EQ(sub->parent, "tool-2");
  EXPECT_NE(sub->output.find("MIT"), std::string::npos);
  // The child's card: its run and its failed exec.
  const card::Card cc = child_card(*store);
  EXPECT_EQ(cc.llm_calls, 1u);
  EXPECT_EQ(cc.tool_calls, 2u);
  const card::Step* child_run = step(cc, "llm-c1");
  ASSERT_NE(child_run, nullptr);
  EXPECT_EQ(child_run->name, "gpt-4o-mini");
  EXPECT_EQ(child_run->detail, "run");
  ASSERT_NE(step(cc, "tool-c1"), nullptr);
  EXPECT_EQ(step(cc, "tool-c1")->parent, "llm-c1");
  EXPECT_FALSE(step(cc, "tool-c1")->error.empty());
  EXPECT_NE(step(cc, "tool-c1")->result.find("No such file"), std::string::npos);

  // The YAML says per-call detail is missing; the source's own cost is compared.
  EXPECT_NE(card::to_yaml(c, {}).find("detail: run"), std::string::npos);
  EXPECT_NE(r.err.find("source cost $0.03, ClawTrace price table $"), std::string::npos) << r.err;
}

// ---- OpenClaw transcripts -----------------------------------------------------------------

TEST_F(Interop, OpenClawTranscriptsBecomeACardWithToolsAndSubagent) {
  auto r = clawtrace({"import", kOpenClaw.string()});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  auto store = open_store();
  ASSERT_TRUE(store);
  const auto sessions = store->sessions().value();
  ASSERT_EQ(sessions.size(), 2u);
  const SessionInfo* parent = nullptr;
  const SessionInfo* child = nullptr;
  for (const auto& s : sessions) (s.parent_session ? child : parent) = &s;
  ASSERT_TRUE(parent && child);
  EXPECT_EQ(parent->id, import_session_id(std::string("openclaw:") + kParent)) << "ids derive from the source's";
  EXPECT_EQ(child->id, import_session_id(std::string("openclaw:") + kChild));
  EXPECT_EQ(*child->parent_session, parent->id);
  EXPECT_EQ(parent->llm_calls, 4u);
  EXPECT_EQ(child->llm_calls, 2u);
  EXPECT_EQ(parent->status, SessionStatus::ok);
  EXPECT_EQ(parent->cwd, "/home/user/project");

  const card::Card c = root_card(*store);
  EXPECT_EQ(c.llm_calls, 6u);
  EXPECT_EQ(c.tool_calls, 3u);
  EXPECT_EQ(c.subagents, 1u);
  EXPECT_EQ(c.tokens.input, 3000 + 120 + 200 + 260 + 900 + 1000);
  EXPECT_EQ(c.tokens.output, 40 + 60 + 8 + 12 + 30 + 6);
  EXPECT_EQ(c.tokens.cache_read, 3000 + 3100 + 3300);
  EXPECT_EQ(c.tokens.cache_write, 0);
  const double expected = priced(prices_, "claude-sonnet-4-5", {3000, 40, 0, 0, 0, 0, 0}) +
                          priced(prices_, "claude-sonnet-4-5", {120, 60, 3000, 0, 0, 0, 0}) +
                          priced(prices_, "claude-sonnet-4-5", {200, 8, 3100, 0, 0, 0, 0}) +
                          priced(prices_, "claude-sonnet-4-5", {260, 12, 3300, 0, 0, 0, 0}) +
                          priced(prices_, "gpt-4o-mini", {900, 30, 0, 0, 0, 0, 0}) +
                          priced(prices_, "gpt-4o-mini", {1000, 6, 0, 0, 0, 0, 0});
  EXPECT_NEAR(c.cost_usd, expected, 1e-12);
  for (const auto* s : steps_of(c, "llm")) EXPECT_TRUE(s->detail.empty()) << "transcripts have per-call detail";

  // exec under the call that asked for it, with its result; the sub-agent under its
  // sessions_spawn call, the child's read under the child's call.
  const card::Step* exec = step(c, "tool:toolu_01");
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(exec->name, "exec");
  EXPECT_EQ(exec->parent, "llm:7d0c2f4e-e03");
  EXPECT_NE(exec->result.find("README.md"), std::string::npos);
  const card::Step* sub = step(c, "subagent:agent:main:subagent:5b2f");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->parent, "tool:toolu_02");
  EXPECT_EQ(sub->session, child->id);
  EXPECT_NE(sub->output.find("3 TODO"), std::string::npos);
  const card::Card cc = child_card(*store);
  EXPECT_EQ(cc.llm_calls, 2u);
  const card::Step* read = step(cc, "tool:call_r1");
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(read->parent, "llm:c41e8a52-e02");
  EXPECT_NE(read->result.find("TODO"), std::string::npos);
  const auto llm = steps_of(c, "llm");
  ASSERT_EQ(llm.size(), 4u);
  EXPECT_EQ(llm[0]->role, "tool_call");
  EXPECT_EQ(step(c, "llm:7d0c2f4e-e05")->role, "plan_then_tool");
  EXPECT_EQ(step(c, "llm:7d0c2f4e-e08")->role, "final_reply");
  // Without the requests' system prompt and tool definitions, each call keeps its own
  // input cost: the first call's step is exactly its price, the exec result costs nothing.
  EXPECT_NEAR(step(c, "llm:7d0c2f4e-e03")->cost_usd, priced(prices_, "claude-sonnet-4-5", {3000, 40, 0, 0, 0, 0, 0}),
              1e-12);
  EXPECT_EQ(exec->cost_usd, 0.0);
  // OpenClaw's own cost figures are kept and compared.
  EXPECT_NE(r.err.find("source cost $"), std::string::npos) << r.err;
}

TEST_F(Interop, ATranscriptAloneImportsWithoutItsSubagent) {
  auto r = clawtrace({"import", (kSessions / (std::string(kParent) + ".jsonl")).string()});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_EQ(store->sessions().value().size(), 1u);
  const card::Card c = root_card(*store);
  EXPECT_EQ(c.llm_calls, 4u);
  EXPECT_EQ(c.subagents, 1u) << "the spawn is still a sub-agent step, without the child's session";
}

// ---- dry runs and re-imports ----------------------------------------------------------------

TEST_F(Interop, DryRunPrintsAndWritesNothing) {
  auto r = clawtrace({"import", "--dry-run", kPlugin.string(), kOpenClaw.string()});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_FALSE(fs::exists(store_dir())) << "a dry run created the store";
  EXPECT_NE(r.out.find(kPlugin.string() + ": clawtrace plugin: 2 sessions"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 transcripts: openclaw transcript: 2 sessions"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  " + import_session_id(std::string("openclaw:") + kChild) + "  8 events"), std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("would import 42 events in 4 sessions"), std::string::npos) << r.err;

  // With a store: nothing changes, and what is already there is named.
  ASSERT_EQ(exit_code(clawtrace({"import", kPlugin.string()}).status), 0);
  const std::string before = export_all();
  auto again = clawtrace({"import", "--dry-run", kPlugin.string(), kOpenClaw.string()});
  ASSERT_EQ(exit_code(again.status), 0) << again.err;
  EXPECT_NE(again.out.find("(already in the store: skipped)"), std::string::npos) << again.out;
  EXPECT_NE(again.err.find("would import 24 events in 2 sessions"), std::string::npos) << again.err;
  EXPECT_EQ(export_all(), before);

  // ClawTrace's own events too.
  const fs::path exported = tmp_.path() / "exported.jsonl";
  spit(exported, before);
  auto native = clawtrace({"import", "--dry-run", exported.string()});
  ASSERT_EQ(exit_code(native.status), 0) << native.err;
  EXPECT_NE(native.out.find(exported.string() + ": clawtrace events: 2 sessions"), std::string::npos) << native.out;
  EXPECT_NE(native.out.find("  10 events  openclaw plugin agent:main:main"), std::string::npos) << native.out;
  EXPECT_NE(native.err.find("would import 0 events in 0 sessions; 0 lines rejected; 2 sessions skipped"),
            std::string::npos) << native.err;
  EXPECT_EQ(export_all(), before);
}

TEST_F(Interop, ReimportAddsNothing) {
  ASSERT_EQ(exit_code(clawtrace({"import", kPlugin.string(), kOpenClaw.string()}).status), 0);
  const std::string first = export_all();
  auto r = clawtrace({"import", kOpenClaw.string(), kPlugin.string()});
  EXPECT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_NE(r.err.find("imported 0 events in 0 sessions; 0 lines rejected; 4 sessions skipped"), std::string::npos)
      << r.err;
  EXPECT_EQ(export_all(), first);
}

// ---- bad input ------------------------------------------------------------------------------

TEST_F(Interop, UnknownShapeIsNamedWithItsFirstLine) {
  const fs::path bad = tmp_.path() / "mystery.jsonl";
  spit(bad, "\n{\"hello\":\"world\"}\n{\"t_ns\":1}\n");
  auto r = clawtrace({"import", bad.string(), kPlugin.string()});
  EXPECT_EQ(exit_code(r.status), 1);
  EXPECT_NE(r.err.find(bad.string() + ":2: unknown shape"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("{\"hello\":\"world\"}"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("imported 18 events in 2 sessions"), std::string::npos) << "other files still import: " << r.err;
}

TEST_F(Interop, LinesOfTheWrongShapeInsideAFormatAreRejected) {
  std::string text = slurp(kPlugin);
  text.insert(text.find('\n') + 1, "{\"schemaVersion\":1,\"event\":{\"eventType\":\"llm_nap\",\"spanId\":\"x\",\"tsMs\":1}}\n");
  const fs::path f = tmp_.path() / "plugin.jsonl";
  spit(f, text);
  auto r = clawtrace({"import", f.string()});
  EXPECT_EQ(exit_code(r.status), 1);
  EXPECT_NE(r.err.find(f.string() + ":2: \"event.eventType\": \"llm_nap\" is not a plugin event type"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("imported 18 events in 2 sessions; 1 line rejected"), std::string::npos) << r.err;
}

// A writer killed mid-line: the partial line is named, everything before it kept.
TEST_F(Interop, TruncatedLastLineIsReportedAndTheRestKept) {
  std::string plugin = slurp(kPlugin);
  plugin.resize(plugin.size() - 30);  // into the last line (the main session's end)
  const fs::path pf = tmp_.path() / "plugin.jsonl";
  spit(pf, plugin);
  auto r = clawtrace({"import", pf.string()});
  EXPECT_EQ(exit_code(r.status), 1);
  EXPECT_NE(r.err.find(pf.string() + ":18: truncated last line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("imported 17 events in 2 sessions; 1 line rejected"), std::string::npos) << r.err;

  const fs::path dir = tmp_.path() / "sessions";
  fs::create_directories(dir);
  std::string child = slurp(kSessions / (std::string(kChild) + ".jsonl"));
  child.resize(child.size() - 40);
  spit(dir / (std::string(kChild) + ".jsonl"), child);
  auto t = clawtrace({"import", dir.string()});
  EXPECT_EQ(exit_code(t.status), 1);
  EXPECT_NE(t.err.find(":5: truncated last line"), std::string::npos) << t.err;
  auto store = open_store();
  ASSERT_TRUE(store);
  bool found = false;
  for (const auto& s : store->sessions().value())
    if (s.id == import_session_id(std::string("openclaw:") + kChild)) {
      found = true;
      EXPECT_EQ(s.status, SessionStatus::truncated);
      EXPECT_EQ(s.llm_calls, 1u);
    }
  EXPECT_TRUE(found);
}

TEST_F(Interop, NativeTruncatedLastLineIsNamedToo) {
  const fs::path f = tmp_.path() / "events.jsonl";
  spit(f, "{\"t_ns\":1,\"type\":\"session_start\",\"session\":\"s1\",\"span\":\"s1\"}\n{\"t_ns\":2,\"type\":\"llm_in");
  auto r = clawtrace({"import", f.string()});
  EXPECT_EQ(exit_code(r.status), 1);
  EXPECT_NE(r.err.find(f.string() + ":2: truncated last line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("imported 1 event in 1 session; 1 line rejected"), std::string::npos) << r.err;
}

}  // namespace
