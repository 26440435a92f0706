// End to end: a real client process makes LLM calls to the provider stand-in while traced
// by `clawtrace run`; the events in the store must say, field by field, what the stand-in
// logged it sent. Clients: Python's standard library over HTTPS (a tool loop that runs the
// tool as a real process), the curl command over HTTPS, a libcurl program over HTTPS, and
// Node.js clients from npm over plain HTTP (tests/e2e_node_test.cpp).
#include "e2e_support.h"
#include "spool_reader.h"

namespace e2e = clawtrace::e2e;
namespace json = boost::json;
namespace fs = std::filesystem;
using e2e::Trace;

namespace {

const std::vector<std::string> kApis = {"anthropic", "openai_chat", "openai_responses", "gemini",
                                        "ollama"};

std::string ParamName(const ::testing::TestParamInfo<std::tuple<std::string, bool>>& p) {
  return std::get<0>(p.param) + (std::get<1>(p.param) ? "_stream" : "_json");
}

class PythonLoop : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

// Two LLM calls on one keep-alive HTTPS connection: the first asks for the bash tool, the
// client runs it (`sh -c 'echo hello'`), the second carries the result and gets text.
TEST_P(PythonLoop, ToolLoopOverHttps) {
  const auto& [api, stream] = GetParam();
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  std::vector<std::string> argv = {e2e::python(), e2e::client_script("py_tool_loop.py"),
                                   f.https_url(), api, "--cafile", f.cert(), "--key", e2e::kSecret};
  if (stream) argv.push_back("--stream");
  auto run = f.run_traced(argv);
  ASSERT_EQ(run.status, 0) << run.err;
  json::value out = json::parse(run.out);
  Trace t = f.trace();
  const auto log = f.standin_log();
  ASSERT_EQ(log.size(), 2u);
  auto outputs = t.of(clawtrace::EventType::llm_output);
  auto inputs = t.of(clawtrace::EventType::llm_input);
  ASSERT_EQ(inputs.size(), 2u);
  ASSERT_EQ(outputs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) e2e::expect_output_matches(*outputs[i], log[i], api, stream);
  // Keep-alive: both exchanges on one captured connection.
  EXPECT_EQ(e2e::s(inputs[0]->data, "connection"), e2e::s(inputs[1]->data, "connection"));
  EXPECT_EQ(e2e::u(inputs[1]->data, "exchange"), 1u);
  EXPECT_EQ(e2e::s(inputs[0]->data, "thread"), e2e::s(inputs[1]->data, "thread"));
  EXPECT_EQ(e2e::u(inputs[1]->data, "messages_added_from"), e2e::u(inputs[0]->data, "messages_total"));
  // The model's tool call, answered by the next request, with the process nested under it.
  auto calls = t.model_tool_calls();
  ASSERT_EQ(calls.size(), 1u);
  const auto& ran = out.at("tool_calls").as_array().at(0).as_object();
  EXPECT_EQ(e2e::s(calls[0].open->data, "name"), "bash");
  if (api != "gemini" && api != "ollama") {
    EXPECT_EQ(e2e::s(calls[0].open->data, "id"), std::string(ran.at("id").as_string()));
  }
  EXPECT_EQ(calls[0].open->parent, outputs[0]->span);
  ASSERT_NE(calls[0].close, nullptr);
  EXPECT_EQ(e2e::s(calls[0].close->data, "result"), std::string(ran.at("output").as_string()));
  EXPECT_NE(e2e::s(calls[0].close->data, "result"), "");
  EXPECT_FALSE(calls[0].close->data.at("is_error").as_bool());
  auto procs = t.process_spans_under(calls[0].open->span);
  ASSERT_EQ(procs.size(), 1u);
  const clawtrace::Event* ended = t.end_of(*procs[0]);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(e2e::s(ended->data, "name"), "sh");  // known once the child has exec'd
  EXPECT_EQ(e2e::u(ended->data, "exit_code"), 0u);
  f.expect_no_secret_in_store();
}

INSTANTIATE_TEST_SUITE_P(Apis, PythonLoop,
                         ::testing::Combine(::testing::ValuesIn(kApis), ::testing::Bool()),
                         ParamName);

class CurlCommand : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

// The curl command (libcurl + OpenSSL) posting one request per provider format.
TEST_P(CurlCommand, OneExchangeOverHttps) {
  const auto& [api, stream] = GetParam();
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  const auto req = e2e::single_request(api, stream);
  const std::string body = f.write_file("body.json", req.body);
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--fail-with-body", "--cacert", f.cert(),
                                   "--data-binary", "@" + body, "-H", "content-type: application/json"};
  for (const auto& h : req.headers) argv.insert(argv.end(), {"-H", h});
  argv.push_back(f.https_url() + req.target);
  auto run = f.run_traced(argv);
  ASSERT_EQ(run.status, 0) << run.err;
  Trace t = f.trace();
  const auto log = f.standin_log();
  auto outputs = t.of(clawtrace::EventType::llm_output);
  ASSERT_EQ(log.size(), 1u);
  ASSERT_EQ(outputs.size(), 1u);
  e2e::expect_output_matches(*outputs[0], log[0], api, stream);
  auto inputs = t.of(clawtrace::EventType::llm_input);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(e2e::s(inputs[0]->data, "sni"), "localhost");
  EXPECT_EQ(e2e::u(inputs[0]->data, "request_bytes"), req.body.size());
  f.expect_no_secret_in_store();
}

