// The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright
// (npm playwright-core, installed into the npm cache of the end-to-end tests) against
// `clawtrace serve` on a store of runs the test traces itself: real agents (tests/clients)
// under `clawtrace run` against the provider stand-in. The overview lists the sessions with
// their card totals (as `clawtrace card` prints them), clicking one shows its tree with the
// sub-agents nested, the Gantt (Chart.js) has one bar per span; screenshots go to
// <build>/artefacts/serve. Skipped, with the reason, when Chromium, Node.js or the package
// cannot be had.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "e2e_support.h"
#include "serve_support.h"
#include "subprocess.h"
#include "temp_dir.h"

using namespace clawtrace;
using namespace clawtrace::serve_test;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

void walk(const json::object& n, const std::function<void(const json::object&, const std::vector<std::string>&)>& fn,
          std::vector<std::string> kinds = {}) {
  fn(n, kinds);
  kinds.insert(kinds.begin(), std::string(n.at("kind").as_string()));
  for (const auto& c : n.at("children").as_array()) walk(c.as_object(), fn, kinds);
}

class ServeBrowser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string home = env_or("HOME", "/tmp");
    chromium_ = env_or("CHROMIUM", "/usr/bin/chromium");
    const std::vector<std::string> env = {"PATH=" + env_or("PATH", "/usr/bin:/bin"), "HOME=" + home};
    if (!fs::exists(chromium_)) {
      skip_ = "Chromium is not installed (apt-get install chromium, or set CHROMIUM)";
      return;
    }
    if (test::run_process({"node", "--version"}, env, 30, true).status != 0) {
      skip_ = "node is not installed";
      return;
    }
    const fs::path cache = env_or("CLAWTRACE_NPM_CACHE", home + "/.cache/clawtrace/npm");
    modules_ = (cache / "node_modules").string();
    if (!fs::exists(cache / "node_modules/playwright-core")) {
      fs::create_directories(cache);
      auto r = test::run_process({"npm", "install", "--no-audit", "--no-fund", "--prefix", cache.string(), "playwright-core"},
                                 env, 600, true);
      if (r.status != 0) skip_ = "npm install playwright-core failed (registry unreachable?): " + r.err.substr(0, 300);
    }
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static inline std::string skip_, chromium_, modules_;
};

// The stand-in's script for the three runs. The delegating agent (three levels) is answered
// only where its `delegate` tool is offered; the OpenAI tool loop gets two bash calls in one
// reply (parallel tool calls); the Anthropic tool loop gets the built-in behaviour.
std::string standin_script() {
  auto delegate = [](const std::string& task) {
    return R"({"tool_calls": [{"name": "delegate", "arguments": {"task": ")" + task + R"("}}]})";
  };
  const std::string mine = R"("tool_offered": "delegate")";
  return R"({"rules": [
    {"when": {)" + mine + R"(, "last_is_tool_result": true, "nth": 1}, "reply": {"text": "Booked Hotel Baixa."}},
    {"when": {)" + mine + R"(, "last_is_tool_result": true, "nth": 2}, "reply": {"text": "Trip planned."}},
    {"when": {)" + mine + R"(, "user_contains": "depth 3"}, "reply": {"text": "Hotel Baixa is cheapest."}},
    {"when": {)" + mine + R"(, "user_contains": "depth 2"}, "reply": )" + delegate("depth 3: compare hotel prices") + R"(},
    {"when": {)" + mine + R"(, "user_contains": "depth 1"}, "reply": )" + delegate("depth 2: book the hotel") + R"(},
    {"when": {"api": "openai.chat", "last_is_tool_result": false}, "reply": {"tool_calls": [
      {"name": "bash", "arguments": {"command": "echo one"}}, {"name": "bash", "arguments": {"command": "echo two"}}]}}
  ]})";
}

