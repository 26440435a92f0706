// `clawtrace relay` and `clawtrace run --relay` end to end: real clients through the relay to
// the provider stand-in over HTTPS; the recorded events and card are compared with the
// stand-in's ledger, and the relay's streaming, concurrency and failure passing are measured
// against the same requests sent directly.
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "e2e_support.h"
#include "files.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using clawtrace::EventType;
using clawtrace::e2e::Fixture;
using clawtrace::e2e::Trace;
namespace e2e = clawtrace::e2e;

namespace {

using clawtrace::test::slurp;

// A running `clawtrace relay`, stopped with SIGTERM (and waited for) at scope end or stop().
class Relay {
 public:
  Relay(const Fixture& f, std::vector<std::string> args) : dir_(f.dir()) {
    const fs::path ready = dir_ / "relay-ready.json";
    fs::remove(ready);
    std::vector<std::string> argv = {CT_CLAWTRACE, "--store", (dir_ / "store").string(), "relay", "--listen",
                                     "127.0.0.1:0", "--ready-file", ready.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    const std::string err = (dir_ / "relay.err").string();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      int fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 2);
      execv(a[0], a.data());
      _exit(127);
    }
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      boost::system::error_code ec;
      json::value v = json::parse(slurp(ready), ec);
      if (ec || !v.is_object()) continue;
      port_ = static_cast<int>(v.as_object().at("port").to_number<int64_t>());
      session_ = std::string(v.as_object().at("session").as_string());
    }
  }
  ~Relay() { stop(); }
  // Returns the relay's exit status; its stderr is in stderr_text().
  int stop() {
    if (pid_ <= 0) return status_;
    kill(pid_, SIGTERM);
    waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  const std::string& session() const { return session_; }
  std::string stderr_text() const { return slurp(dir_ / "relay.err"); }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = -1;
  std::string session_;
};

struct Reply {
  long status = 0;
  CURLcode rc = CURLE_OK;
  std::string body, headers;
  double first_byte_s = -1;  // since the request started, when the first body byte arrived
  double total_s = 0;
};

// One POST with libcurl, timing the first body byte as the client sees it.
Reply post(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
           const std::string& cafile = "") {
  struct Ctx {
    Reply* r;
    std::chrono::steady_clock::time_point start;
  };
  Reply r;
  Ctx ctx{&r, std::chrono::steady_clock::now()};
  CURL* c = curl_easy_init();
  curl_slist* list = curl_slist_append(nullptr, "content-type: application/json");
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!cafile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cafile.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* p) {
    auto* x = static_cast<Ctx*>(p);
    if (x->r->first_byte_s < 0)
      x->r->first_byte_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - x->start).count();
    x->r->body.append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, +[](char* d, size_t s, size_t n, void* p) {
    static_cast<std::string*>(p)->append(d, s * n);
    return s * n;
  });
  r.rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.start).count();
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  return r;
}

std::string ParamName(const ::testing::TestParamInfo<std::tuple<std::string, bool>>& p) {
  return std::get<0>(p.param) + (std::get<1>(p.param) ? "_stream" : "_json");
}

const std::vector<std::string> kApis = {"anthropic", "openai_chat", "openai_responses", "gemini"};

}  // namespace

class RelayApis : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

