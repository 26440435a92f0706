#include "e2e_support.h"

#include "card.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "ingest.h"
#include "subprocess.h"
#include "store.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace clawtrace::e2e {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& x : v) out.push_back(const_cast<char*>(x.c_str()));
  out.push_back(nullptr);
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The environment every client gets: our PATH and HOME, nothing else of the test's own.
std::vector<std::string> base_env(const fs::path& dir) {
  std::vector<std::string> env = {"PATH=" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
                                  "HOME=" + (dir / "home").string(), "LC_ALL=C.UTF-8"};
  return env;
}

int64_t num(const json::object& o, std::string_view k) {
  if (auto* v = o.if_contains(k); v && v->is_number()) return v->to_number<int64_t>();
  return 0;
}

const json::object& obj(const json::object& o, std::string_view k) {
  static const json::object empty;
  if (auto* v = o.if_contains(k); v && v->is_object()) return v->get_object();
  return empty;
}

// The billing classes of SPEC §5, computed from the provider's own usage fields as the
// stand-in sent them (WIRE-NOTES: which counts include which).
json::object expected_usage(const std::string& api, const json::object& w) {
  int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, reasoning = 0;
  if (api == "anthropic") {
    input = num(w, "input_tokens");
    output = num(w, "output_tokens");
    cache_read = num(w, "cache_read_input_tokens");
    cache_write = num(w, "cache_creation_input_tokens");
  } else if (api == "openai_chat") {
    cache_read = num(obj(w, "prompt_tokens_details"), "cached_tokens");
    cache_write = num(obj(w, "prompt_tokens_details"), "cache_write_tokens");  // also a subset
    input = num(w, "prompt_tokens") - cache_read - cache_write;
    output = num(w, "completion_tokens");
    reasoning = num(obj(w, "completion_tokens_details"), "reasoning_tokens");
  } else if (api == "openai_responses") {
    cache_read = num(obj(w, "input_tokens_details"), "cached_tokens");
    input = num(w, "input_tokens") - cache_read;
    output = num(w, "output_tokens");
    reasoning = num(obj(w, "output_tokens_details"), "reasoning_tokens");
  } else if (api == "gemini") {
    cache_read = num(w, "cachedContentTokenCount");
    input = num(w, "promptTokenCount") - cache_read;
    reasoning = num(w, "thoughtsTokenCount");
    output = num(w, "candidatesTokenCount") + reasoning;
  } else if (api == "ollama") {
    input = num(w, "prompt_eval_count");
    output = num(w, "eval_count");
  }
  return {{"input", input}, {"output", output}, {"cache_read", cache_read},
          {"cache_write", cache_write}, {"reasoning", reasoning}};
}

const char* api_name(const std::string& api) {
  if (api == "anthropic") return "anthropic.messages";
  if (api == "openai_chat") return "openai.chat";
  if (api == "openai_responses") return "openai.responses";
  if (api == "gemini") return "gemini.generate_content";
  return "ollama.chat";
}

}  // namespace

std::string s(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

uint64_t u(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_number()) return v->to_number<uint64_t>();
  return UINT64_MAX;
}

std::string python() {
  static std::string exe = [] {
    auto r = run_process({"/bin/sh", "-c", "python3 -c 'import sys; print(sys.executable)'"},
                         {"PATH=" + std::string(std::getenv("PATH") ? std::getenv("PATH") : ""),
                          "HOME=" + std::string(std::getenv("HOME") ? std::getenv("HOME") : "/")});
    std::string p = r.out.substr(0, r.out.find('\n'));
    return p.empty() ? std::string("/usr/bin/python3") : p;
  }();
  return exe;
}

std::string client_script(const std::string& name) { return std::string(CT_CLIENTS_DIR) + "/" + name; }
std::string curl_post() { return CT_CURL_POST; }

Output run_process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   int timeout_s) {
  auto r = test::run_process(argv, env, timeout_s, /*search_path=*/true);
  const int code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
  return Output{std::move(r.out), std::move(r.err), r.status < 0 ? -1 : code};
}

