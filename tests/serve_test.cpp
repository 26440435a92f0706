// `clawtrace serve`: the JSON API over HTTP against a store filled by importing real traced
// runs (tests/compiler/golden: the demo with its sub-agent, and the edge cases). Costs are
// checked against `clawtrace card`, plus the token check, bad parameters and unknown ids.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "serve_support.h"
#include "subprocess.h"
#include "temp_dir.h"

using namespace clawtrace;
using namespace clawtrace::serve_test;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Every node of the tree, depth first.
void walk(const json::object& n, const std::function<void(const json::object&, int)>& fn, int depth = 0) {
  fn(n, depth);
  for (const auto& c : n.at("children").as_array()) walk(c.as_object(), fn, depth + 1);
}

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir("clawtrace-serve");
    for (const char* f : {"demo.jsonl", "edge.jsonl"}) {
      auto r = clawtrace({"import", std::string(CT_GOLDEN) + "/" + f});
      ASSERT_EQ(r.status, 0) << r.err;
    }
    server_ = new Server(store(), home(), {});
    ASSERT_GT(server_->port(), 0) << server_->banner();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }

  static fs::path store() { return dir_->path() / "store"; }
  static fs::path home() { return dir_->path(); }
  static test::ProcessOutput clawtrace(std::vector<std::string> args) {
    args.insert(args.begin(), {CT_CLAWTRACE, "--store", store().string()});
    return test::run_process(args, test_env(home()), 60);
  }
  static Reply get(const std::string& path) { return http(server_->url(path)); }

  // `clawtrace card ID`'s totals.cost_usd.
  static double card_total(const std::string& id) { return serve_test::card_total(store(), home(), id); }

  static json::array sessions(const std::string& query = "") {
    Reply r = get("/api/sessions" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    json::value v = r.json();
    return v.is_object() ? v.at("sessions").as_array() : json::array();
  }

  static std::string demo_id() {
    for (const auto& s : sessions("?q=demo-agent")) return std::string(s.at("id").as_string());
    return "";
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline Server* server_ = nullptr;
};

TEST_F(Serve, ListsRootSessionsWithTheirCardTotals) {
  json::array list = sessions();
  ASSERT_EQ(list.size(), 2u);  // the demo's sub-agent session is below its root
  for (const auto& v : list) {
    const json::object& s = v.as_object();
    const std::string id(s.at("id").as_string());
    EXPECT_LT(relative_difference(s.at("cost_usd").to_number<double>(), card_total(id)), 1e-12) << id;
    EXPECT_GT(s.at("cost_usd").to_number<double>(), 0);
    EXPECT_TRUE(s.at("tokens").as_object().contains("cache_read"));
    EXPECT_TRUE(s.at("parent_session").is_null());
  }
  // With all=1 the sessions below the roots are listed too, as `clawtrace sessions --all` does.
  auto all = clawtrace({"sessions", "--all", "--json"});
  boost::system::error_code ec;
  const json::value listed = json::parse(all.out, ec);
  ASSERT_FALSE(ec) << all.out;
  EXPECT_GT(listed.as_array().size(), 2u);
  EXPECT_EQ(sessions("?all=1").size(), listed.as_array().size());
}

TEST_F(Serve, TotalsPerModelAddUpToTheCardTotals) {
  const json::value reply = get("/api/sessions").json();
  const json::object& totals = reply.at("totals").as_object();
  double sum_cards = 0, sum_models = 0;
  uint64_t calls = 0;
  for (const auto& s : reply.at("sessions").as_array()) sum_cards += s.at("cost_usd").to_number<double>();
  for (const auto& m : totals.at("by_model").as_array()) {
    sum_models += m.at("cost_usd").to_number<double>();
    calls += m.at("calls").to_number<uint64_t>();
  }
  EXPECT_LT(relative_difference(totals.at("cost_usd").to_number<double>(), sum_cards), 1e-12);
  EXPECT_LT(relative_difference(sum_models, sum_cards), 1e-9);  // bills per call vs the card's partition
  EXPECT_EQ(calls, totals.at("llm_calls").to_number<uint64_t>());
  const json::array& tags = totals.at("by_tag").as_array();
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].at("key").as_string(), "task");
  EXPECT_EQ(tags[0].at("value").as_string(), "edge");
}