// A libcurl client calls the relay as its provider: the response is what the stand-in sent,
// and the relay's session holds the same llm events the preload would have recorded.
TEST_P(RelayApis, EventsAndCardMatchTheLedger) {
  const auto& [api, stream] = GetParam();
  Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [], "default": {"text": "Relayed — ünïcödé.", "chunk_size": 9,
      "usage": {"input": 900, "output": 21, "cache_read": 300, "reasoning": 4}}})"));
  Relay relay(f, {"--upstream", f.https_url(), "--cacert", f.cert(), "--tag", "via=relay"});
  ASSERT_GT(relay.port(), 0) << relay.stderr_text();
  const auto req = e2e::single_request(api, stream);
  const std::string body = f.write_file("body.json", req.body);
  std::vector<std::string> argv = {e2e::curl_post(), relay.url(req.target), "", body, "2"};
  argv.insert(argv.end(), req.headers.begin(), req.headers.end());
  auto run = e2e::run_process(argv, {"PATH=/usr/bin:/bin"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(relay.stop(), 0) << relay.stderr_text();
  EXPECT_NE(relay.stderr_text().find("clawtrace: session " + relay.session()), std::string::npos);

  Trace t = f.trace();
  const auto log = f.standin_log();
  auto outputs = t.of(EventType::llm_output);
  ASSERT_EQ(log.size(), 2u);
  ASSERT_EQ(outputs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    e2e::expect_output_matches(*outputs[i], log[i], api, stream);
    EXPECT_EQ(outputs[i]->session, relay.session());
    // What the client received is what the stand-in sent: its text is in the client's output.
    EXPECT_NE(run.out.find(stream ? "Relayed" : "Relayed"), std::string::npos);
  }
  auto inputs = t.of(EventType::llm_input);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(e2e::s(inputs[0]->data, "layer"), "relay");
  EXPECT_EQ(e2e::u(inputs[0]->data, "request_bytes"), req.body.size());
  e2e::expect_card_matches_ledger(f, relay.session());
  ASSERT_EQ(t.infos.size(), 1u);
  EXPECT_EQ(t.infos[0].tags.count("via") ? t.infos[0].tags.at("via") : "", "relay");
  f.expect_no_secret_in_store();
}

INSTANTIATE_TEST_SUITE_P(Apis, RelayApis, ::testing::Combine(::testing::ValuesIn(kApis), ::testing::Bool()),
                         ParamName);

// SSE pieces leave the relay as they arrive: the first byte reaches the client about when it
// does directly, long before the stream ends.
TEST(Relay, StreamsWithoutBuffering) {
  Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [], "default": {"text": "One piece at a time, please.",
      "delta_size": 4, "chunk_size": 200, "delay_ms": 100}})"));
  Relay relay(f, {"--upstream", f.https_url(), "--cacert", f.cert()});
  ASSERT_GT(relay.port(), 0) << relay.stderr_text();
  const auto req = e2e::single_request("anthropic", true);
  // Warm both paths (TLS handshake, first connection) so the comparison is of streaming.
  (void)post(f.https_url() + req.target, req.body, req.headers, f.cert());
  (void)post(relay.url(req.target), req.body, req.headers);
  double direct_first = 1e9, relayed_first = 1e9;
  Reply direct, relayed;
  for (int i = 0; i < 3; ++i) {  // the best of three: scheduling noise only ever adds
    direct = post(f.https_url() + req.target, req.body, req.headers, f.cert());
    relayed = post(relay.url(req.target), req.body, req.headers);
    ASSERT_EQ(relayed.rc, CURLE_OK);
    direct_first = std::min(direct_first, direct.first_byte_s);
    relayed_first = std::min(relayed_first, relayed.first_byte_s);
  }
  EXPECT_EQ(relayed.status, 200);
  EXPECT_GT(relayed.total_s, 0.5) << "the stream should take many delays";
  EXPECT_LT(relayed_first, relayed.total_s - 0.4) << "the first byte came only near the end: buffered";
  EXPECT_LT(relayed_first - direct_first, 0.05) << "direct " << direct_first << " s, relayed " << relayed_first << " s";
  std::fprintf(stderr, "time to first byte: direct %.2f ms, through the relay %.2f ms\n", direct_first * 1e3,
               relayed_first * 1e3);
  // Same bytes as direct apart from the ids the stand-in counts up.
  EXPECT_EQ(relayed.body.size(), direct.body.size());
}