INSTANTIATE_TEST_SUITE_P(Apis, CurlCommand,
                         ::testing::Combine(::testing::ValuesIn(kApis), ::testing::Bool()),
                         ParamName);

class LibcurlClient : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

// A C++ program using libcurl: the same request twice on one handle (keep-alive), with
// gzip'ed responses split into small chunks.
TEST_P(LibcurlClient, KeepAliveGzipChunked) {
  const auto& [api, stream] = GetParam();
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [], "default": {"text": "Gzip'ed and chunked — ünïcödé.",
      "gzip": true, "chunk_size": 7, "usage": {"input": 1200, "output": 34, "cache_read": 800,
      "cache_write_5m": 100, "cache_write_1h": 50, "reasoning": 12}}})"));
  const auto req = e2e::single_request(api, stream);
  const std::string body = f.write_file("body.json", req.body);
  std::vector<std::string> argv = {e2e::curl_post(), f.https_url() + req.target, f.cert(), body, "2"};
  argv.insert(argv.end(), req.headers.begin(), req.headers.end());
  auto run = f.run_traced(argv);
  ASSERT_EQ(run.status, 0) << run.err;
  Trace t = f.trace();
  const auto log = f.standin_log();
  auto outputs = t.of(clawtrace::EventType::llm_output);
  ASSERT_EQ(log.size(), 2u);
  ASSERT_EQ(outputs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(e2e::s(log[i], "content_encoding"), "gzip");
    e2e::expect_output_matches(*outputs[i], log[i], api, stream);
  }
  EXPECT_EQ(e2e::s(outputs[0]->data, "connection"), e2e::s(outputs[1]->data, "connection"));
  f.expect_no_secret_in_store();
}

INSTANTIATE_TEST_SUITE_P(Apis, LibcurlClient,
                         ::testing::Combine(::testing::ValuesIn(kApis), ::testing::Bool()),
                         ParamName);

// A response whose connection drops in the middle: an llm_output with an error, never a
// crash, and the session still ends normally.
TEST(E2E, DroppedConnectionIsAnErrorEvent) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin(R"({"rules": [], "default": {"text": "this answer never ends properly",
      "chunk_size": 16, "drop_connection_after_bytes": 400}})"));
  const auto req = e2e::single_request("anthropic", true);
  const std::string body = f.write_file("body.json", req.body);
  std::vector<std::string> argv = {"/usr/bin/curl", "-sS", "--cacert", f.cert(), "--data-binary",
                                   "@" + body, "-H", "content-type: application/json"};
  for (const auto& h : req.headers) argv.insert(argv.end(), {"-H", h});
  argv.push_back(f.https_url() + req.target);
  auto run = f.run_traced(argv);
  EXPECT_NE(run.status, 0);  // curl reports the broken transfer
  Trace t = f.trace();
  auto outputs = t.of(clawtrace::EventType::llm_output);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_FALSE(e2e::s(outputs[0]->data, "error").empty()) << json::serialize(outputs[0]->data);
  EXPECT_EQ(t.of(clawtrace::EventType::session_end).size(), t.sessions());
  f.expect_no_secret_in_store();
}

}  // namespace

namespace {

// A tool call the client never answers: closed as abandoned when the session ends, and
// the process the client ran for it still nests under it.
TEST(E2E, UnansweredToolCallIsAbandonedAtSessionEnd) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  auto run = f.run_traced({e2e::python(), e2e::client_script("py_tool_loop.py"), f.https_url(),
                           "anthropic", "--stream", "--cafile", f.cert(), "--turns", "1"});
  ASSERT_EQ(run.status, 0) << run.err;
  Trace t = f.trace();
  auto calls = t.model_tool_calls();
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_NE(calls[0].close, nullptr);
  EXPECT_TRUE(calls[0].close->data.at("abandoned").as_bool());
  EXPECT_EQ(t.process_spans_under(calls[0].open->span).size(), 1u);
  const auto ends = t.of(clawtrace::EventType::session_end);
  ASSERT_FALSE(ends.empty());
  EXPECT_LE(calls[0].close->t_ns, ends.back()->t_ns);
}