TEST_F(Serve, FiltersSortsAndPages) {
  EXPECT_EQ(sessions("?tag=task%3Dedge").size(), 1u);
  EXPECT_EQ(sessions("?tag=task=other").size(), 0u);
  EXPECT_EQ(sessions("?q=DEMO-agent").size(), 1u);
  EXPECT_EQ(sessions("?status=ok,failed,truncated,running").size(), 2u);
  EXPECT_EQ(sessions("?since=2100-01-01").size(), 0u);
  EXPECT_EQ(sessions("?until=2000-01-01T00:00:00Z").size(), 0u);
  EXPECT_EQ(sessions("?since=0&until=4000000000").size(), 2u);
  json::array by_cost = sessions("?sort=-cost");
  ASSERT_EQ(by_cost.size(), 2u);
  EXPECT_GE(by_cost[0].at("cost_usd").to_number<double>(), by_cost[1].at("cost_usd").to_number<double>());
  json::array cheap_first = sessions("?sort=cost");
  EXPECT_EQ(cheap_first[0].at("id"), by_cost[1].at("id"));
  Reply page = get("/api/sessions?limit=1&offset=1&sort=cost");
  EXPECT_EQ(page.json().at("total").to_number<int>(), 2);
  ASSERT_EQ(page.json().at("sessions").as_array().size(), 1u);
  EXPECT_EQ(page.json().at("sessions").as_array()[0].at("id"), by_cost[0].at("id"));
  EXPECT_EQ(sessions("?offset=5").size(), 0u);
}