// 32 streams at once through one relay: every one complete and recorded.
TEST(Relay, ThirtyTwoConcurrentStreams) {
  Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [], "default": {"text": "Many at once.", "delta_size": 2,
      "delay_ms": 20, "chunk_size": 64, "usage": {"input": 50, "output": 7}}})"));
  Relay relay(f, {"--upstream", f.https_url(), "--cacert", f.cert()});
  ASSERT_GT(relay.port(), 0) << relay.stderr_text();
  const auto req = e2e::single_request("openai_chat", true);
  constexpr int kStreams = 32;
  std::vector<Reply> replies(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i)
    threads.emplace_back([&, i] { replies[i] = post(relay.url(req.target), req.body, req.headers); });
  for (auto& t : threads) t.join();
  for (const auto& r : replies) {
    EXPECT_EQ(r.rc, CURLE_OK);
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  }
  EXPECT_EQ(relay.stop(), 0);
  Trace t = f.trace();
  const auto log = f.standin_log();
  ASSERT_EQ(log.size(), static_cast<size_t>(kStreams));
  auto outputs = t.of(EventType::llm_output);
  ASSERT_EQ(outputs.size(), static_cast<size_t>(kStreams));
  for (const auto* o : outputs) {
    EXPECT_EQ(e2e::s(o->data, "text"), "Many at once.");
    EXPECT_EQ(e2e::u(o->data.at("usage").as_object(), "output"), 7u);
  }
  e2e::expect_card_matches_ledger(f, relay.session());
}

// The upstream's own errors reach the client unchanged; a cut stream is cut for the client
// too; an upstream that cannot be reached is a 502 that says why.
TEST(Relay, PassesUpstreamFailuresThrough) {
  Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [
      {"when": {"user_contains": "rate"}, "reply": {"status": 429, "retry_after": 7, "error_message": "slow down"}},
      {"when": {"user_contains": "boom"}, "reply": {"status": 500, "error_message": "it broke"}},
      {"when": {"user_contains": "cut"}, "reply": {"text": "This answer is cut short on the wire.",
                                                   "drop_connection_after_bytes": 200}}]})"));
  Relay relay(f, {"--upstream", f.https_url(), "--cacert", f.cert(), "--upstream-for", "nowhere=https://127.0.0.1:1"});
  ASSERT_GT(relay.port(), 0) << relay.stderr_text();
  auto ask = [&](const std::string& base, const std::string& text, const std::string& cafile) {
    auto req = e2e::single_request("anthropic", true);
    const size_t at = req.body.find("Say hello in three words.");
    req.body.replace(at, 25, text);
    return post(base + req.target, req.body, req.headers, cafile);
  };
  for (const std::string text : {"rate", "boom"}) {
    const Reply direct = ask(f.https_url(), text, f.cert());
    const Reply relayed = ask(relay.url(), text, "");
    EXPECT_EQ(relayed.status, direct.status) << text;
    // Byte for byte, but for the request id the stand-in counts up.
    const std::regex id(R"(req_01standin\d+)");
    EXPECT_EQ(std::regex_replace(relayed.body, id, "ID"), std::regex_replace(direct.body, id, "ID")) << text;
    if (text == "rate") {
      EXPECT_NE(relayed.headers.find("retry-after: 7"), std::string::npos) << relayed.headers;
    }
  }
  const Reply cut = ask(relay.url(), "cut", "");
  EXPECT_EQ(cut.status, 200);
  EXPECT_NE(cut.rc, CURLE_OK) << "a cut stream must not look complete to the client";
  const Reply huge_header = post(relay.url("/v1/messages"), "{}", {"x-padding: " + std::string(70000, 'a')});
  EXPECT_EQ(huge_header.status, 413);
  // A target that is not a path could turn the upstream URL into another host's
  // ("https://localhost:P" + "@127.0.0.1:1/…"): refused before anything goes upstream.
  for (const std::string target : {"@127.0.0.1:1/v1/messages", "http://127.0.0.1:1/v1/messages", "*"}) {
    CURL* c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, relay.url("/v1/messages").c_str());
    curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, target.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
    EXPECT_EQ(curl_easy_perform(c), CURLE_OK) << target;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    EXPECT_EQ(status, 400) << target;
    curl_easy_cleanup(c);
  }
  const Reply unreachable = ask(relay.url("/nowhere"), "hello", "");
  EXPECT_EQ(unreachable.status, 502);
  EXPECT_NE(unreachable.body.find("relay_upstream_error"), std::string::npos) << unreachable.body;
  EXPECT_EQ(relay.stop(), 0);
  Trace t = f.trace();
  auto outputs = t.of(EventType::llm_output);
  ASSERT_GE(outputs.size(), 3u);
  EXPECT_EQ(e2e::u(outputs[0]->data, "status"), 429u);
  EXPECT_EQ(e2e::u(outputs[1]->data, "status"), 500u);
  EXPECT_FALSE(e2e::s(outputs[2]->data, "error").empty()) << json::serialize(outputs[2]->data);
}