// Keys that travel in bodies (LiteLLM-style "api_key" fields) and are echoed back by a
// server are masked too; so is a key given on the command line.
TEST(E2E, KeysInBodiesAndEchoedBackNeverReachTheStore) {
  e2e::Fixture f;
  const std::string echo = std::string("Your key ") + e2e::kSecret + " is invalid.";
  ASSERT_TRUE(f.start_standin(R"({"rules": [], "default": {"status": 401, "error_message": ")" + echo + R"("}})"));
  const std::string body = f.write_file(
      "body.json", std::string(R"({"model":"gpt-4o","api_key":")") + e2e::kSecret +
                       R"(","messages":[{"role":"user","content":"hi"}]})");
  auto run = f.run_traced({"/usr/bin/curl", "-sS", "--cacert", f.cert(), "--data-binary", "@" + body,
                           "-H", std::string("Authorization: Bearer ") + e2e::kSecret,
                           f.https_url() + "/v1/chat/completions?api_key=" + e2e::kSecret});
  ASSERT_EQ(run.status, 0) << run.err;
  Trace t = f.trace();
  auto outputs = t.of(clawtrace::EventType::llm_output);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(e2e::u(outputs[0]->data, "status"), 401u);
  EXPECT_NE(e2e::s(outputs[0]->data, "error").find("is invalid"), std::string::npos);
  f.expect_no_secret_in_store();
}

}  // namespace

namespace {

// HTTP/2 is recognised (here by its connection preface) and reported once, not parsed:
// a warning on session_end and on `clawtrace run`'s stderr, and no LLM events.
TEST(E2E, Http2IsReportedOnceNotParsed) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  const auto req = e2e::single_request("anthropic", false);
  const std::string body = f.write_file("body.json", req.body);
  const std::string url = f.http_url() + req.target;
  auto run = f.run_traced({"/usr/bin/curl", "-sS", "--http2-prior-knowledge", "--data-binary", "@" + body,
                           url, "--next", "--http2-prior-knowledge", "--data-binary", "@" + body, url});
  EXPECT_NE(run.err.find("clawtrace: warning: an HTTP/2 connection to 127.0.0.1:"), std::string::npos) << run.err;
  size_t count = 0;
  for (size_t at = 0; (at = run.err.find("HTTP/2 is not supported", at)) != std::string::npos; ++at) ++count;
  EXPECT_EQ(count, 1u);
  Trace t = f.trace();
  EXPECT_TRUE(t.of(clawtrace::EventType::llm_input).empty());
  EXPECT_TRUE(t.of(clawtrace::EventType::llm_output).empty());
  bool warned = false;
  for (const auto* e : t.of(clawtrace::EventType::session_end))
    warned = warned || e->data.contains("warnings");
  EXPECT_TRUE(warned);
}

}  // namespace

namespace {

// An agent re-sends its conversation with every request: the repeated bytes go to the
// spool once, later requests refer to them (conn_ref), and ingestion still sees every
// request whole.
TEST(E2E, RepeatedRequestBytesAreWrittenOnce) {
  e2e::Fixture f;
  ASSERT_TRUE(f.start_standin());
  std::string content(60000, 'x');
  for (size_t i = 0; i < content.size(); i += 97) content[i] = ' ';
  const std::string body_text = R"({"model":"gpt-4o","messages":[{"role":"user","content":")" + content + R"("}]})";
  const std::string body = f.write_file("body.json", body_text);
  const fs::path store = f.dir() / "store";
  auto run = e2e::run_process({e2e::curl_post(), f.https_url() + "/v1/chat/completions", f.cert(), body, "3",
                               std::string("authorization: Bearer ") + e2e::kSecret},
                              {"PATH=/usr/bin:/bin", "LD_PRELOAD=" CT_PRELOAD, "CLAWTRACE_STORE=" + store.string()});
  ASSERT_EQ(run.status, 0) << run.err;
  uint64_t spool_bytes = 0, refs = 0;
  for (const auto& entry : fs::directory_iterator(store / "spool")) {
    spool_bytes += fs::file_size(entry.path());
    auto chunk = clawtrace::read_spool(entry.path(), sizeof(clawtrace::wire::FileHeader), 1 << 30);
    ASSERT_TRUE(chunk.ok());
    for (const auto& r : chunk->records) refs += r.type == clawtrace::wire::RecordType::conn_ref;
  }
  EXPECT_EQ(refs, 2u);
  EXPECT_LT(spool_bytes, 2 * body_text.size());  // once, not three times
  Trace t = f.trace();
  auto inputs = t.of(clawtrace::EventType::llm_input);
  ASSERT_EQ(inputs.size(), 3u);
  for (const auto* in : inputs) EXPECT_EQ(e2e::u(in->data, "request_bytes"), body_text.size());
  EXPECT_EQ(t.of(clawtrace::EventType::llm_output).size(), 3u);
  f.expect_no_secret_in_store();
}

}  // namespace
