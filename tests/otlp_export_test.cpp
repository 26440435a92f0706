// `clawtrace export --otlp` to a local OTLP/HTTP receiver: the payload against the
// OTLP/JSON rules (hex ids, nanosecond times as strings, typed attributes, parent links
// inside one trace) and the GenAI conventions, costs that add up to the card's total,
// retries, resuming after a failure without duplicates, and --continuous.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "card.h"
#include "http_sink.h"
#include "import.h"
#include "store.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "tree.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace clawtrace;

namespace {

const fs::path kDemo = fs::path(CLAWTRACE_SOURCE_DIR) / "tests/compiler/golden/demo.jsonl";
constexpr const char* kRoot = "36f9ba5e7aa25885";  // the demo's root session

std::string str(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

// The attribute `key` of a span, or nullptr.
const json::object* attribute(const json::object& span, std::string_view key) {
  for (const auto& a : span.at("attributes").as_array())
    if (str(a.as_object(), "key") == key) return &a.as_object().at("value").as_object();
  return nullptr;
}
std::string text_of(const json::object& span, std::string_view key) {
  const auto* v = attribute(span, key);
  return v ? str(*v, "stringValue") : "";
}
int64_t int_of(const json::object& span, std::string_view key) {
  const auto* v = attribute(span, key);
  return v ? std::stoll(str(*v, "intValue")) : -1;
}

class OtlpExport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::open(store_dir_);
    ASSERT_TRUE(store) << store.error();
    std::ifstream in(kDemo);
    auto stats = import_jsonl(**store, in);
    ASSERT_TRUE(stats && stats->rejected == 0);
    auto prices = pricing::PriceTable::builtin();
    ASSERT_TRUE(prices);
    auto tree = load_span_tree(**store, kRoot);
    ASSERT_TRUE(tree);
    card_ = card::compile(*tree, *prices);
  }

  test::ProcessOutput clawtrace(std::vector<std::string> args) const {
    args.insert(args.begin(), {CLAWTRACE_BIN, "--store", store_dir_.string()});
    return test::run_process(args, {"HOME=" + tmp_.path().string(), "PATH=/usr/bin:/bin"});
  }

  // Every span the sink received, in order, from every OTLP request.
  std::vector<json::object> received() const {
    std::vector<json::object> spans;
    for (const auto& r : sink_.requests()) {
      json::value v = json::parse(r.body);
      for (const auto& rs : v.at("resourceSpans").as_array())
        for (const auto& ss : rs.at("scopeSpans").as_array())
          for (const auto& s : ss.at("spans").as_array()) spans.push_back(s.as_object());
    }
    return spans;
  }

  test::TempDir tmp_{"clawtrace-otlp"};
  fs::path store_dir_ = tmp_.path() / "store";
  test::HttpSink sink_;
  card::Card card_;
};

// OTLP/JSON: ids as lowercase hex (not base64), 64-bit integers as decimal strings.
void expect_well_formed(const std::vector<json::object>& spans) {
  static const std::regex kTrace("[0-9a-f]{32}"), kSpan("[0-9a-f]{16}"), kNanos("[0-9]{19}");
  std::set<std::string> ids;
  for (const auto& s : spans) ids.insert(str(s, "spanId"));
  ASSERT_EQ(ids.size(), spans.size()) << "span ids are unique";
  size_t roots = 0;
  for (const auto& s : spans) {
    SCOPED_TRACE(str(s, "name"));
    EXPECT_TRUE(std::regex_match(str(s, "traceId"), kTrace));
    EXPECT_EQ(str(s, "traceId"), str(spans[0], "traceId")) << "one trace";
    EXPECT_TRUE(std::regex_match(str(s, "spanId"), kSpan));
    if (s.contains("parentSpanId")) EXPECT_TRUE(ids.count(str(s, "parentSpanId"))) << "the parent is in the trace";
    else ++roots;
    ASSERT_TRUE(std::regex_match(str(s, "startTimeUnixNano"), kNanos));
    ASSERT_TRUE(std::regex_match(str(s, "endTimeUnixNano"), kNanos));
    EXPECT_LE(std::stoull(str(s, "startTimeUnixNano")), std::stoull(str(s, "endTimeUnixNano")));
    const int64_t kind = s.at("kind").as_int64();
    EXPECT_TRUE(kind == 1 || kind == 3);
    EXPECT_TRUE(s.at("status").as_object().at("code").as_int64() == 1 || s.at("status").as_object().at("code").as_int64() == 2);
    for (const auto& a : s.at("attributes").as_array()) {
      const auto& v = a.as_object().at("value").as_object();
      ASSERT_EQ(v.size(), 1u) << "one typed value: " << json::serialize(a);
      if (v.contains("intValue")) {
        EXPECT_TRUE(std::regex_match(str(v, "intValue"), std::regex("-?[0-9]+")));
      }
      if (v.contains("doubleValue")) {
        EXPECT_TRUE(v.at("doubleValue").is_number());
      }
      if (v.contains("stringValue")) {
        EXPECT_TRUE(v.at("stringValue").is_string());
      }
    }
  }
  EXPECT_EQ(roots, 1u);
}