// Off loopback a token is required; it travels as the first path segment.
TEST(Relay, TokenIsTheFirstPathSegment) {
  Fixture f;
  ASSERT_TRUE(f.start_standin());
  Relay relay(f, {"--upstream", f.https_url(), "--cacert", f.cert(), "--token", "s3cret-token"});
  ASSERT_GT(relay.port(), 0) << relay.stderr_text();
  const auto req = e2e::single_request("openai_chat", false);
  EXPECT_EQ(post(relay.url(req.target), req.body, req.headers).status, 401);
  EXPECT_EQ(post(relay.url("/s3cret-tokeX" + req.target), req.body, req.headers).status, 401);
  EXPECT_EQ(post(relay.url("/s3cret-token" + req.target), req.body, req.headers).status, 200);
}

// `clawtrace run --relay`: a Python agent with a tool loop, preloaded as usual, whose provider
// calls go through the relay (ANTHROPIC_BASE_URL): recorded once, by the relay, in a
// session below the agent's; the agent's tool processes stay in its own session.
TEST(Relay, RunRelayRecordsOnceBelowTheCommand) {
  Fixture f;
  ASSERT_TRUE(f.start_standin());
  const std::string script = e2e::client_script("py_tool_loop.py");
  auto run = e2e::run_process({CT_CLAWTRACE, "--store", (f.dir() / "store").string(), "run", "--relay",
                               "--upstream-for", "anthropic=" + f.https_url(), "--", "/bin/sh", "-c",
                               e2e::python() + " " + script + " \"$ANTHROPIC_BASE_URL\" anthropic --stream --key " + e2e::kSecret},
                              {"PATH=/usr/bin:/bin", "HOME=" + (f.dir() / "home").string(), "SSL_CERT_FILE=" + f.cert()});
  ASSERT_EQ(run.status, 0) << run.err;
  Trace t = f.trace();
  const auto log = f.standin_log();
  ASSERT_GE(log.size(), 2u);
  auto outputs = t.of(EventType::llm_output);
  ASSERT_EQ(outputs.size(), log.size()) << "each call recorded exactly once";
  std::string root;
  for (const auto& s : t.infos)
    if (!s.parent_session) root = s.id;
  ASSERT_FALSE(root.empty());
  const std::string relay_session = outputs[0]->session;
  for (const auto* o : outputs) EXPECT_EQ(o->session, relay_session);
  for (const auto& s : t.infos)
    if (s.id == relay_session) {
      EXPECT_EQ(s.parent_session.value_or(""), root);
    }
  EXPECT_EQ(e2e::s(t.of(EventType::llm_input)[0]->data, "layer"), "relay");
  e2e::expect_card_matches_ledger(f, root);
  f.expect_no_secret_in_store();
}