// ---- Trace ---------------------------------------------------------------------------------

std::vector<const Event*> Trace::of(EventType t) const {
  std::vector<const Event*> out;
  for (const auto& e : events)
    if (e.type == t) out.push_back(&e);
  return out;
}

std::vector<ToolSpan> Trace::model_tool_calls() const {
  std::vector<ToolSpan> out;
  for (const auto& e : events)
    if (e.type == EventType::before_tool_call && s(e.data, "source") == "model") out.push_back({&e, nullptr});
  for (auto& call : out)
    for (const auto& e : events)
      if (e.type == EventType::after_tool_call && e.span == call.open->span) call.close = &e;
  return out;
}

const Event* Trace::end_of(const Event& open) const {
  for (const auto& e : events)
    if (e.type == EventType::after_tool_call && e.span == open.span && e.session == open.session) return &e;
  return nullptr;
}

std::vector<const Event*> Trace::process_spans_under(const std::string& span) const {
  std::vector<const Event*> out;
  for (const auto& e : events)
    if (e.type == EventType::before_tool_call && s(e.data, "source") == "process" && e.parent == span)
      out.push_back(&e);
  return out;
}

// ---- Fixture -------------------------------------------------------------------------------

Fixture::Fixture() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  dir_ = fs::temp_directory_path() / ("clawtrace-e2e-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(dir_);
  fs::create_directories(dir_ / "home");
}

Fixture::~Fixture() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int st;
    waitpid(pid_, &st, 0);
  }
  const char* keep = std::getenv("CLAWTRACE_E2E_KEEP");
  if (::testing::Test::HasFailure() || (keep && *keep == '1')) {
    std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
  } else {
    fs::remove_all(dir_);
  }
}

bool Fixture::start_standin(const std::string& script_json) {
  std::vector<std::string> argv = {CT_STANDIN, "--http-port", "0", "--https-port", "0",
                                   "--cert-dir", dir_.string(), "--log", (dir_ / "standin.log").string(),
                                   "--ready-file", (dir_ / "ready.json").string()};
  if (!script_json.empty()) argv.insert(argv.end(), {"--script", write_file("script.json", script_json)});
  auto a = c_strings(argv);
  pid_ = fork();
  if (pid_ == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    execv(a[0], a.data());
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    if (!fs::exists(dir_ / "ready.json")) continue;
    boost::system::error_code ec;
    json::value v = json::parse(read_file(dir_ / "ready.json"), ec);
    if (ec || !v.is_object()) continue;
    http_port_ = static_cast<int>(num(v.as_object(), "http"));
    https_port_ = static_cast<int>(num(v.as_object(), "https"));
    cert_ = s(v.as_object(), "cert");
    return http_port_ > 0 && https_port_ > 0 && !cert_.empty();
  }
  ADD_FAILURE() << "the stand-in did not become ready";
  return false;
}

std::string Fixture::https_url() const { return "https://localhost:" + std::to_string(https_port_); }
std::string Fixture::http_url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }

std::string Fixture::write_file(const std::string& name, const std::string& text) const {
  std::ofstream(dir_ / name, std::ios::binary) << text;
  return (dir_ / name).string();
}

Output Fixture::run_traced(const std::vector<std::string>& argv,
                           const std::vector<std::string>& extra_env,
                           const std::vector<std::string>& run_options) const {
  std::vector<std::string> full = {CT_CLAWTRACE, "--store", (dir_ / "store").string(), "run"};
  full.insert(full.end(), run_options.begin(), run_options.end());
  full.push_back("--");
  full.insert(full.end(), argv.begin(), argv.end());
  auto env = base_env(dir_);
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return run_process(full, env);
}