TEST_F(Serve, BadParametersAre400WithAMessage) {
  for (const char* q : {"?limit=0", "?limit=abc", "?limit=100000", "?offset=-1", "?sort=price", "?status=done",
                        "?tag=novalue", "?tag==x", "?since=yesterday", "?until=2026-13-45", "?all=maybe", "?colour=red",
                        "?q=%zz", "?q=%4"}) {
    Reply r = get(std::string("/api/sessions") + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_TRUE(r.json().is_object() && r.json().as_object().contains("error")) << q << ": " << r.body;
  }
  const std::string id = demo_id();
  EXPECT_EQ(get("/api/sessions/" + id + "/card?format=xml").status, 400);
  EXPECT_EQ(get("/api/sessions/" + id + "/card?top=x").status, 400);
  EXPECT_EQ(get("/api/sessions/" + id + "?top=3").status, 400);  // only the card takes top
  EXPECT_EQ(get("/api/sessions/not-an-id").status, 400);
  EXPECT_EQ(get("/api/sessions/" + id + "/spans/..%2F..%2Fetc").status, 400);
  EXPECT_EQ(http(server_->url("/api/sessions"), {}, "POST").status, 405);
}

TEST_F(Serve, UnknownIdsAre404) {
  EXPECT_EQ(get("/api/sessions/ffffffffffffffff").status, 404);
  EXPECT_EQ(get("/api/sessions/" + demo_id() + "/spans/ffffffffffffffff").status, 404);
  EXPECT_EQ(get("/api/sessions/" + demo_id() + "/nothing").status, 404);
  EXPECT_EQ(get("/api/nothing").status, 404);
  EXPECT_EQ(get("/nothing.html").status, 404);
  Reply r = get("/api/sessions/ffffffffffffffff");
  EXPECT_NE(r.json().at("error").as_string().find("no session"), std::string::npos) << r.body;
}

TEST_F(Serve, SessionTreeNestsTheSubAgentAndCarriesCardCosts) {
  const std::string id = demo_id();
  Reply r = get("/api/sessions/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::object body = r.json().as_object();
  const json::object& card = body.at("card").as_object();
  std::map<std::string, double> step_cost;
  for (const auto& s : card.at("steps").as_array()) step_cost[std::string(s.at("id").as_string())] = s.at("cost_usd").to_number<double>();
  const double total = card.at("totals").at("cost_usd").to_number<double>();
  EXPECT_LT(relative_difference(total, card_total(id)), 1e-12);
  const json::object& tree = body.at("tree").as_object();
  EXPECT_EQ(tree.at("kind").as_string(), "session");
  size_t in_card = 0, inside_subagent_llm = 0, redundant = 0;
  double subagent_cost = 0, subagent_children = 0;
  walk(tree, [&](const json::object& n, int) {
    const std::string nid(n.at("id").as_string());
    if (auto it = step_cost.find(nid); it != step_cost.end() && n.at("kind") != "session") {
      ++in_card;
      EXPECT_EQ(n.at("cost_usd").to_number<double>(), it->second) << nid;
      EXPECT_NEAR(n.at("share").to_number<double>(), it->second / total, 1e-12);
    }
    if (n.contains("redundancy"))
      for (const auto& m : n.at("redundancy").as_array()) redundant += m.at("wasteful").as_bool();
    if (n.at("kind") != "subagent") return;
    subagent_cost = n.at("cost_usd").to_number<double>();
    walk(n, [&](const json::object& inner, int depth) {
      if (inner.at("kind") == "llm") ++inside_subagent_llm;
      if (depth > 0 && !inner.at("cost_usd").is_null()) subagent_children += inner.at("cost_usd").to_number<double>();
    });
  });
  EXPECT_EQ(in_card, step_cost.size());  // every card step is in the tree
  EXPECT_GE(inside_subagent_llm, 1u);    // the sub-agent's own calls are nested under it
  EXPECT_GT(subagent_cost, 0);
  EXPECT_LT(relative_difference(subagent_children, subagent_cost), 1e-9);  // its spans partition its cost
  EXPECT_EQ(redundant, card.at("redundancy").as_array().size());
}

TEST_F(Serve, CardAsJsonAndYaml) {
  const std::string id = demo_id();
  Reply yaml = get("/api/sessions/" + id + "/card?format=yaml");
  ASSERT_EQ(yaml.status, 200);
  EXPECT_NE(yaml.content_type.find("yaml"), std::string::npos);
  EXPECT_EQ(yaml.body, clawtrace({"card", id}).out);  // the same bytes as the command
  EXPECT_EQ(get("/api/sessions/" + id + "/card?format=yaml&top=2").body, clawtrace({"card", id, "--top", "2"}).out);
  Reply card = get("/api/sessions/" + id + "/card?top=3");
  ASSERT_EQ(card.status, 200);
  EXPECT_LT(relative_difference(card.json().at("totals").at("cost_usd").to_number<double>(), card_total(id)), 1e-12);
  EXPECT_EQ(card.json().at("top_cost").as_array().size(), 3u);
  EXPECT_EQ(get("/api/sessions/last/card?format=yaml").status, 200);
  EXPECT_EQ(get("/api/sessions/" + id.substr(0, 6) + "/card?format=yaml").body, yaml.body);  // prefixes resolve
}

TEST_F(Serve, SpanPayloadsInFull) {
  const std::string id = demo_id();
  const json::object tree = get("/api/sessions/" + id).json().at("tree").as_object();
  std::string tool, llm;
  walk(tree, [&](const json::object& n, int) {
    if (n.at("kind") == "tool" && tool.empty()) tool = n.at("id").as_string();
    if (n.at("kind") == "llm" && llm.empty()) llm = n.at("id").as_string();
  });
  Reply t = get("/api/sessions/" + id + "/spans/" + tool);
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.json().at("open").at("type").as_string(), "before_tool_call");
  EXPECT_TRUE(t.json().at("open").at("data").as_object().contains("arguments"));
  Reply l = get("/api/sessions/" + id + "/spans/" + llm);
  ASSERT_EQ(l.status, 200);
  EXPECT_TRUE(l.json().at("open").at("data").as_object().contains("messages_added"));
  EXPECT_EQ(l.json().at("close").at("type").as_string(), "llm_output");
  // A sub-agent that ran as a process shares its id with its session: the node's session
  // tells them apart.
  std::string sub, sub_session, child_session;
  walk(tree, [&](const json::object& n, int) {
    if (n.at("kind") == "subagent" && sub.empty()) {
      sub = n.at("id").as_string();
      sub_session = n.at("session").as_string();
    }
  });
  walk(tree, [&](const json::object& n, int) {
    if (n.at("kind") == "session" && n.at("id") == sub.c_str()) child_session = n.at("session").as_string();
  });
  ASSERT_FALSE(sub.empty());
  Reply as_subagent = get("/api/sessions/" + id + "/spans/" + sub + "?session=" + sub_session);
  EXPECT_EQ(as_subagent.json().at("open").at("type").as_string(), "subagent_spawned");
  if (!child_session.empty()) {
    Reply as_session = get("/api/sessions/" + id + "/spans/" + sub + "?session=" + child_session);
    EXPECT_EQ(as_session.json().at("open").at("type").as_string(), "session_start");
  }
  EXPECT_EQ(get("/api/sessions/" + id + "/spans/" + sub + "?session=xyz").status, 400);
  EXPECT_EQ(get("/api/sessions/" + id + "/spans/" + sub + "?session=ffffffffffffffff").status, 404);
}

TEST_F(Serve, ServesThePageFromTheBinary) {
  Reply page = get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.content_type.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("app.js"), std::string::npos);
  Reply js = get("/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_NE(js.content_type.find("javascript"), std::string::npos);
  EXPECT_EQ(get("/app.css").status, 200);
  // The chart library, installed by npm at build time and compiled in with the page.
  EXPECT_NE(page.body.find("chart.umd.min.js"), std::string::npos);
  Reply chart = get("/chart.umd.min.js");
  EXPECT_EQ(chart.status, 200);
  EXPECT_NE(chart.content_type.find("javascript"), std::string::npos);
  EXPECT_NE(chart.body.find("Chart.js v4."), std::string::npos);
  EXPECT_NE(chart.body.find("MIT License"), std::string::npos);  // its notice travels with it
}

TEST_F(Serve, TokenIsCheckedOnEveryRequest) {
  Server guarded(store(), home(), {"--token", "s3cret"});
  ASSERT_GT(guarded.port(), 0) << guarded.banner();
  EXPECT_EQ(http(guarded.url("/api/sessions")).status, 401);
  EXPECT_EQ(http(guarded.url("/")).status, 401);
  EXPECT_EQ(http(guarded.url("/api/sessions"), {"Authorization: Bearer wrong"}).status, 401);
  EXPECT_EQ(http(guarded.url("/api/sessions"), {"Authorization: Bearer s3cret"}).status, 200);
  EXPECT_EQ(http(guarded.url("/api/sessions?token=s3cret")).status, 200);
  EXPECT_EQ(http(guarded.url("/api/sessions?token=s3cre")).status, 401);
  // The page opened with ?token= sets a cookie its own requests then carry.
  Reply page = http(guarded.url("/?token=s3cret"));
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.set_cookie.find("clawtrace_token=s3cret"), std::string::npos) << page.set_cookie;
  EXPECT_NE(page.set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_EQ(http(guarded.url("/api/sessions"), {"Cookie: clawtrace_token=s3cret"}).status, 200);
  EXPECT_EQ(http(guarded.url("/api/sessions"), {"Cookie: clawtrace_token=nope"}).status, 401);
}

TEST_F(Serve, WithoutATokenOnlyLoopbackNamesAreServed) {
  EXPECT_EQ(http(server_->url("/api/sessions"), {"Host: localhost:" + std::to_string(server_->port())}).status, 200);
  EXPECT_EQ(http(server_->url("/api/sessions"), {"Host: [::1]:" + std::to_string(server_->port())}).status, 200);
  Reply rebound = http(server_->url("/api/sessions"), {"Host: attacker.example:" + std::to_string(server_->port())});
  EXPECT_EQ(rebound.status, 403);
  EXPECT_EQ(http(server_->url("/"), {"Host: 127.0.0.1.attacker.example"}).status, 403);
  Server guarded(store(), home(), {"--token", "t"});  // with a token, any name (the token guards)
  EXPECT_EQ(http(guarded.url("/api/sessions?token=t"), {"Host: dashboard.lan"}).status, 200);
}

TEST_F(Serve, NonLoopbackBindWithoutATokenGetsAGeneratedOne) {
  Server open_to_all(store(), home(), {"--bind", "0.0.0.0"});
  ASSERT_GT(open_to_all.port(), 0) << open_to_all.banner();
  ASSERT_EQ(open_to_all.token().size(), 32u) << open_to_all.banner();
  EXPECT_EQ(http(open_to_all.url("/api/sessions")).status, 401);
  EXPECT_EQ(http(open_to_all.url("/api/sessions"), {"Authorization: Bearer " + open_to_all.token()}).status, 200);
  Server other(store(), home(), {"--bind", "0.0.0.0"});
  EXPECT_NE(other.token(), open_to_all.token());  // random, not fixed
}

// Two tasks, each run once per condition (cond=a, cond=b), with a score.
void write_eval_events(const fs::path& file) {
  std::ofstream out(file);
  int n = 0;
  for (const char* task : {"t1", "t2"})
    for (const char* cond : {"a", "b"}) {
      ++n;
      const std::string s = "00000000000e" + std::to_string(1000 + n), span = "00000000000f" + std::to_string(1000 + n);
      const uint64_t t = 1795791496000000000ull + static_cast<uint64_t>(n) * 1000000000ull;
      const int64_t output = cond[0] == 'a' ? 100 : 50;
      json::object tags{{"task", task}, {"cond", cond}};
      auto line = [&](uint64_t at, const char* type, const std::string& sp, json::value parent, json::object data) {
        out << json::serialize(json::object{{"t_ns", at}, {"type", type}, {"session", s}, {"span", sp},
                                            {"parent", parent}, {"data", std::move(data)}}) << "\n";
      };
      line(t, "session_start", s, nullptr, {{"pid", n}, {"ppid", 1}, {"argv", json::array{"agent"}}, {"cwd", "/"}, {"tags", tags}});
      line(t + 1000, "llm_input", span, json::value(s), {{"provider", "openai"}, {"model", "gpt-4o-2024-08-06"}});
      line(t + 2000, "llm_output", span, json::value(s), {{"model_returned", "gpt-4o-2024-08-06"},
           {"usage", {{"input", 1000}, {"output", output}, {"cache_read", 0}, {"cache_write", 0}, {"reasoning", 0}}}});
      line(t + 3000, "session_end", s, nullptr, {{"exit_code", 0}});
    }
}

TEST_F(Serve, EvalComparesTwoConditions) {
  test::TempDir dir("clawtrace-serve-eval");
  const fs::path store = dir.path() / "store", events = dir.path() / "eval.jsonl";
  write_eval_events(events);
  auto r = test::run_process({CT_CLAWTRACE, "--store", store.string(), "import", events.string()}, test_env(home()), 60);
  ASSERT_EQ(r.status, 0) << r.err;
  Server server(store, home(), {});
  ASSERT_GT(server.port(), 0) << server.banner();
  Reply ok = http(server.url("/api/eval?baseline=cond%3Da&treated=cond%3Db"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto cli = test::run_process({CT_CLAWTRACE, "--store", store.string(), "eval", "--baseline", "cond=a", "--treated", "cond=b", "--json"},
                               test_env(home()), 60);
  ASSERT_EQ(cli.status, 0) << cli.err;
  EXPECT_EQ(ok.json(), json::parse(cli.out));  // the same report as the command
  EXPECT_EQ(ok.json().at("tasks").as_array().size(), 2u);
  EXPECT_EQ(http(server.url("/api/eval?baseline=cond%3Da&treated=cond%3Db&format=costs.svg")).content_type, "image/svg+xml");
  EXPECT_EQ(http(server.url("/api/eval?baseline=cond%3Da")).status, 400);
  EXPECT_EQ(http(server.url("/api/eval?baseline=cond%3Da&treated=cond%3Dnone")).status, 400);
  EXPECT_EQ(http(server.url("/api/eval?baseline=cond%3Da&treated=cond%3Da")).status, 400);
  EXPECT_EQ(http(server.url("/api/eval?baseline=cond%3Da&treated=cond%3Db&format=png")).status, 400);
}

// Sends raw bytes on a fresh connection and returns what came back (until close or 2 s).
std::string raw_exchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 2000) > 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return got;
}

TEST_F(Serve, GarbageRequestsNeverStopTheServer) {
  const std::string id = demo_id();
  std::mt19937 rng(7);
  std::vector<std::string> requests = {
      "", "\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "BREW /pot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\n\r\n",
      "GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(200000, 'a') + "\r\n\r\n",
      "GET /api/sessions?" + std::string(100000, '%') + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /api/sessions/" + id + "/spans/%00%ff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /api/sessions?q=%00&tag=%ff%fe%3D HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /api/sessions?limit=99999999999999999999999 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /api/sessions/" + id + "/card?top=99999999999999999999 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"};
  for (int i = 0; i < 200; ++i) {  // random targets under the API
    std::string target = "/api/sessions";
    const size_t len = rng() % 40;
    for (size_t k = 0; k < len; ++k) target += "/?=&%+-.last0af"[rng() % 15];
    requests.push_back("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  size_t answered = 0;
  for (const auto& request : requests) {
    const std::string reply = raw_exchange(server_->port(), request);
    if (reply.empty()) continue;  // dropped: fine
    ++answered;
    EXPECT_EQ(reply.find("HTTP/1.1 403"), std::string::npos) << request.substr(0, 80);
    EXPECT_EQ(reply.rfind("HTTP/1.1 ", 0), 0u) << request.substr(0, 80);
    EXPECT_EQ(reply.find("HTTP/1.1 500"), std::string::npos) << request.substr(0, 80);
  }
  EXPECT_GT(answered, 200u);
  EXPECT_EQ(get("/api/sessions").status, 200);  // still serving
  EXPECT_EQ(get("/../../etc/passwd").status, 404);
}

TEST_F(Serve, CommandLineErrors) {
  EXPECT_NE(clawtrace({"serve", "--port", "70000"}).status, 0);
  EXPECT_NE(clawtrace({"serve", "--bind", "0.0.0.0", "--token", ""}).status, 0);
  EXPECT_NE(clawtrace({"serve", "--bind", "not an address", "--port", "0"}).status, 0);
  EXPECT_NE(clawtrace({"serve", "extra"}).status, 0);
  test::TempDir empty("clawtrace-serve-empty");
  auto r = test::run_process({CT_CLAWTRACE, "--store", (empty.path() / "none").string(), "serve", "--port", "0"},
                             test_env(home()), 20);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("no ClawTrace store"), std::string::npos) << r.err;
}

}  // namespace