namespace {

std::string g_codex_skip;  // why the Codex test cannot run here
std::string g_codex_js;    // @openai/codex's bin/codex.js
std::string g_codex_bin;   // the static binary it runs

class Codex : public ::testing::Test {
 protected:
  // The npm package (a Node launcher and a static musl binary, which no LD_PRELOAD reaches),
  // installed once into its own prefix beside the other npm clients' cache.
  static void SetUpTestSuite() {
    const char* home_env = std::getenv("HOME");
    const std::string home = home_env && *home_env ? home_env : "/tmp";
    const char* cache_env = std::getenv("CLAWTRACE_NPM_CACHE");
    const fs::path prefix = fs::path(cache_env && *cache_env ? cache_env : home + "/.cache/clawtrace/npm") / "codex";
    const char* path_env = std::getenv("PATH");
    const std::vector<std::string> env = {std::string("PATH=") + (path_env ? path_env : "/usr/bin:/bin"), "HOME=" + home};
    if (e2e::run_process({"node", "--version"}, env).status != 0) {
      g_codex_skip = "node is not installed";
      return;
    }
    g_codex_js = (prefix / "node_modules/@openai/codex/bin/codex.js").string();
    if (!fs::exists(g_codex_js)) {
      fs::create_directories(prefix);
      auto r = e2e::run_process({"npm", "install", "--no-audit", "--no-fund", "--prefix", prefix.string(), "@openai/codex"},
                                env, 900);
      if (r.status != 0 || !fs::exists(g_codex_js)) {
        g_codex_skip = "npm install @openai/codex failed (registry unreachable?): " + r.err.substr(0, 300);
        return;
      }
    }
    std::error_code ec;
    for (fs::recursive_directory_iterator it(prefix / "node_modules/@openai", ec), end; !ec && it != end; it.increment(ec))
      if (it->path().filename() == "codex" && it->path().parent_path().filename() == "bin" &&
          it->path().string().find("/vendor/") != std::string::npos)
        g_codex_bin = it->path().string();
  }
  void SetUp() override {
    if (!g_codex_skip.empty()) GTEST_SKIP() << g_codex_skip;
  }
};

// One streamed Codex turn under `clawtrace run --relay`, its provider's base_url set to the
// relay: events and card against the stand-in's ledger. Returns run's stderr.
std::string codex_turn(const std::string& launcher) {
  Fixture f;
  EXPECT_TRUE(f.start_standin(R"({"rules": [], "default": {"text": "Hello from the stand-in, via the relay.",
      "usage": {"input": 2400, "output": 11, "cache_read": 1200, "reasoning": 3}}})"));
  const fs::path codex_home = f.dir() / "codex-home";
  const fs::path work = f.dir() / "work";
  fs::create_directories(codex_home);
  fs::create_directories(work);
  std::ofstream(codex_home / "config.toml") << R"(model = "gpt-5"
model_provider = "standin"

[model_providers.standin]
name = "Provider stand-in"
base_url = "http://127.0.0.1:9/unset"
wire_api = "responses"
env_key = "STANDIN_API_KEY"
)";
  // The relay's port is known only once `run` starts it: the command reads it from
  // CLAWTRACE_RELAY_URL, as a user's wrapper script would.
  const std::string command = "cd '" + work.string() + "' && exec " + launcher +
                              " exec --skip-git-repo-check -c \"model_providers.standin.base_url=\\\"$CLAWTRACE_RELAY_URL/standin/v1\\\"\" "
                              "'Say hello in three words.'";
  const char* path_env = std::getenv("PATH");
  auto run = e2e::run_process(
      {CT_CLAWTRACE, "--store", (f.dir() / "store").string(), "run", "--relay", "--upstream-for",
       "standin=" + f.https_url(), "--", "/bin/sh", "-c", command},
      {std::string("PATH=") + (path_env ? path_env : "/usr/bin:/bin"), "HOME=" + (f.dir() / "home").string(),
       "CODEX_HOME=" + codex_home.string(), std::string("STANDIN_API_KEY=") + e2e::kSecret,
       "SSL_CERT_FILE=" + f.cert()},
      300);
  EXPECT_EQ(run.status, 0) << run.out << "\n" << run.err;
  EXPECT_NE(run.out.find("Hello from the stand-in, via the relay."), std::string::npos) << run.out;

  Trace t = f.trace();
  const auto log = f.standin_log();
  EXPECT_GE(log.size(), 1u);
  auto outputs = t.of(EventType::llm_output);
  EXPECT_EQ(outputs.size(), log.size());
  for (size_t i = 0; i < log.size() && i < outputs.size(); ++i) {
    EXPECT_EQ(e2e::s(log[i], "api"), "openai.responses");
    e2e::expect_output_matches(*outputs[i], log[i], "openai_responses", true);
  }
  const size_t at = run.err.rfind("clawtrace: session ");
  EXPECT_NE(at, std::string::npos) << run.err;
  const std::string printed = at == std::string::npos ? "" : run.err.substr(at + 19, 16);
  e2e::expect_card_matches_ledger(f, printed);
  f.expect_no_secret_in_store();
  return run.err;
}

}  // namespace

// The Codex CLI from npm: a Node launcher (preloaded, its session the command's) running a
// static musl binary the preload cannot see into; the relay records its calls below it.
TEST_F(Codex, StreamedTurnThroughTheRelayMatchesTheLedger) {
  const std::string err = codex_turn("node '" + g_codex_js + "'");
  EXPECT_EQ(err.find("was not traced"), std::string::npos) << err;
}