Trace Fixture::trace() const {
  Trace t;
  auto store = Store::open(dir_ / "store");
  if (!store) {
    ADD_FAILURE() << store.error();
    return t;
  }
  if (auto st = ingest_pending(**store); !st) ADD_FAILURE() << st.error();
  auto sessions = (*store)->sessions();
  if (!sessions) return t;
  t.session_count = sessions->size();
  t.infos = *sessions;
  for (const auto& info : *sessions) {
    auto ev = (*store)->events(info.id);
    if (ev) t.events.insert(t.events.end(), ev->begin(), ev->end());
  }
  std::stable_sort(t.events.begin(), t.events.end(),
                   [](const Event& a, const Event& b) { return a.t_ns < b.t_ns; });
  return t;
}

SpanTree Fixture::tree(const std::string& root) const {
  auto store = Store::open(dir_ / "store", StoreOptions{.read_only = true});
  if (!store) {
    ADD_FAILURE() << store.error();
    return {};
  }
  auto t = load_span_tree(**store, root);
  if (!t) ADD_FAILURE() << t.error();
  return t ? std::move(t.value()) : SpanTree{};
}

std::vector<json::object> Fixture::standin_log() const {
  std::vector<json::object> out;
  std::istringstream in(read_file(dir_ / "standin.log"));
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    // LLM exchanges only (not HEAD /, /v1/models, count_tokens).
    if (!ec && v.is_object() && v.as_object().contains("model_returned") &&
        s(v.as_object(), "api").find('.') != std::string::npos)
      out.push_back(v.as_object());
  }
  return out;
}

void Fixture::expect_no_secret_in_store() const {
  const std::string secret = kSecret;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ / "store")) {
    if (!entry.is_regular_file()) continue;
    const std::string bytes = read_file(entry.path());
    EXPECT_EQ(bytes.find(secret), std::string::npos) << "credential found in " << entry.path();
    EXPECT_EQ(bytes.find(secret.substr(6)), std::string::npos) << "part of the credential in " << entry.path();
  }
}

// ---- requests and comparison ---------------------------------------------------------------

Request single_request(const std::string& api, bool stream) {
  const std::string st = stream ? "true" : "false";
  const std::string user = R"("Say hello in three words.")";
  if (api == "anthropic")
    return {"/v1/messages?beta=true",
            R"({"model":"claude-sonnet-4-5","max_tokens":256,"stream":)" + st +
                R"(,"system":"Be brief.","messages":[{"role":"user","content":)" + user + "}]}",
            {std::string("x-api-key: ") + kSecret, "anthropic-version: 2023-06-01"}};
  if (api == "openai_chat")
    return {"/v1/chat/completions",
            R"({"model":"gpt-4o","stream":)" + st +
                (stream ? R"(,"stream_options":{"include_usage":true})" : "") +
                R"(,"messages":[{"role":"user","content":)" + user + "}]}",
            {std::string("authorization: Bearer ") + kSecret}};
  if (api == "openai_responses")
    return {"/v1/responses", R"({"model":"gpt-5","stream":)" + st + R"(,"input":)" + user + "}",
            {std::string("authorization: Bearer ") + kSecret}};
  if (api == "gemini")
    return {std::string("/v1beta/models/gemini-2.5-flash:") +
                (stream ? "streamGenerateContent?alt=sse&key=" : "generateContent?key=") + kSecret,
            R"({"contents":[{"role":"user","parts":[{"text":)" + user + "}]}]}", {}};
  return {"/api/chat",
          R"({"model":"llama3.2","stream":)" + st + R"(,"messages":[{"role":"user","content":)" + user + "}]}",
          {}};
}