// Runs the three agents under `clawtrace run`, each named and tagged.
void trace_runs(const e2e::Fixture& f) {
  struct Run {
    std::string name, tag;
    std::vector<std::string> argv;
  };
  const std::vector<Run> runs = {
      {"delegate", "task=trip", {e2e::python(), e2e::client_script("py_delegating_agent.py"), f.https_url(), "--cafile",
                                 f.cert(), "--key", e2e::kSecret, "--task", "depth 1: plan a trip", "--via", "sh,spawn"}},
      {"loop-anthropic", "task=loop", {e2e::python(), e2e::client_script("py_tool_loop.py"), f.https_url(), "anthropic",
                                       "--stream", "--cafile", f.cert(), "--key", e2e::kSecret}},
      {"loop-parallel", "task=loop", {e2e::python(), e2e::client_script("py_tool_loop.py"), f.https_url(), "openai_chat",
                                      "--cafile", f.cert(), "--key", e2e::kSecret}},
  };
  for (const Run& r : runs) {
    auto out = f.run_traced(r.argv, {}, {"--name", r.name, "--tag", r.tag});
    ASSERT_EQ(out.status, 0) << r.name << ": " << out.err;
  }
}

std::map<std::string, std::vector<std::string>> tree_nodes(const json::value& detail) {
  std::map<std::string, std::vector<std::string>> nodes;  // kind:id → ancestor kinds (nearest first)
  walk(detail.at("tree").as_object(), [&](const json::object& n, const std::vector<std::string>& kinds) {
    nodes[std::string(n.at("kind").as_string()) + ":" + std::string(n.at("id").as_string())] = kinds;
  });
  return nodes;
}

size_t count_of(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), x));
}

// The Gantt as the page holds it: the chart's spans, [start, end] values and bar widths.
void expect_one_bar_per_span(const json::object& gantt, const std::map<std::string, std::vector<std::string>>& api_nodes) {
  const json::array& spans = gantt.at("spans").as_array();
  std::set<std::string> ids;
  for (const auto& b : spans) ids.insert(std::string(b.at("kind").as_string()) + ":" + std::string(b.at("id").as_string()));
  EXPECT_EQ(spans.size(), api_nodes.size());
  EXPECT_EQ(ids.size(), api_nodes.size());
  for (const auto& [id, kinds] : api_nodes) EXPECT_TRUE(ids.count(id)) << id;
  EXPECT_EQ(gantt.at("data").as_array().size(), spans.size());
  for (const auto& w : gantt.at("widths").as_array()) EXPECT_GE(w.to_number<double>(), 1.0);
}

// Two bars of `kind` whose [start, end] overlap: spans that ran side by side.
bool has_overlapping(const json::object& gantt, const std::string& kind, const std::string& under_kind = "") {
  const json::array& spans = gantt.at("spans").as_array();
  const json::array& data = gantt.at("data").as_array();
  for (size_t i = 0; i < spans.size(); ++i)
    for (size_t j = 0; j < spans.size(); ++j) {
      if (i == j || spans[i].at("kind").as_string() != kind) continue;
      if (!under_kind.empty() ? spans[j].at("kind").as_string() != under_kind : spans[j].at("kind").as_string() != kind) continue;
      const double s1 = data[i].at(0).to_number<double>(), e1 = data[i].at(1).to_number<double>();
      const double s2 = data[j].at(0).to_number<double>(), e2 = data[j].at(1).to_number<double>();
      if (s1 < e2 && s2 < e1) return true;
    }
  return false;
}

std::vector<double> numbers(const json::value& v) {
  std::vector<double> out;
  for (const auto& x : v.as_array()) out.push_back(x.to_number<double>());
  return out;
}