// The static binary exec'd straight from the shell (no Node launcher): the session is the
// shell's until the exec, and every call is in the relay's session below it.
TEST_F(Codex, StaticBinaryExecdFromTheShell) {
  if (g_codex_bin.empty()) GTEST_SKIP() << "no vendored codex binary found in the npm package";
  (void)codex_turn("'" + g_codex_bin + "'");
}

// An HTTP/1.0 client knows no chunked encoding: it gets the stream delimited by the
// connection's end, whole, and the exchange is recorded all the same.
TEST(Relay, Http10ClientGetsACloseDelimitedBody) {
  Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [], "default": {"text": "Old client, whole answer."}})"));
  Relay relay(f, {"--upstream", f.https_url(), "--cacert", f.cert()});
  ASSERT_GT(relay.port(), 0) << relay.stderr_text();
  const auto req = e2e::single_request("anthropic", true);
  CURL* c = curl_easy_init();
  std::string body, headers;
  curl_slist* list = nullptr;
  for (const auto& h : req.headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, relay.url(req.target).c_str());
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_0));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* p) {
    static_cast<std::string*>(p)->append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, +[](char* d, size_t s, size_t n, void* p) {
    static_cast<std::string*>(p)->append(d, s * n);
    return s * n;
  });
  EXPECT_EQ(curl_easy_perform(c), CURLE_OK);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  EXPECT_EQ(headers.find("chunked"), std::string::npos) << headers;
  EXPECT_NE(body.find("message_stop"), std::string::npos) << body;
  EXPECT_EQ(relay.stop(), 0);
  Trace t = f.trace();
  auto outputs = t.of(EventType::llm_output);
  ASSERT_EQ(outputs.size(), 1u);
  e2e::expect_output_matches(*outputs[0], f.standin_log().at(0), "anthropic", true);
}

// An upstream that speaks only HTTP/2 (Node's http2, ALPN h2): the relay negotiates it and
// the client, on HTTP/1.1, gets the stream; the recorded exchange reads like any other.
TEST(Relay, ForwardsToAnHttp2OnlyUpstream) {
  if (e2e::run_process({"/usr/bin/env", "node", "--version"}, {"PATH=/usr/bin:/bin:/usr/local/bin"}).status != 0)
    GTEST_SKIP() << "node is not installed (the HTTP/2 upstream is a Node script)";
  Fixture f;
  ASSERT_TRUE(f.start_standin());  // for its certificate (CN localhost, its own CA)
  const fs::path ready = f.dir() / "h2-port";
  const std::string key = (fs::path(f.cert()).parent_path() / "key.pem").string();
  pid_t node = fork();
  if (node == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    execlp("node", "node", e2e::client_script("h2_upstream.mjs").c_str(), f.cert().c_str(), key.c_str(),
           ready.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int port = 0;
  for (int i = 0; i < 400 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    port = std::atoi(slurp(ready).c_str());
  }
  ASSERT_GT(port, 0) << "the HTTP/2 upstream did not start";
  Relay relay(f, {"--upstream", "https://localhost:" + std::to_string(port), "--cacert", f.cert()});
  ASSERT_GT(relay.port(), 0) << relay.stderr_text();
  const auto req = e2e::single_request("anthropic", true);
  const Reply r = post(relay.url(req.target), req.body, req.headers);
  kill(node, SIGTERM);
  waitpid(node, nullptr, 0);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.headers.find("x-upstream-protocol: h2"), std::string::npos) << r.headers;
  EXPECT_NE(r.body.find("Over HTTP/2."), std::string::npos) << r.body;
  EXPECT_EQ(relay.stop(), 0);
  Trace t = f.trace();
  auto outputs = t.of(EventType::llm_output);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(e2e::s(outputs[0]->data, "text"), "Over HTTP/2.");
  EXPECT_EQ(e2e::s(outputs[0]->data, "model_returned"), "claude-sonnet-4-5-h2");
  EXPECT_EQ(e2e::u(outputs[0]->data.at("usage").as_object(), "output"), 3u);
}