void expect_output_matches(const Event& out, const json::object& log, const std::string& api,
                           bool stream) {
  SCOPED_TRACE("llm_output " + json::serialize(out.data) + "\nstand-in log " + json::serialize(log));
  const json::object& d = out.data;
  EXPECT_EQ(s(d, "api"), api_name(api));
  EXPECT_EQ(d.at("stream").as_bool(), stream);
  EXPECT_EQ(u(d, "status"), static_cast<uint64_t>(num(log, "status")));
  EXPECT_EQ(s(d, "model_returned"), s(log, "model_returned"));
  EXPECT_EQ(s(d, "stop_reason"), s(log, "stop_reason"));
  EXPECT_EQ(s(d, "text"), s(log, "text"));
  EXPECT_TRUE(s(d, "error").empty()) << s(d, "error");
  ASSERT_TRUE(d.contains("usage") && d.at("usage").is_object());
  const json::object& usage = d.at("usage").as_object();
  const json::object want = expected_usage(api, obj(log, "usage"));
  for (const auto& kv : want) EXPECT_EQ(num(usage, kv.key()), kv.value().as_int64()) << kv.key();
  const auto& calls = d.at("tool_calls").as_array();
  const auto& sent = log.at("tool_calls").as_array();
  ASSERT_EQ(calls.size(), sent.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto& c = calls[i].as_object();
    const auto& w = sent[i].as_object();
    EXPECT_EQ(s(c, "name"), s(w, "name"));
    if (w.at("id").is_string()) {
      EXPECT_EQ(s(c, "id"), s(w, "id"));
    }
    // Arguments: the same JSON value (streams may carry them in pieces).
    boost::system::error_code e1, e2;
    EXPECT_EQ(json::parse(s(c, "arguments"), e1), json::parse(s(w, "arguments"), e2));
  }
  if (stream) {
    EXPECT_TRUE(d.contains("ttft_ms"));
  }
  EXPECT_GT(d.at("duration_ms").to_number<double>(), 0.0);
}

std::string api_key_of(const std::string& log_api) {
  if (log_api == "anthropic.messages") return "anthropic";
  if (log_api == "openai.chat") return "openai_chat";
  if (log_api == "openai.responses") return "openai_responses";
  if (log_api == "gemini.generate_content") return "gemini";
  return "ollama";
}

void expect_card_matches_ledger(const Fixture& f, const std::string& root) {
  auto prices = pricing::PriceTable::builtin();
  ASSERT_TRUE(prices.ok()) << prices.error();
  const card::Card c = card::compile(f.tree(root), prices.value());
  const auto log = f.standin_log();
  double want = 0;
  uint64_t unpriced = 0;
  card::TokenSum sum;
  for (const auto& line : log) {
    const json::object& wire = obj(line, "usage");
    const json::object u = expected_usage(api_key_of(s(line, "api")), wire);
    pricing::Tokens t;
    t.input = num(u, "input");
    t.output = num(u, "output");
    t.cache_read = num(u, "cache_read");
    t.cache_write = num(u, "cache_write");
    t.cache_write_5m = num(obj(wire, "cache_creation"), "ephemeral_5m_input_tokens");
    t.cache_write_1h = num(obj(wire, "cache_creation"), "ephemeral_1h_input_tokens");
    t.reasoning = num(u, "reasoning");
    sum.input += t.input;
    sum.output += t.output;
    sum.cache_read += t.cache_read;
    sum.cache_write += t.cache_write;
    if (auto cost = pricing::cost(prices.value(), s(line, "model_returned"), t)) want += cost->total;
    else ++unpriced;
  }
  EXPECT_EQ(c.llm_calls, log.size());
  EXPECT_EQ(c.unpriced_calls, unpriced);
  EXPECT_EQ(c.tokens.input, sum.input);
  EXPECT_EQ(c.tokens.output, sum.output);
  EXPECT_EQ(c.tokens.cache_read, sum.cache_read);
  EXPECT_EQ(c.tokens.cache_write, sum.cache_write);
  EXPECT_NEAR(c.cost_usd, want, 1e-12);
  EXPECT_GT(c.cost_usd, 0);
  double steps = 0;
  for (const auto& st : c.steps) steps += st.cost_usd;
  EXPECT_NEAR(steps, c.cost_usd, 1e-9);
}

}  // namespace clawtrace::e2e