TEST_F(ServeBrowser, OverviewTreeAndGanttOfTracedRuns) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(standin_script()));
  trace_runs(f);
  if (HasFatalFailure()) return;
  const fs::path store = f.dir() / "store";
  Server server(store, f.dir(), {});
  ASSERT_GT(server.port(), 0) << server.banner();

  // What the API says, held to `clawtrace card`, and then the page held to the API.
  json::value list = http(server.url("/api/sessions")).json();
  std::map<std::string, double> cost;
  std::map<std::string, std::string> by_name;
  for (const auto& s : list.at("sessions").as_array()) {
    const std::string id(s.at("id").as_string());
    cost[id] = s.at("cost_usd").to_number<double>();
    if (s.at("name").is_string()) by_name[std::string(s.at("name").as_string())] = id;
    EXPECT_GT(cost[id], 0) << id;
    EXPECT_LT(relative_difference(cost[id], card_total(store, f.dir(), id)), 1e-12) << id;
  }
  ASSERT_EQ(cost.size(), 3u) << json::serialize(list);  // the sub-agents' sessions sit below their root
  const std::string trip = by_name["delegate"], parallel = by_name["loop-parallel"];
  ASSERT_FALSE(trip.empty());
  ASSERT_FALSE(parallel.empty());
  const json::value detail = http(server.url("/api/sessions/" + trip)).json();
  const auto api_nodes = tree_nodes(detail);
  const auto parallel_nodes = tree_nodes(http(server.url("/api/sessions/" + parallel)).json());

  const fs::path shots = CT_ARTEFACTS;
  fs::create_directories(shots);
  const fs::path extra = f.dir() / "extra.jsonl";  // imported while the page is open
  {
    std::ofstream out(extra);
    out << R"({"t_ns":1795791500000000000,"type":"session_start","session":"00000000000a1111","span":"00000000000a1111","parent":null,"data":{"pid":5,"ppid":1,"argv":["late"],"cwd":"/","tags":{}}})" "\n"
        << R"({"t_ns":1795791501000000000,"type":"session_end","session":"00000000000a1111","span":"00000000000a1111","parent":null,"data":{"exit_code":0}})" "\n";
  }
  auto r = test::run_process({"node", CT_BROWSER_SCRIPT, server.url("/"), shots.string(), trip, parallel, CT_CLAWTRACE,
                              store.string(), extra.string()},
                             {"PATH=" + env_or("PATH", "/usr/bin:/bin"), "HOME=" + env_or("HOME", "/tmp"),
                              "NODE_PATH=" + modules_, "CHROMIUM=" + chromium_},
                             180, true);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  boost::system::error_code ec;
  json::value seen = json::parse(r.out, ec);
  ASSERT_FALSE(ec) << r.out;

  // Overview: every session with its card total, in the table and in the cost chart.
  const json::array& rows = seen.at("rows").as_array();
  ASSERT_EQ(rows.size(), cost.size());
  std::vector<double> row_costs;
  for (const auto& row : rows) {
    const std::string id(row.at("id").as_string());
    ASSERT_TRUE(cost.count(id)) << id;
    EXPECT_EQ(row.at("cost").to_number<double>(), cost[id]) << id;
    row_costs.push_back(row.at("cost").to_number<double>());
  }
  EXPECT_EQ(numbers(seen.at("cost_chart")), row_costs);
  EXPECT_EQ(seen.at("total_cost").to_number<double>(), list.at("totals").at("cost_usd").to_number<double>());
  std::vector<double> model_costs;
  for (const auto& m : list.at("totals").at("by_model").as_array()) model_costs.push_back(m.at("cost_usd").to_number<double>());
  EXPECT_EQ(numbers(seen.at("model_chart")), model_costs);
  EXPECT_EQ(seen.at("tag_chart").as_array().size(), list.at("totals").at("by_tag").as_array().size());

  // Clicking the delegating run: its tree, the sub-agents nested two deep.
  EXPECT_EQ(seen.at("hash").as_string(), "#/session/" + trip);
  EXPECT_EQ(seen.at("session_cost").to_number<double>(), cost[trip]);
  const json::array& nodes = seen.at("nodes").as_array();
  EXPECT_EQ(nodes.size(), api_nodes.size());
  size_t nested_llm = 0, redundant = 0;
  for (const auto& n : nodes) {
    const std::string id = std::string(n.at("kind").as_string()) + ":" + std::string(n.at("id").as_string());
    ASSERT_TRUE(api_nodes.count(id)) << id;
    std::vector<std::string> kinds;
    for (const auto& k : n.at("ancestors").as_array()) kinds.emplace_back(k.as_string());
    EXPECT_EQ(kinds, api_nodes.at(id)) << id;
    if (n.at("kind") == "llm" && count_of(kinds, "subagent") == 2) ++nested_llm;
    redundant += n.at("redundant").as_bool();
  }
  EXPECT_EQ(nested_llm, 1u);  // the leaf agent's one call, below two sub-agents
  EXPECT_EQ(redundant, detail.at("card").at("redundancy").as_array().size());

  // The Gantt: one bar per span; each sub-agent runs inside its delegate tool call; the
  // OpenAI loop's two bash calls side by side.
  expect_one_bar_per_span(seen.at("gantt").as_object(), api_nodes);
  EXPECT_TRUE(has_overlapping(seen.at("gantt").as_object(), "subagent", "tool"));
  expect_one_bar_per_span(seen.at("parallel_gantt").as_object(), parallel_nodes);
  EXPECT_TRUE(has_overlapping(seen.at("parallel_gantt").as_object(), "tool"));

  // Hover and click: the span's details, its payload in full.
  EXPECT_NE(seen.at("tip").as_string().find("subagent"), json::string::npos) << seen.at("tip");
  EXPECT_NE(seen.at("clicked").as_string().find("subagent"), json::string::npos) << seen.at("clicked");
  EXPECT_NE(seen.at("payload").as_string().find("depth 2: book the hotel"), json::string::npos) << seen.at("payload");
  EXPECT_TRUE(seen.at("subagent_collapsed").as_bool());
  ASSERT_TRUE(seen.as_object().contains("live_rows")) << r.out;  // live refresh (every 5 s)
  EXPECT_LT(seen.at("live_ms").to_number<double>(), 12000);
  EXPECT_TRUE(seen.at("foreign_requests").as_array().empty()) << seen.at("foreign_requests");
  EXPECT_TRUE(seen.at("errors").as_array().empty()) << seen.at("errors");
  for (const char* shot : {"overview.png", "session.png", "session-detail.png", "session-parallel.png"})
    EXPECT_GT(fs::file_size(shots / shot), 1000u) << shot;
}