TEST_F(OtlpExport, OneTraceWithGenAiAttributesAndTheCardsCosts) {
  auto r = clawtrace({"export", kRoot, "--otlp", sink_.url(), "--header", "x-api-key=secret-1"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(sink_.requests().size(), 1u);
  EXPECT_NE(sink_.requests()[0].head.find("POST /v1/traces"), std::string::npos);
  EXPECT_NE(sink_.requests()[0].head.find("x-api-key: secret-1"), std::string::npos);
  EXPECT_NE(sink_.requests()[0].head.find("Content-Type: application/json"), std::string::npos);
  const auto spans = received();
  expect_well_formed(spans);

  std::map<std::string, const json::object*> by_id;
  for (const auto& s : spans) by_id[str(s, "spanId")] = &s;
  size_t chats = 0, tools = 0, agents = 0;
  int64_t input = 0, output = 0;
  double root_costs = 0;
  for (const auto& s : spans) {
    const std::string op = text_of(s, "gen_ai.operation.name");
    if (op == "chat") {
      ++chats;
      EXPECT_EQ(s.at("kind").as_int64(), 3) << "an LLM call is a client span";
      EXPECT_EQ(text_of(s, "gen_ai.provider.name"), "anthropic");
      EXPECT_EQ(text_of(s, "gen_ai.request.model"), "claude-sonnet-4-5");
      EXPECT_EQ(text_of(s, "gen_ai.response.model"), "claude-sonnet-4-5-20250929");
      EXPECT_EQ(str(s, "name"), "chat claude-sonnet-4-5");
      input += int_of(s, "gen_ai.usage.input_tokens");
      output += int_of(s, "gen_ai.usage.output_tokens");
    } else if (op == "execute_tool") {
      ++tools;
      EXPECT_FALSE(text_of(s, "gen_ai.tool.name").empty());
      EXPECT_EQ(str(s, "name"), "execute_tool " + text_of(s, "gen_ai.tool.name"));
    } else if (op == "invoke_agent") {
      ++agents;
    }
    if (text_of(s, "clawtrace.cost.session") == kRoot) root_costs += attribute(s, "clawtrace.cost_usd")->at("doubleValue").as_double();
  }
  EXPECT_EQ(chats, card_.llm_calls) << "every call, the sub-agent's included";
  EXPECT_EQ(input, card_.tokens.input + card_.tokens.cache_read + card_.tokens.cache_write);
  EXPECT_EQ(output, card_.tokens.output);
  EXPECT_EQ(tools, 4u) << "read_file twice, delegate; bash in the sub-agent";
  EXPECT_NEAR(root_costs, card_.cost_usd, 1e-9) << "the root card's partition, span by span";
  EXPECT_EQ(agents, 3u) << "the root session, the sub-agent step, the sub-agent's session";

  // The sub-agent's own session hangs below the sub-agent step, in the same trace.
  const json::object* child = nullptr;
  for (const auto& s : spans)
    if (text_of(s, "clawtrace.session.id") == "ed07e02144f05cc0") child = &s;
  ASSERT_NE(child, nullptr);
  bool below_subagent = false;
  for (const json::object* at = child; at->contains("parentSpanId"); at = by_id.at(str(*at, "parentSpanId")))
    below_subagent |= text_of(*by_id.at(str(*at, "parentSpanId")), "clawtrace.subagent.session") == "ed07e02144f05cc0";
  EXPECT_TRUE(below_subagent);
}

TEST_F(OtlpExport, RetriesThenResumesWithoutDuplicates) {
  // A 503 (retry at once, as Retry-After says), then the first batch accepted, then an
  // endpoint that keeps failing: the run fails, naming what was accepted.
  sink_.script({test::HttpSink::Reply(503, "{}", "Retry-After: 0\r\n"), test::HttpSink::Reply(200)},
               test::HttpSink::Reply(500, R"({"error": {"message": "down"}})"));
  auto first = clawtrace({"export", kRoot, "--otlp", sink_.url(), "--batch", "5", "--attempts", "2"});
  EXPECT_NE(first.status, 0);
  EXPECT_NE(first.err.find("HTTP 500: down (2 attempts)"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("5 accepted before; a rerun resumes"), std::string::npos) << first.err;
  const size_t accepted_requests = sink_.requests().size();
  ASSERT_EQ(accepted_requests, 4u);  // 503, 200, 500, 500
  const std::string accepted_body = sink_.requests()[1].body;

  sink_.script({}, test::HttpSink::Reply(200));
  auto second = clawtrace({"export", kRoot, "--otlp", sink_.url(), "--batch", "5"});
  ASSERT_EQ(second.status, 0) << second.err;
  std::set<std::string> ids;
  size_t sent = 0;
  for (const auto* body : {&accepted_body}) {
    json::value v = json::parse(*body);
    for (const auto& s : v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array()) {
      ids.insert(str(s.as_object(), "spanId"));
      ++sent;
    }
  }
  const auto requests = sink_.requests();
  for (size_t i = accepted_requests; i < requests.size(); ++i) {
    json::value v = json::parse(requests[i].body);
    for (const auto& s : v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array()) {
      ids.insert(str(s.as_object(), "spanId"));
      ++sent;
    }
  }
  EXPECT_EQ(ids.size(), sent) << "no span sent twice";

  // Every span of the tree exactly once: the same spans a fresh endpoint gets in one go
  // (the ledger is per endpoint).
  test::HttpSink fresh;
  auto full = clawtrace({"export", kRoot, "--otlp", fresh.url()});
  ASSERT_EQ(full.status, 0) << full.err;
  std::set<std::string> all;
  for (const auto& r : fresh.requests()) {
    json::value v = json::parse(r.body);
    for (const auto& s : v.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array())
      all.insert(str(s.as_object(), "spanId"));
  }
  EXPECT_EQ(ids, all);

  auto third = clawtrace({"export", kRoot, "--otlp", sink_.url()});
  ASSERT_EQ(third.status, 0) << third.err;
  EXPECT_NE(third.err.find("already exported"), std::string::npos) << third.err;
  EXPECT_EQ(sink_.requests().size(), requests.size()) << "nothing sent again";
}

TEST_F(OtlpExport, ContinuousShipsSessionsAsTheyArrive) {
  const std::vector<std::string> argv{CLAWTRACE_BIN, "--store", store_dir_.string(), "export", "--all", "--otlp",
                                      sink_.url(), "--continuous", "--interval", "1"};
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  auto wait_for = [&](size_t n) {
    for (int i = 0; i < 100 && sink_.requests().size() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return sink_.requests().size();
  };
  EXPECT_EQ(wait_for(1), 1u) << "the demo tree, once";
  // A new session arrives (imported by another process meanwhile).
  const std::string line = R"({"t_ns":1795791600000000000,"type":"session_start","session":"later-session","span":"later-session","parent":null,"data":{"pid":5}}
{"t_ns":1795791600100000000,"type":"session_end","session":"later-session","span":"later-session","parent":null,"data":{"status":"ok","exit_code":0}}
)";
  std::ofstream(tmp_.path() / "later.jsonl") << line;
  auto imported = clawtrace({"import", (tmp_.path() / "later.jsonl").string()});
  ASSERT_EQ(imported.status, 0) << imported.err;
  EXPECT_EQ(wait_for(2), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(sink_.requests().size(), 2u) << "each session once";
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::describe_status(status);
}

TEST_F(OtlpExport, BadArgumentsAreClearErrors) {
  auto r = clawtrace({"export", kRoot, "--otlp"});
  EXPECT_NE(r.err.find("--otlp needs a value"), std::string::npos) << r.err;
  r = clawtrace({"export", kRoot, "--otlp", sink_.url(), "--header", "novalue"});
  EXPECT_NE(r.err.find("--header needs K=V"), std::string::npos) << r.err;
  r = clawtrace({"export", kRoot, "--otlp", sink_.url(), "--batch", "0"});
  EXPECT_NE(r.err.find("--batch needs a positive number"), std::string::npos) << r.err;
  r = clawtrace({"export", kRoot, "--otlp", sink_.url(), "--continuous"});
  EXPECT_NE(r.err.find("--continuous goes with --all"), std::string::npos) << r.err;
  r = clawtrace({"export", kRoot, "--otlp", "http://127.0.0.1:1/v1/traces", "--attempts", "1"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("not accepted"), std::string::npos) << r.err;
  EXPECT_TRUE(sink_.requests().empty());
}

}  // namespace

namespace {

// The card of the one root session of the store at `dir`.
card::Card card_of_store(const fs::path& dir) {
  auto store = Store::open(dir);
  EXPECT_TRUE(store);
  auto sessions = (*store)->sessions();
  EXPECT_TRUE(sessions && !sessions->empty());
  auto tree = load_span_tree(**store, sessions->front().id);
  EXPECT_TRUE(tree);
  auto prices = pricing::PriceTable::builtin();
  return card::compile(*tree, *prices);
}

// OTLP import (`clawtrace import`, recognised by shape, or --otlp): what export sent comes
// back as a session with the same calls, tokens and cost, whether one request per line
// (as a collector's file exporter writes) or one pretty-printed document.
TEST_F(OtlpExport, ImportOfTheExportGivesTheSameCallsTokensAndCost) {
  ASSERT_EQ(clawtrace({"export", kRoot, "--otlp", sink_.url(), "--batch", "7"}).status, 0);
  std::string lines;
  for (const auto& r : sink_.requests()) lines += r.body + "\n";
  ASSERT_GT(sink_.requests().size(), 1u);
  std::ofstream(tmp_.path() / "traces.jsonl") << lines;
  json::value whole = json::parse(sink_.requests()[0].body);
  for (size_t i = 1; i < sink_.requests().size(); ++i) {
    const json::value more = json::parse(sink_.requests()[i].body);
    for (const auto& rs : more.at("resourceSpans").as_array()) whole.at("resourceSpans").as_array().push_back(rs);
  }
  std::string pretty = json::serialize(whole);
  for (size_t at = 0; (at = pretty.find("},{", at)) != std::string::npos; at += 4) pretty.replace(at, 3, "},\n{");
  std::ofstream(tmp_.path() / "trace.json") << pretty;

  for (const auto& [file, extra] : {std::pair<std::string, std::string>{"traces.jsonl", ""}, {"trace.json", "--otlp"}}) {
    SCOPED_TRACE(file);
    const fs::path other = tmp_.path() / ("imported-" + file);
    std::vector<std::string> args{CLAWTRACE_BIN, "--store", other.string(), "import"};
    if (!extra.empty()) args.push_back(extra);
    args.push_back((tmp_.path() / file).string());
    auto r = test::run_process(args, {"HOME=" + tmp_.path().string()});
    ASSERT_EQ(r.status, 0) << r.err;
    const card::Card back = card_of_store(other);
    EXPECT_EQ(back.llm_calls, card_.llm_calls);
    EXPECT_EQ(back.tokens.input, card_.tokens.input);
    EXPECT_EQ(back.tokens.output, card_.tokens.output);
    EXPECT_EQ(back.tokens.cache_read, card_.tokens.cache_read);
    EXPECT_EQ(back.tokens.cache_write, card_.tokens.cache_write);
    EXPECT_NEAR(back.cost_usd, card_.cost_usd, 1e-12);
    EXPECT_EQ(back.subagents, 1u) << "the sub-agent span";
    // Importing again adds nothing.
    auto again = test::run_process(args, {"HOME=" + tmp_.path().string()});
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_NE(again.err.find("skipped"), std::string::npos) << again.err;
  }
  // Without --otlp a pretty-printed document's first line is not a shape we know.
  auto unknown = clawtrace({"import", (tmp_.path() / "trace.json").string()});
  EXPECT_NE(unknown.status, 0);
  EXPECT_NE(unknown.err.find("OTLP traces (--otlp)"), std::string::npos) << unknown.err;
}

}  // namespace

namespace {

// The endpoint's answer is untrusted: a partial success with a count that is not an
// integer is reported, never a crash.
TEST_F(OtlpExport, OddPartialSuccessIsReportedNotFatal) {
  sink_.script({}, test::HttpSink::Reply(200, R"({"partialSuccess": {"rejectedSpans": 1.5e30, "errorMessage": "too old"}})"));
  auto r = clawtrace({"export", kRoot, "--otlp", sink_.url()});
  EXPECT_EQ(r.status, 0) << r.err;
  sink_.script({}, test::HttpSink::Reply(200, R"({"partialSuccess": {"rejectedSpans": "2", "errorMessage": "too old"}})"));
  test::HttpSink other;
  other.script({}, test::HttpSink::Reply(200, R"({"partialSuccess": {"rejectedSpans": "2", "errorMessage": "too old"}})"));
  r = clawtrace({"export", kRoot, "--otlp", other.url()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("2 spans rejected: too old"), std::string::npos) << r.err;
}

}  // namespace
