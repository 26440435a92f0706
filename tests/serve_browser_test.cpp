// The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright
// (npm playwright-core, installed into the npm cache of the end-to-end tests) against
// `clawtrace serve` on a store of imported traced runs. The overview lists the sessions
// with their card totals, clicking one shows its tree with the sub-agent nested, the Gantt
// has one bar per span; screenshots go to <build>/artefacts/serve. Skipped, with the reason,
// when Chromium, Node.js or the package cannot be had.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <set>

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

class Browser : public ::testing::Test {
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

TEST_F(Browser, OverviewTreeAndGantt) {
  test::TempDir dir("clawtrace-browser");
  const fs::path store = dir.path() / "store";
  for (const char* f : {"demo.jsonl", "edge.jsonl"}) {
    auto r = test::run_process({CT_CLAWTRACE, "--store", store.string(), "import", std::string(CT_GOLDEN) + "/" + f},
                               test_env(dir.path()), 60);
    ASSERT_EQ(r.status, 0) << r.err;
  }
  Server server(store, dir.path(), {});
  ASSERT_GT(server.port(), 0) << server.banner();
  // What the API says, to hold the page to.
  json::value list = http(server.url("/api/sessions")).json();
  std::map<std::string, double> cost;
  std::string demo;
  for (const auto& s : list.at("sessions").as_array()) {
    cost[std::string(s.at("id").as_string())] = s.at("cost_usd").to_number<double>();
    if (s.at("command").as_string().find("demo-agent") != json::string::npos) demo = s.at("id").as_string();
  }
  ASSERT_FALSE(demo.empty());
  json::value detail = http(server.url("/api/sessions/" + demo)).json();
  // kind:id → ancestor kinds (a process sub-agent and its session share an id)
  std::map<std::string, std::vector<std::string>> api_nodes;
  walk(detail.at("tree").as_object(), [&](const json::object& n, const std::vector<std::string>& kinds) {
    api_nodes[std::string(n.at("kind").as_string()) + ":" + std::string(n.at("id").as_string())] = kinds;
  });

  const fs::path shots = CT_ARTEFACTS;
  fs::create_directories(shots);
  auto r = test::run_process({"node", CT_BROWSER_SCRIPT, server.url("/"), shots.string(), demo},
                             {"PATH=" + env_or("PATH", "/usr/bin:/bin"), "HOME=" + env_or("HOME", "/tmp"),
                              "NODE_PATH=" + modules_, "CHROMIUM=" + chromium_},
                             120, true);
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  boost::system::error_code ec;
  json::value seen = json::parse(r.out, ec);
  ASSERT_FALSE(ec) << r.out;

  // Overview: every session, with its card total.
  const json::array& rows = seen.at("rows").as_array();
  ASSERT_EQ(rows.size(), cost.size());
  for (const auto& row : rows) {
    const std::string id(row.at("id").as_string());
    ASSERT_TRUE(cost.count(id)) << id;
    EXPECT_EQ(row.at("cost").to_number<double>(), cost[id]) << id;
  }
  EXPECT_EQ(seen.at("total_cost").to_number<double>(), list.at("totals").at("cost_usd").to_number<double>());
  EXPECT_GE(seen.at("model_rows").to_number<int>(), 1);

  // Clicking the demo: its tree, the sub-agent's calls nested below the sub-agent.
  EXPECT_EQ(seen.at("hash").as_string(), "#/session/" + demo);
  EXPECT_EQ(seen.at("session_cost").to_number<double>(), cost[demo]);
  const json::array& nodes = seen.at("nodes").as_array();
  EXPECT_EQ(nodes.size(), api_nodes.size());
  size_t nested_llm = 0, redundant = 0;
  for (const auto& n : nodes) {
    const std::string id = std::string(n.at("kind").as_string()) + ":" + std::string(n.at("id").as_string());
    ASSERT_TRUE(api_nodes.count(id)) << id;
    std::vector<std::string> kinds;
    for (const auto& k : n.at("ancestors").as_array()) kinds.emplace_back(k.as_string());
    EXPECT_EQ(kinds, api_nodes[id]) << id;
    if (n.at("kind") == "llm" && std::find(kinds.begin(), kinds.end(), "subagent") != kinds.end()) ++nested_llm;
    redundant += n.at("redundant").as_bool();
  }
  EXPECT_GE(nested_llm, 1u);
  EXPECT_EQ(redundant, detail.at("card").at("redundancy").as_array().size());

  // The Gantt: one bar per span, each visible.
  const json::array& bars = seen.at("bars").as_array();
  std::set<std::string> bar_ids;
  for (const auto& b : bars) {
    bar_ids.insert(std::string(b.at("kind").as_string()) + ":" + std::string(b.at("id").as_string()));
    EXPECT_GE(b.at("width").to_number<double>(), 1.0);
  }
  EXPECT_EQ(bars.size(), api_nodes.size());
  EXPECT_EQ(bar_ids.size(), api_nodes.size());

  EXPECT_NE(seen.at("payload").as_string().find("notes.md"), json::string::npos) << seen.at("payload");
  EXPECT_FALSE(seen.at("tip").as_string().empty());
  EXPECT_TRUE(seen.at("subagent_collapsed").as_bool());
  EXPECT_TRUE(seen.at("foreign_requests").as_array().empty()) << seen.at("foreign_requests");
  EXPECT_TRUE(seen.at("errors").as_array().empty()) << seen.at("errors");
  for (const char* shot : {"overview.png", "session.png", "session-detail.png"})
    EXPECT_GT(fs::file_size(shots / shot), 1000u) << shot;
}

}  // namespace