// 10,000 small sessions tagged batch=b0…b9 and one session of 5,000 spans (2,500 LLM calls,
// each with a tool call), as JSON lines for `clawtrace import`.
void write_large_store_events(const fs::path& file, const std::string& big_id) {
  std::ofstream out(file);
  uint64_t seq = 0;
  auto event = [&](uint64_t t, const char* type, const std::string& session, const std::string& span,
                   const std::string& parent, json::object data) {
    json::object e{{"seq", ++seq}, {"t_ns", t}, {"type", type}, {"session", session}, {"span", span},
                   {"parent", parent.empty() ? json::value(nullptr) : json::value(parent)}, {"data", std::move(data)}};
    out << json::serialize(e) << "\n";
  };
  auto hex = [](uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  auto llm = [&](uint64_t t, const std::string& s, const std::string& span, int64_t cache_read, json::array tool_calls) {
    event(t, "llm_input", s, span, s, {{"provider", "anthropic"}, {"model", "claude-sonnet-4-5"}, {"thread", "t"},
          {"thread_role", "main"}, {"messages_added", json::array{json::object{{"role", "user"}, {"content", "go"}}}}});
    event(t + 2000000, "llm_output", s, span, s, {{"model_returned", "claude-sonnet-4-5"},
          {"usage", {{"input", 100}, {"output", 20}, {"cache_read", cache_read}, {"cache_write", 50}, {"reasoning", 0}}},
          {"tool_calls", std::move(tool_calls)}, {"text", "ok"}});
  };
  const uint64_t t0 = 1795791496000000000ull;
  for (uint64_t i = 0; i < 10000; ++i) {
    seq = 0;
    const std::string s = hex(0x1000000 + i), start_t = std::to_string(i);
    const uint64_t t = t0 + i * 1000000000ull;
    event(t, "session_start", s, s, "", {{"pid", 100 + i}, {"ppid", 1}, {"argv", json::array{"agent", start_t}},
          {"cwd", "/tmp"}, {"tags", {{"batch", std::string("b") + std::to_string(i % 10)}}}, {"name", "run" + start_t}});
    llm(t + 1000, s, hex(0x5000000 + i), static_cast<int64_t>(i % 500), {});
    event(t + 3000000, "session_end", s, s, "", {{"exit_code", 0}});
  }
  seq = 0;
  uint64_t t = t0 + 20000 * 1000000000ull;
  event(t, "session_start", big_id, big_id, "", {{"pid", 9}, {"ppid", 1}, {"argv", json::array{"big"}}, {"cwd", "/tmp"},
        {"tags", json::object{}}, {"name", "big"}});
  for (uint64_t k = 0; k < 2500; ++k) {
    const std::string call = hex(0x7000000 + k), tool = hex(0x8000000 + k), id = std::string("c") + std::to_string(k);
    t += 3000000;
    llm(t, big_id, call, static_cast<int64_t>(1000 + k), json::array{json::object{{"id", id}, {"name", "read"}, {"arguments", "{}"}}});
    event(t + 2000000, "before_tool_call", big_id, tool, call, {{"source", "model"}, {"id", id}, {"name", "read"}, {"arguments", "{\"n\":" + std::to_string(k) + "}"}});
    event(t + 2500000, "after_tool_call", big_id, tool, call, {{"source", "model"}, {"id", id}, {"name", "read"},
          {"result", std::string(100, 'x')}, {"is_error", false}});
  }
  event(t + 3000000, "session_end", big_id, big_id, "", {{"exit_code", 0}});
}

// The figures in bench/README.md come from this test's output.
TEST_F(ServeBrowser, StaysResponsiveWith10000SessionsAndA5000SpanSession) {
  test::TempDir dir("clawtrace-browser-large");
  const fs::path store = dir.path() / "store", events = dir.path() / "large.jsonl";
  const std::string big = "0000000009999999";
  write_large_store_events(events, big);
  auto imported = test::run_process({CT_CLAWTRACE, "--store", store.string(), "import", events.string()}, test_env(dir.path()), 300);
  ASSERT_EQ(imported.status, 0) << imported.err;
  Server server(store, dir.path(), {});
  ASSERT_GT(server.port(), 0) << server.banner();
  json::value detail = http(server.url("/api/sessions/" + big)).json();
  size_t spans = 0;
  walk(detail.at("tree").as_object(), [&](const json::object&, const std::vector<std::string>&) { ++spans; });
  ASSERT_EQ(spans, 5001u);  // the session and its 5,000 spans
  auto r = test::run_process({"node", CT_RESPONSIVENESS_SCRIPT, server.url("/"), big, "batch=b3", std::to_string(spans)},
                             {"PATH=" + env_or("PATH", "/usr/bin:/bin"), "HOME=" + env_or("HOME", "/tmp"),
                              "NODE_PATH=" + modules_, "CHROMIUM=" + chromium_},
                             300, true);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  std::printf("responsiveness (ms): %s", r.out.c_str());
  boost::system::error_code ec;
  json::value seen = json::parse(r.out, ec);
  ASSERT_FALSE(ec) << r.out;
  EXPECT_EQ(seen.at("overview_total").as_string(), "10,001");
  EXPECT_EQ(seen.at("big_session_nodes").to_number<size_t>(), spans);
  EXPECT_EQ(seen.at("gantt_bars").to_number<size_t>(), spans);  // one bar per span in the chart
  // Generous bounds (a shared 2-core machine); the measured figures are far below.
  EXPECT_LT(seen.at("overview_ms").to_number<double>(), 15000);
  EXPECT_LT(seen.at("filter_ms").to_number<double>(), 5000);
  EXPECT_LT(seen.at("big_session_ms").to_number<double>(), 20000);
  EXPECT_LT(seen.at("collapse_ms").to_number<double>(), 1000);
  EXPECT_LT(seen.at("payload_ms").to_number<double>(), 3000);
  EXPECT_LT(seen.at("gantt_scroll_ms").to_number<double>(), 1000);
  EXPECT_LT(seen.at("hover_ms").to_number<double>(), 3000);
}

}  // namespace
