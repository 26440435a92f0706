// The provider stand-in. Unit tests of its parts (splitting, gzip, request reader, script),
// then the real binary: every format, streaming and not, over HTTP and HTTPS, read back
// from the wire as a client would and compared field by field with the stand-in's log.
#include "codec.h"
#include "exchange_log.h"
#include "http.h"
#include "script.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

extern char** environ;

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
namespace si = clawtrace::standin;
using namespace std::chrono_literals;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
} curl_global;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

json::value parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) ADD_FAILURE() << "not JSON: " << text.substr(0, 300);
  return v;
}

const json::object& obj(const json::value& v) {
  static const json::object empty;
  return v.is_object() ? v.get_object() : empty;
}

std::string str(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : std::string(); }

std::string gzip_bytes(std::string_view in) {
  si::GzipEncoder encoder;
  std::string out = encoder.piece(in);
  return out + encoder.finish();
}

// A JSON number as parsed back (small unsigned values come back as int64).
std::int64_t num(const json::value& v) {
  boost::system::error_code ec;
  std::int64_t n = v.to_number<std::int64_t>(ec);
  if (ec) ADD_FAILURE() << "not an integer: " << json::serialize(v);
  return n;
}

// A fake connection for the request reader: hands out the input in small pieces.
class FakeTransport final : public si::Transport {
 public:
  FakeTransport(std::string input, std::size_t step) : input_(std::move(input)), step_(step) {}
  long read_some(char* buf, std::size_t n) override {
    std::size_t take = std::min({n, step_, input_.size() - pos_});
    std::memcpy(buf, input_.data() + pos_, take);
    pos_ += take;
    return static_cast<long>(take);
  }
  bool write_all(std::string_view bytes) override {
    written += bytes;
    return true;
  }
  void close(bool) override {}
  int fd() const override { return -1; }
  std::string written;

 private:
  std::string input_;
  std::size_t step_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------- unit tests of parts

TEST(StandinCodec, SplitUtf8KeepsCharactersWhole) {
  std::string text = "aé€😀b";  // 1, 2, 3 and 4-byte characters
  for (std::size_t size = 1; size <= 8; ++size) {
    std::vector<std::string> pieces = si::split_utf8(text, size);
    std::string joined;
    for (const std::string& piece : pieces) {
      joined += piece;
      ASSERT_FALSE(piece.empty());
      EXPECT_NE(static_cast<unsigned char>(piece[0]) & 0xC0, 0x80u) << "piece starts mid-character";
    }
    EXPECT_EQ(joined, text);
  }
  EXPECT_TRUE(si::split_utf8("", 4).empty());
}

TEST(StandinCodec, SplitBytesIgnoresCharacters) {
  std::vector<std::string> pieces = si::split_bytes("aé€", 2);
  ASSERT_EQ(pieces.size(), 3);
  EXPECT_EQ(pieces[0], "a\xC3");
  EXPECT_EQ(pieces[0] + pieces[1] + pieces[2], "aé€");
}

TEST(StandinCodec, InvalidUtf8IsReplaced) {
  EXPECT_EQ(si::to_valid_utf8("plain ü€😀"), "plain ü€😀");
  EXPECT_EQ(si::to_valid_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(si::to_valid_utf8("\xC3"), "\xEF\xBF\xBD") << "a truncated sequence";
  EXPECT_EQ(si::to_valid_utf8("\xF9\xBE\xAA"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "no such lead byte";
  EXPECT_EQ(si::to_valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "an overlong form";
  EXPECT_EQ(si::to_valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "a surrogate";
}

TEST(StandinCodec, GzipRoundTripAndBounds) {
  std::string text(100000, 'x');
  std::string packed = gzip_bytes(text);
  EXPECT_LT(packed.size(), text.size() / 10);
  auto back = si::gunzip(packed, text.size());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(*back == text);
  EXPECT_FALSE(si::gunzip(packed, text.size() - 1).ok()) << "the output limit holds";
  auto two_members = si::gunzip(gzip_bytes("ab") + gzip_bytes("cd"), 10);
  ASSERT_TRUE(two_members.ok());
  EXPECT_EQ(*two_members, "abcd");
  EXPECT_FALSE(si::gunzip(packed.substr(0, packed.size() / 2), text.size()).ok()) << "truncated input fails";
  EXPECT_FALSE(si::gunzip("not gzip at all", 100).ok());
}

TEST(StandinHttp, ReaderHandlesPipelinedChunkedAndGzipBodies) {
  std::string gz = gzip_bytes("{\"a\":1}");
  std::string input =
      "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "POST /two?x=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
      "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
      "POST /three HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
      std::to_string(gz.size()) + "\r\nConnection: close\r\n\r\n" + gz;
  for (std::size_t step : {1u, 7u, 4096u}) {
    FakeTransport t(input, step);
    si::RequestReader reader(t);
    si::HttpRequest req;
    std::string error;
    ASSERT_EQ(reader.next(req, error), si::ReadOutcome::request) << error;
    EXPECT_EQ(req.target, "/one");
    EXPECT_EQ(req.body, "hello");
    ASSERT_EQ(reader.next(req, error), si::ReadOutcome::request) << error;
    EXPECT_EQ(req.path(), "/two");
    EXPECT_EQ(req.query(), "x=1");
    EXPECT_EQ(req.body, "abcde");
    EXPECT_TRUE(req.chunked);
    EXPECT_TRUE(req.continue_sent);
    EXPECT_EQ(t.written, "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_EQ(reader.next(req, error), si::ReadOutcome::request) << error;
    EXPECT_EQ(req.body, "{\"a\":1}");
    EXPECT_EQ(req.body_wire_bytes, gz.size());
    EXPECT_TRUE(req.wants_close());
    EXPECT_EQ(reader.next(req, error), si::ReadOutcome::closed);
  }
}

TEST(StandinHttp, ReaderRejectsMalformedInput) {
  const char* bad[] = {
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort",
      "GARBAGE\r\n\r\n",
      "POST / HTTP/1.1\r\nbad header\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
  };
  for (const char* input : bad) {
    FakeTransport t(input, 3);
    si::RequestReader reader(t);
    si::HttpRequest req;
    std::string error;
    si::ReadOutcome got = reader.next(req, error);
    EXPECT_TRUE(got == si::ReadOutcome::bad_request || got == si::ReadOutcome::too_large) << input;
    EXPECT_FALSE(error.empty()) << input;
  }
  FakeTransport huge("GET / HTTP/1.1\r\nX: " + std::string(si::kMaxHeadBytes + 10, 'a'), 65536);
  si::RequestReader reader(huge);
  si::HttpRequest req;
  std::string error;
  EXPECT_EQ(reader.next(req, error), si::ReadOutcome::too_large);
}

TEST(StandinLog, MasksKeysAndSpotsCredentials) {
  EXPECT_EQ(si::mask_query_secrets("/v1beta/models/g:streamGenerateContent?key=AIza123&alt=sse"),
            "/v1beta/models/g:streamGenerateContent?key=REDACTED&alt=sse");
  EXPECT_EQ(si::mask_query_secrets("/v1/messages?beta=true"), "/v1/messages?beta=true");
  si::HttpRequest req;
  req.target = "/x?alt=sse";
  EXPECT_FALSE(si::carries_credentials(req));
  req.headers.emplace_back("X-Goog-Api-Key", "k");
  EXPECT_TRUE(si::carries_credentials(req));
  req.headers.clear();
  req.target = "/x?key=abc";
  EXPECT_TRUE(si::carries_credentials(req));
}

TEST(StandinScript, ParsesRulesAndRejectsTypos) {
  auto script = si::parse_script(R"({"rules":[{"name":"first","when":{"api":"openai.chat","nth":2},
      "reply":{"text":"hi","tool_calls":[{"name":"t","arguments":"{ \"a\" : 1 }"}],"usage":{"input":3}}}],
      "default":{"status":429}})");
  ASSERT_TRUE(script.ok()) << script.error();
  ASSERT_EQ(script->rules.size(), 1u);
  EXPECT_EQ(script->rules[0].label, "first");
  EXPECT_EQ(*script->rules[0].when.nth, 2u);
  EXPECT_EQ(script->rules[0].reply.tool_calls[0].arguments, "{ \"a\" : 1 }") << "argument text kept verbatim";
  EXPECT_EQ(script->rules[0].reply.tool_calls[0].args.at("a").as_int64(), 1);
  EXPECT_EQ(script->fallback->status, 429);
  const char* bad[] = {
      R"({"rules":[{"reply":{"txt":"typo"}}]})",       R"({"rules":[{"when":{"api":"nope"},"reply":{}}]})",
      R"({"rules":[{"when":{"nth":0},"reply":{}}]})",  R"({"rules":[{"when":{}}]})",
      R"({"rules":[{"reply":{"tool_calls":[{"arguments":{}}]}}]})", R"({"ruless":[]})",
      R"({"rules":[{"reply":{"tool_calls":[{"name":"x","arguments":"[1]"}]}}]})", "[1,2]", "{",
      R"({"rules":[{"reply":{"transfer":"pigeon"}}]})",
  };
  for (const char* text : bad) EXPECT_FALSE(si::parse_script(text).ok()) << text;
}

TEST(StandinScript, NthCountsEachRulesOwnMatches) {
  auto script = si::parse_script(R"({"rules":[
      {"when":{"api":"anthropic.messages","nth":1},"reply":{"text":"one"}},
      {"when":{"api":"anthropic.messages","nth":3},"reply":{"text":"three"}},
      {"when":{"api":"openai.chat"},"reply":{"text":"chat"}}],
      "default":{"text":"other"}})");
  ASSERT_TRUE(script.ok()) << script.error();
  si::Scripter scripter(std::move(*script));
  si::RequestInfo anthropic;
  anthropic.api = "anthropic.messages";
  si::RequestInfo chat;
  chat.api = "openai.chat";
  EXPECT_EQ(scripter.choose(anthropic, "/v1/messages").reply.text, "one");
  EXPECT_EQ(scripter.choose(chat, "/v1/chat/completions").reply.text, "chat");
  EXPECT_EQ(scripter.choose(anthropic, "/v1/messages").reply.text, "other");
  si::Choice third = scripter.choose(anthropic, "/v1/messages");
  EXPECT_EQ(third.reply.text, "three");
  EXPECT_EQ(third.rule, "rules[1]");
  EXPECT_EQ(scripter.choose(anthropic, "/v1/messages").rule, "default");
}

TEST(StandinScript, BuiltinCallsAShellToolUntilAToolResultComesBack) {
  si::RequestInfo info;
  info.tools = {"Read", "Bash", "Write"};
  si::Reply reply = si::builtin_reply(info);
  ASSERT_EQ(reply.tool_calls.size(), 1u);
  EXPECT_EQ(reply.tool_calls[0].name, "Bash");
  EXPECT_EQ(reply.tool_calls[0].arguments, R"({"command":"echo hello from the stand-in"})");
  info.tools = {"Read"};
  EXPECT_EQ(si::builtin_reply(info).tool_calls[0].arguments, "{}");
  info.last_is_tool_result = true;
  EXPECT_TRUE(si::builtin_reply(info).tool_calls.empty());
  EXPECT_FALSE(si::builtin_reply(info).text.empty());
}

// ---------------------------------------------------------------- the real binary

class StandIn {
 public:
  explicit StandIn(std::string_view script = "", std::vector<std::string> extra = {}) {
    char templ[] = "/tmp/standin-test-XXXXXX";
    dir_ = mkdtemp(templ);
    log_path_ = dir_ / "log.jsonl";
    std::vector<std::string> args = {STANDIN_BIN, "--http-port", "0", "--https-port", "0",
                                     "--cert-dir", (dir_ / "certs").string(), "--log", log_path_.string(),
                                     "--ready-file", (dir_ / "ready.json").string()};
    if (!script.empty()) {
      write_file(dir_ / "script.json", script);
      args.insert(args.end(), {"--script", (dir_ / "script.json").string()});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    spawn(args);
    wait_ready();
  }

  ~StandIn() {
    if (pid_ > 0) {
      EXPECT_EQ(stop(), 0) << "clean exit on SIGTERM";
    }
    fs::remove_all(dir_);
  }

  // SIGTERM, then the exit status (or -1 when it did not exit normally).
  int stop() {
    ::kill(pid_, SIGTERM);
    return wait_exit();
  }

  int wait_exit() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  bool running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  std::string url(bool tls, std::string_view path) const {
    return (tls ? "https://localhost:" + std::to_string(https_port) : "http://127.0.0.1:" + std::to_string(http_port)) +
           std::string(path);
  }

  std::vector<json::object> log() const {
    std::vector<json::object> lines;
    std::istringstream in(read_file(log_path_));
    for (std::string line; std::getline(in, line);) lines.push_back(obj(parse(line)));
    return lines;
  }

  json::object last_log() const {
    std::vector<json::object> lines = log();
    return lines.empty() ? json::object{} : lines.back();
  }

  std::string log_text() const { return read_file(log_path_); }
  const fs::path& dir() const { return dir_; }

  int http_port = 0;
  int https_port = 0;
  std::string cert;
  json::object ready;

 private:
  void spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  }

  void wait_ready() {
    fs::path ready_path = dir_ / "ready.json";
    for (int i = 0; i < 500 && !fs::exists(ready_path); ++i) std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(fs::exists(ready_path)) << "the stand-in never became ready";
    ready = obj(parse(read_file(ready_path)));
    http_port = static_cast<int>(ready.at("http").as_int64());
    https_port = static_cast<int>(ready.at("https").as_int64());
    cert = str(ready.at("cert"));
  }

  fs::path dir_;
  fs::path log_path_;
  pid_t pid_ = -1;
};

struct HttpResult {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string head;  // all header blocks received, 100 Continue included
  std::string body;
  long connects = 0;
  curl_off_t header_bytes = 0;
};

class Client {
 public:
  Client() : h_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(h_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  std::string cainfo;
  bool accept_gzip = false;

  long http_version() const {
    long version = 0;
    curl_easy_getinfo(h_, CURLINFO_HTTP_VERSION, &version);
    return version;
  }

  HttpResult post(const std::string& url, const std::string& body, const std::vector<std::string>& headers = {}) {
    curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    return perform(url, headers);
  }

  HttpResult get(const std::string& url, const std::vector<std::string>& headers = {}) {
    curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
    return perform(url, headers);
  }

  HttpResult head(const std::string& url) {
    curl_easy_setopt(h_, CURLOPT_NOBODY, 1L);
    HttpResult r = perform(url, {});
    curl_easy_setopt(h_, CURLOPT_NOBODY, 0L);
    return r;
  }

  // A chunked request body, fed in small pieces by a read callback.
  HttpResult post_chunked(const std::string& url, const std::string& body, std::vector<std::string> headers) {
    source_ = body;
    source_pos_ = 0;
    curl_easy_setopt(h_, CURLOPT_POST, 1L);
    curl_easy_setopt(h_, CURLOPT_POSTFIELDS, nullptr);
    curl_easy_setopt(h_, CURLOPT_READFUNCTION, &Client::on_read);
    curl_easy_setopt(h_, CURLOPT_READDATA, this);
    headers.push_back("Transfer-Encoding: chunked");
    HttpResult r = perform(url, headers);
    curl_easy_setopt(h_, CURLOPT_READFUNCTION, nullptr);
    return r;
  }

 private:
  HttpResult perform(const std::string& url, const std::vector<std::string>& headers) {
    HttpResult r;
    curl_slist* list = nullptr;
    for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, &Client::on_data);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, &Client::on_data);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &r.head);
    curl_easy_setopt(h_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h_, CURLOPT_ACCEPT_ENCODING, accept_gzip ? "gzip" : nullptr);
    if (!cainfo.empty()) curl_easy_setopt(h_, CURLOPT_CAINFO, cainfo.c_str());
    r.code = curl_easy_perform(h_);
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(h_, CURLINFO_NUM_CONNECTS, &r.connects);
    curl_easy_getinfo(h_, CURLINFO_HEADER_SIZE, &r.header_bytes);
    curl_easy_setopt(h_, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(list);
    return r;
  }

  static size_t on_data(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }

  static size_t on_read(char* buf, size_t size, size_t n, void* self) {
    auto* c = static_cast<Client*>(self);
    size_t take = std::min({size * n, c->source_.size() - c->source_pos_, std::size_t{7}});
    std::memcpy(buf, c->source_.data() + c->source_pos_, take);
    c->source_pos_ += take;
    return take;
  }

  CURL* h_;
  std::string source_;
  std::size_t source_pos_ = 0;
};

// One raw exchange on a fresh socket; the server closes it (Connection: close).
std::string raw_exchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return got;
}

std::string post_request(std::string_view path, std::string_view body, std::string_view extra_headers = "") {
  return "POST " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         std::string(extra_headers) + "Connection: close\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

// Chunk sizes of a chunked body, and the payload.
std::vector<std::size_t> chunk_sizes(std::string_view body, std::string& payload) {
  std::vector<std::size_t> sizes;
  for (;;) {
    std::size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos) return sizes;
    std::size_t size = std::stoul(std::string(body.substr(0, eol)), nullptr, 16);
    if (size == 0) return sizes;
    sizes.push_back(size);
    payload.append(body.substr(eol + 2, size));
    body.remove_prefix(eol + 2 + size + 2);
  }
}

struct SseEvent {
  std::string event;
  std::string data;
};

std::vector<SseEvent> parse_sse(std::string_view body) {
  std::vector<SseEvent> events;
  while (!body.empty()) {
    std::size_t end = body.find("\n\n");
    std::string_view block = body.substr(0, end);
    SseEvent ev;
    std::istringstream lines{std::string(block)};
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("event: ")) ev.event = line.substr(7);
      if (line.starts_with("data: ")) ev.data += line.substr(6);
    }
    if (!ev.data.empty() || !ev.event.empty()) events.push_back(ev);
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 2);
  }
  return events;
}

// ---------------------------------------------------------------- per-format requests

enum class Api { anthropic, chat, responses, gemini, ollama };

std::string api_name(Api api) {
  switch (api) {
    case Api::anthropic: return "anthropic.messages";
    case Api::chat: return "openai.chat";
    case Api::responses: return "openai.responses";
    case Api::gemini: return "gemini.generate_content";
    case Api::ollama: return "ollama.chat";
  }
  return "";
}

struct Call {
  std::string path;
  std::string body;
};

// A request as each provider's clients shape it, offering one tool.
Call make_call(Api api, bool stream, std::string_view user = "what is the weather?") {
  json::object body;
  std::string u(user);
  switch (api) {
    case Api::anthropic:
      body = {{"model", "claude-sonnet-4-5"}, {"max_tokens", 100}, {"stream", stream},
              {"tools", json::array{json::object{{"name", "get_weather"}, {"input_schema", {{"type", "object"}}}}}},
              {"messages", json::array{json::object{{"role", "user"}, {"content", u}}}}};
      return {"/v1/messages?beta=true", json::serialize(body)};
    case Api::chat:
      body = {{"model", "gpt-4o"}, {"stream", stream},
              {"tools", json::array{json::object{{"type", "function"}, {"function", {{"name", "get_weather"}}}}}},
              {"messages", json::array{json::object{{"role", "user"}, {"content", u}}}}};
      if (stream) body["stream_options"] = {{"include_usage", true}};
      return {"/v1/chat/completions", json::serialize(body)};
    case Api::responses:
      body = {{"model", "gpt-5"}, {"stream", stream},
              {"tools", json::array{json::object{{"type", "function"}, {"name", "get_weather"}}}},
              {"input", json::array{json::object{{"role", "user"}, {"content", u}}}}};
      return {"/v1/responses", json::serialize(body)};
    case Api::gemini:
      body = {{"contents", json::array{json::object{{"role", "user"}, {"parts", json::array{json::object{{"text", u}}}}}}},
              {"tools", json::array{json::object{{"functionDeclarations", json::array{json::object{{"name", "get_weather"}}}}}}}};
      return {stream ? "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=AIzaSECRETKEY"
                     : "/v1beta/models/gemini-2.5-flash:generateContent",
              json::serialize(body)};
    case Api::ollama:
      body = {{"model", "llama3.2"}, {"stream", stream},
              {"tools", json::array{json::object{{"type", "function"}, {"function", {{"name", "get_weather"}}}}}},
              {"messages", json::array{json::object{{"role", "user"}, {"content", u}}}}};
      return {"/api/chat", json::serialize(body)};
  }
  return {};
}

// What a client reads out of a response, to compare with the stand-in's log.
struct Seen {
  std::string model;
  std::string text;
  std::string thinking;
  json::array calls;  // {id, name, arguments}
  json::value usage;
  std::string stop;
};

json::object seen_call(json::value id, std::string_view name, std::string_view arguments) {
  return {{"id", std::move(id)}, {"name", name}, {"arguments", arguments}};
}

Seen read_anthropic_json(const json::object& m) {
  Seen s;
  EXPECT_EQ(str(m.at("type")), "message");
  EXPECT_EQ(str(m.at("role")), "assistant");
  EXPECT_TRUE(str(m.at("id")).starts_with("msg_"));
  EXPECT_TRUE(m.at("stop_sequence").is_null());
  s.model = str(m.at("model"));
  s.stop = str(m.at("stop_reason"));
  s.usage = m.at("usage");
  for (const json::value& block : m.at("content").as_array()) {
    std::string type = str(block.at("type"));
    if (type == "text") s.text += str(block.at("text"));
    if (type == "thinking") s.thinking += str(block.at("thinking"));
    if (type == "thinking") {
      EXPECT_FALSE(str(block.at("signature")).empty());
    }
    if (type == "tool_use")
      s.calls.push_back(seen_call(block.at("id"), str(block.at("name")), json::serialize(block.at("input"))));
  }
  return s;
}

// Checks the event grammar and accumulates as the SDK does: latest usage values win.
Seen read_anthropic_stream(const std::vector<SseEvent>& events) {
  Seen s;
  EXPECT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().event, "message_start");
  EXPECT_EQ(events.back().event, "message_stop");
  json::object usage;
  std::map<std::int64_t, std::string> open_types;
  std::map<std::int64_t, std::size_t> call_at;
  for (const SseEvent& ev : events) {
    json::object data = obj(parse(ev.data));
    EXPECT_EQ(str(data["type"]), ev.event) << "event name matches data.type";
    if (ev.event == "message_start") {
      const json::object& m = data.at("message").as_object();
      s.model = str(m.at("model"));
      EXPECT_EQ(m.at("usage").at("output_tokens").as_int64(), 1);
      usage = m.at("usage").as_object();
    } else if (ev.event == "content_block_start") {
      std::int64_t index = data.at("index").as_int64();
      const json::object& block = data.at("content_block").as_object();
      EXPECT_EQ(open_types.count(index), 0u);
      open_types[index] = str(block.at("type"));
      if (open_types[index] == "tool_use") {
        call_at[index] = s.calls.size();
        s.calls.push_back(seen_call(block.at("id"), str(block.at("name")), ""));
      }
    } else if (ev.event == "content_block_delta") {
      std::int64_t index = data.at("index").as_int64();
      EXPECT_EQ(open_types.count(index), 1u) << "delta inside an open block";
      const json::object& d = data.at("delta").as_object();
      std::string type = str(d.at("type"));
      if (type == "text_delta") s.text += str(d.at("text"));
      if (type == "thinking_delta") s.thinking += str(d.at("thinking"));
      if (type == "input_json_delta") {
        json::object& call = s.calls[call_at[index]].as_object();
        call["arguments"] = str(call["arguments"]) + str(d.at("partial_json"));
      }
    } else if (ev.event == "content_block_stop") {
      EXPECT_EQ(open_types.erase(data.at("index").as_int64()), 1u);
    } else if (ev.event == "message_delta") {
      s.stop = str(data.at("delta").at("stop_reason"));
      for (const auto& kv : data.at("usage").as_object()) usage[kv.key()] = kv.value();
    }
  }
  EXPECT_TRUE(open_types.empty()) << "every block stopped";
  s.usage = usage;
  return s;
}

Seen read_chat_json(const json::object& c) {
  Seen s;
  EXPECT_EQ(str(c.at("object")), "chat.completion");
  s.model = str(c.at("model"));
  const json::object& choice = c.at("choices").at(0).as_object();
  const json::object& message = choice.at("message").as_object();
  EXPECT_EQ(str(message.at("role")), "assistant");
  s.text = str(message.at("content"));
  if (const json::value* r = message.if_contains("reasoning_content")) s.thinking = str(*r);
  if (const json::value* calls = message.if_contains("tool_calls"))
    for (const json::value& call : calls->as_array()) {
      EXPECT_EQ(str(call.at("type")), "function");
      s.calls.push_back(seen_call(call.at("id"), str(call.at("function").at("name")),
                                  str(call.at("function").at("arguments"))));
    }
  s.stop = str(choice.at("finish_reason"));
  s.usage = c.at("usage");
  return s;
}

Seen read_chat_stream(const std::vector<SseEvent>& events, bool include_usage) {
  Seen s;
  s.usage = nullptr;
  EXPECT_EQ(events.back().data, "[DONE]");
  std::map<std::int64_t, std::size_t> call_at;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    json::object chunk = obj(parse(events[i].data));
    EXPECT_EQ(str(chunk["object"]), "chat.completion.chunk");
    s.model = str(chunk["model"]);
    EXPECT_EQ(chunk.contains("usage"), include_usage) << "usage key only with include_usage";
    const json::array& choices = chunk.at("choices").as_array();
    if (choices.empty()) {
      EXPECT_TRUE(include_usage);
      EXPECT_EQ(i + 2, events.size()) << "the usage chunk comes last, before [DONE]";
      s.usage = chunk.at("usage");
      continue;
    }
    const json::object& delta = choices.at(0).at("delta").as_object();
    if (i == 0) {
      EXPECT_EQ(str(delta.at("role")), "assistant") << "role first";
    }
    if (const json::value* c = delta.if_contains("content")) s.text += str(*c);
    if (const json::value* r = delta.if_contains("reasoning_content")) s.thinking += str(*r);
    if (const json::value* calls = delta.if_contains("tool_calls"))
      for (const json::value& frag : calls->as_array()) {
        std::int64_t index = frag.at("index").as_int64();
        const json::object& fn = frag.at("function").as_object();
        if (!call_at.count(index)) {
          EXPECT_TRUE(frag.as_object().contains("id")) << "id in the first fragment";
          call_at[index] = s.calls.size();
          s.calls.push_back(seen_call(frag.as_object().contains("id") ? frag.at("id") : nullptr, str(fn.at("name")), ""));
        } else {
          EXPECT_FALSE(frag.as_object().contains("id")) << "id only in the first fragment";
          EXPECT_FALSE(fn.contains("name"));
        }
        json::object& call = s.calls[call_at[index]].as_object();
        call["arguments"] = str(call["arguments"]) + str(fn.at("arguments"));
      }
    if (!choices.at(0).at("finish_reason").is_null()) s.stop = str(choices.at(0).at("finish_reason"));
  }
  return s;
}

void read_response_output(const json::array& output, Seen& s) {
  for (const json::value& item : output) {
    std::string type = str(item.at("type"));
    if (type == "message")
      for (const json::value& part : item.at("content").as_array()) s.text += str(part.at("text"));
    if (type == "reasoning")
      for (const json::value& part : item.at("summary").as_array()) s.thinking += str(part.at("text"));
    if (type == "function_call") {
      json::object call = seen_call(item.at("call_id"), str(item.at("name")), str(item.at("arguments")));
      call["item_id"] = item.at("id");
      s.calls.push_back(std::move(call));
    }
  }
}

Seen read_responses_json(const json::object& r) {
  Seen s;
  EXPECT_EQ(str(r.at("object")), "response");
  s.model = str(r.at("model"));
  s.stop = str(r.at("status"));
  s.usage = r.at("usage");
  read_response_output(r.at("output").as_array(), s);
  return s;
}

// Sequence numbers count from 0; deltas rebuild what the final response says.
Seen read_responses_stream(const std::vector<SseEvent>& events) {
  Seen s;
  EXPECT_EQ(events.front().event, "response.created");
  std::string last = events.back().event;
  EXPECT_TRUE(last == "response.completed" || last == "response.incomplete") << last;
  std::map<std::string, std::string> args_by_item;
  std::string text, thinking;
  for (std::size_t i = 0; i < events.size(); ++i) {
    json::object data = obj(parse(events[i].data));
    EXPECT_EQ(str(data["type"]), events[i].event);
    EXPECT_EQ(data.at("sequence_number").as_int64(), static_cast<std::int64_t>(i));
    if (events[i].event == "response.output_text.delta") text += str(data.at("delta"));
    if (events[i].event == "response.reasoning_summary_text.delta") thinking += str(data.at("delta"));
    if (events[i].event == "response.function_call_arguments.delta")
      args_by_item[str(data.at("item_id"))] += str(data.at("delta"));
    if (i + 1 == events.size()) s = read_responses_json(data.at("response").as_object());
  }
  EXPECT_EQ(text, s.text) << "deltas add up to the final text";
  EXPECT_EQ(thinking, s.thinking);
  EXPECT_EQ(args_by_item.size(), s.calls.size());
  return s;
}

Seen read_gemini_response(const json::object& r, Seen& s) {
  const json::object& candidate = r.at("candidates").at(0).as_object();
  EXPECT_EQ(str(candidate.at("content").at("role")), "model");
  for (const json::value& part : candidate.at("content").at("parts").as_array()) {
    const json::object& p = part.as_object();
    if (p.contains("text")) (p.contains("thought") ? s.thinking : s.text) += str(p.at("text"));
    if (p.contains("functionCall"))
      s.calls.push_back(seen_call(nullptr, str(p.at("functionCall").at("name")),
                                  json::serialize(p.at("functionCall").at("args"))));
  }
  if (const json::value* finish = candidate.if_contains("finishReason")) s.stop = str(*finish);
  s.usage = r.at("usageMetadata");
  s.model = str(r.at("modelVersion"));
  return s;
}

Seen read_gemini(const std::string& body, bool stream) {
  Seen s;
  if (!stream) return read_gemini_response(obj(parse(body)), s);
  std::vector<SseEvent> events = parse_sse(body);
  EXPECT_GE(events.size(), 2u);
  for (std::size_t i = 0; i < events.size(); ++i) {
    json::object chunk = obj(parse(events[i].data));
    bool has_finish = chunk.at("candidates").at(0).as_object().contains("finishReason");
    EXPECT_EQ(has_finish, i + 1 == events.size()) << "finishReason only in the last record";
    read_gemini_response(chunk, s);
  }
  return s;
}

Seen read_ollama(const std::string& body, bool stream) {
  Seen s;
  std::vector<json::object> objects;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) objects.push_back(obj(parse(line)));
  EXPECT_EQ(objects.size() > 1, stream);
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const json::object& o = objects[i];
    EXPECT_EQ(o.at("done").as_bool(), i + 1 == objects.size());
    const json::object& message = o.at("message").as_object();
    s.text += str(message.at("content"));
    if (const json::value* t = message.if_contains("thinking")) s.thinking += str(*t);
    if (const json::value* calls = message.if_contains("tool_calls"))
      for (const json::value& call : calls->as_array())
        s.calls.push_back(seen_call(nullptr, str(call.at("function").at("name")),
                                    json::serialize(call.at("function").at("arguments"))));
    s.model = str(o.at("model"));
  }
  const json::object& last = objects.back();
  s.stop = str(last.at("done_reason"));
  s.usage = json::object{{"prompt_eval_count", last.at("prompt_eval_count")}, {"eval_count", last.at("eval_count")}};
  EXPECT_GT(last.at("total_duration").as_int64(), 0);
  return s;
}

Seen read_reply(Api api, bool stream, const std::string& body) {
  switch (api) {
    case Api::anthropic:
      return stream ? read_anthropic_stream(parse_sse(body)) : read_anthropic_json(obj(parse(body)));
    case Api::chat: return stream ? read_chat_stream(parse_sse(body), true) : read_chat_json(obj(parse(body)));
    case Api::responses:
      return stream ? read_responses_stream(parse_sse(body)) : read_responses_json(obj(parse(body)));
    case Api::gemini: return read_gemini(body, stream);
    case Api::ollama: return read_ollama(body, stream);
  }
  return {};
}

void expect_log_matches(const json::object& log, const Seen& seen) {
  EXPECT_EQ(str(log.at("model_returned")), seen.model);
  EXPECT_EQ(str(log.at("text")), seen.text);
  EXPECT_EQ(str(log.at("thinking")), seen.thinking);
  EXPECT_EQ(log.at("tool_calls"), json::value(seen.calls));
  EXPECT_EQ(log.at("usage"), seen.usage);
  EXPECT_EQ(str(log.at("stop_reason")), seen.stop);
}

constexpr std::string_view kFullScript = R"({"rules":[{"name":"full","reply":{
  "thinking":"Pondering… über-careful ✓", "text":"Grüße aus Zürich — 42 ✓",
  "tool_calls":[{"name":"get_weather","arguments":{"city":"Zürich","days":[1,2]}}],
  "usage":{"input":120,"output":30,"cache_read":40,"cache_write_5m":8,"cache_write_1h":2,"reasoning":6},
  "delta_size":5}}]})";

// ---------------------------------------------------------------- every format, both ways

struct FormatCase {
  Api api;
  bool stream;
  bool tls;
};

void PrintTo(const FormatCase& c, std::ostream* os) {
  *os << api_name(c.api) << (c.stream ? " stream" : " json") << (c.tls ? " https" : " http");
}

std::string case_name(const testing::TestParamInfo<FormatCase>& info) {
  std::string name = api_name(info.param.api);
  for (char& c : name)
    if (c == '.') c = '_';
  return name + (info.param.stream ? "_stream" : "_json") + (info.param.tls ? "_https" : "_http");
}

class StandinFormat : public testing::TestWithParam<FormatCase> {};

TEST_P(StandinFormat, ReplyParsesAsTheRealFormatAndMatchesTheLog) {
  const FormatCase& fc = GetParam();
  StandIn standin(kFullScript);
  Client client;
  if (fc.tls) client.cainfo = standin.cert;
  Call call = make_call(fc.api, fc.stream);
  HttpResult r = client.post(standin.url(fc.tls, call.path), call.body,
                             {"Content-Type: application/json", "Authorization: Bearer sk-SECRET-TOKEN"});
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  ASSERT_EQ(r.status, 200) << r.body;
  Seen seen = read_reply(fc.api, fc.stream, r.body);
  json::object log = standin.last_log();
  EXPECT_EQ(str(log.at("api")), api_name(fc.api));
  EXPECT_EQ(log.at("stream").as_bool(), fc.stream);
  EXPECT_EQ(log.at("tls").as_bool(), fc.tls);
  EXPECT_EQ(str(log.at("rule")), "full");
  EXPECT_EQ(str(log.at("transfer")), fc.stream ? "chunked" : "length");
  EXPECT_TRUE(log.at("credentials").as_bool());
  expect_log_matches(log, seen);
  EXPECT_EQ(seen.text, "Grüße aus Zürich — 42 ✓");
  ASSERT_EQ(seen.calls.size(), 1u);
  EXPECT_EQ(parse(str(seen.calls[0].at("arguments"))), parse(R"({"city":"Zürich","days":[1,2]})"));
  std::int64_t head_and_body = r.header_bytes + static_cast<std::int64_t>(r.body.size());
  if (fc.stream) {
    EXPECT_GT(num(log.at("response_bytes")), head_and_body) << "chunk framing comes on top";
  } else {
    EXPECT_EQ(num(log.at("response_bytes")), head_and_body) << "every byte on the wire";
  }
  EXPECT_EQ(num(log.at("decoded_body_bytes")), static_cast<std::int64_t>(r.body.size()));
  EXPECT_EQ(standin.log_text().find("SECRET"), std::string::npos) << "no credential value in the log";
}

INSTANTIATE_TEST_SUITE_P(AllFormats, StandinFormat,
                         testing::ValuesIn([] {
                           std::vector<FormatCase> cases;
                           for (Api api : {Api::anthropic, Api::chat, Api::responses, Api::gemini, Api::ollama})
                             for (bool stream : {false, true})
                               for (bool tls : {false, true}) cases.push_back({api, stream, tls});
                           return cases;
                         }()),
                         case_name);

// Token classes map into each provider's own fields, inclusive or additive as it defines.
TEST(StandinUsage, MapsTokenClassesPerProvider) {
  StandIn standin(kFullScript);
  Client client;
  auto usage_of = [&](Api api) {
    Call call = make_call(api, false);
    client.post(standin.url(false, call.path), call.body);
    return standin.last_log().at("usage").as_object();
  };
  json::object a = usage_of(Api::anthropic);
  EXPECT_EQ(a.at("input_tokens").as_int64(), 120);
  EXPECT_EQ(a.at("cache_read_input_tokens").as_int64(), 40);
  EXPECT_EQ(a.at("cache_creation_input_tokens").as_int64(), 10);
  EXPECT_EQ(a.at("cache_creation").at("ephemeral_5m_input_tokens").as_int64(), 8);
  EXPECT_EQ(a.at("cache_creation").at("ephemeral_1h_input_tokens").as_int64(), 2);
  EXPECT_EQ(a.at("output_tokens").as_int64(), 36) << "output includes thinking";
  json::object c = usage_of(Api::chat);
  EXPECT_EQ(c.at("prompt_tokens").as_int64(), 170) << "prompt includes cached tokens";
  EXPECT_EQ(c.at("prompt_tokens_details").at("cached_tokens").as_int64(), 40);
  EXPECT_EQ(c.at("completion_tokens").as_int64(), 36);
  EXPECT_EQ(c.at("completion_tokens_details").at("reasoning_tokens").as_int64(), 6);
  EXPECT_EQ(c.at("total_tokens").as_int64(), 206);
  json::object r = usage_of(Api::responses);
  EXPECT_EQ(r.at("input_tokens").as_int64(), 170);
  EXPECT_EQ(r.at("input_tokens_details").at("cached_tokens").as_int64(), 40);
  EXPECT_EQ(r.at("output_tokens").as_int64(), 36);
  EXPECT_EQ(r.at("output_tokens_details").at("reasoning_tokens").as_int64(), 6);
  json::object g = usage_of(Api::gemini);
  EXPECT_EQ(g.at("promptTokenCount").as_int64(), 170);
  EXPECT_EQ(g.at("cachedContentTokenCount").as_int64(), 40);
  EXPECT_EQ(g.at("candidatesTokenCount").as_int64(), 30) << "thoughts are outside candidates";
  EXPECT_EQ(g.at("thoughtsTokenCount").as_int64(), 6);
  EXPECT_EQ(g.at("totalTokenCount").as_int64(), 206);
  json::object o = usage_of(Api::ollama);
  EXPECT_EQ(o.at("prompt_eval_count").as_int64(), 170);
  EXPECT_EQ(o.at("eval_count").as_int64(), 36);
}

TEST(StandinUsage, DerivedFromByteSizesWithoutAScript) {
  StandIn standin;
  Client client;
  Call call = make_call(Api::chat, false, "hello there");
  HttpResult r = client.post(standin.url(false, call.path), call.body);
  json::object usage = obj(parse(r.body)).at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), static_cast<std::int64_t>(call.body.size() / 4));
  EXPECT_GT(usage.at("completion_tokens").as_int64(), 0);
}

// ---------------------------------------------------------------- stream details

TEST(StandinAnthropic, DoubleMessageDeltaCarriesCumulativeUsage) {
  StandIn standin(R"({"default":{"text":"abc","usage":{"input":5,"output":40},"double_message_delta":true}})");
  Client client;
  Call call = make_call(Api::anthropic, true);
  HttpResult r = client.post(standin.url(false, call.path), call.body);
  std::vector<std::int64_t> outputs;
  for (const SseEvent& ev : parse_sse(r.body))
    if (ev.event == "message_delta") outputs.push_back(parse(ev.data).at("usage").at("output_tokens").as_int64());
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_LT(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[1], 40);
  json::object log = standin.last_log();
  EXPECT_EQ(log.at("usage_events").as_array().size(), 3);
  EXPECT_EQ(log.at("usage").at("output_tokens").as_int64(), 40) << "the log says what a consumer ends with";
}

TEST(StandinChat, UsageChunkOnlyWithIncludeUsage) {
  StandIn standin;
  Client client;
  json::object body{{"model", "gpt-4o"}, {"stream", true},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}}};
  HttpResult r = client.post(standin.url(false, "/v1/chat/completions"), json::serialize(body));
  Seen seen = read_chat_stream(parse_sse(r.body), false);
  EXPECT_TRUE(seen.usage.is_null());
  EXPECT_TRUE(standin.last_log().at("usage").is_null()) << "no usage was sent";
  EXPECT_FALSE(seen.text.empty());
}

TEST(StandinResponses, IncompleteEndsTheStreamWithResponseIncomplete) {
  StandIn standin(R"({"default":{"text":"half an ans","incomplete":true}})");
  Client client;
  Call call = make_call(Api::responses, true);
  HttpResult r = client.post(standin.url(false, call.path), call.body);
  std::vector<SseEvent> events = parse_sse(r.body);
  Seen seen = read_responses_stream(events);
  EXPECT_EQ(events.back().event, "response.incomplete");
  EXPECT_EQ(r.body.find("response.completed"), std::string::npos);
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  EXPECT_EQ(parse(events.back().data).at("response").at("incomplete_details").at("reason"), "max_output_tokens");
  EXPECT_EQ(seen.stop, "incomplete");
  EXPECT_EQ(str(standin.last_log().at("stop_reason")), "incomplete");
}

TEST(StandinGemini, StreamWithoutAltSseIsOneJsonArray) {
  StandIn standin(kFullScript);
  Client client;
  Call call = make_call(Api::gemini, false);
  HttpResult r = client.post(standin.url(false, "/v1beta/models/gemini-2.5-pro:streamGenerateContent"), call.body,
                             {"x-goog-api-key: AIzaSECRET"});
  json::value array = parse(r.body);
  ASSERT_TRUE(array.is_array());
  ASSERT_GE(array.as_array().size(), 2u);
  Seen seen;
  for (const json::value& chunk : array.as_array()) read_gemini_response(chunk.as_object(), seen);
  json::object log = standin.last_log();
  expect_log_matches(log, seen);
  EXPECT_EQ(str(log.at("model")), "gemini-2.5-pro") << "the model comes from the path";
  EXPECT_TRUE(log.at("credentials").as_bool());
  EXPECT_EQ(standin.log_text().find("SECRET"), std::string::npos);
}

TEST(StandinGemini, KeyQueryParameterIsMaskedInTheLog) {
  StandIn standin;
  Client client;
  Call call = make_call(Api::gemini, true);
  client.post(standin.url(false, call.path), call.body);
  json::object log = standin.last_log();
  EXPECT_EQ(str(log.at("path")),
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=REDACTED");
  EXPECT_TRUE(log.at("credentials").as_bool());
  EXPECT_EQ(standin.log_text().find("AIzaSECRETKEY"), std::string::npos);
}

TEST(StandinOllama, StreamsByDefault) {
  StandIn standin;
  Client client;
  HttpResult r = client.post(standin.url(false, "/api/chat"),
                             R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})");
  EXPECT_NE(r.head.find("application/x-ndjson"), std::string::npos);
  Seen seen = read_ollama(r.body, true);
  expect_log_matches(standin.last_log(), seen);
  EXPECT_TRUE(standin.last_log().at("stream").as_bool());
}

// ---------------------------------------------------------------- HTTP behaviour

TEST(StandinHttp, KeepAliveReusesOneConnection) {
  StandIn standin;
  for (bool tls : {false, true}) {
    Client client;
    if (tls) client.cainfo = standin.cert;
    for (int i = 0; i < 4; ++i) {
      Call call = make_call(i % 2 ? Api::anthropic : Api::chat, i >= 2);
      HttpResult r = client.post(standin.url(tls, call.path), call.body);
      ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
      EXPECT_EQ(r.connects, i == 0 ? 1 : 0) << "request " << i << (tls ? " over TLS" : "");
      json::object log = standin.last_log();
      EXPECT_EQ(num(log.at("conn_exchange")), i + 1);
    }
  }
}

TEST(StandinHttp, HonoursConnectionClose) {
  StandIn standin;
  Client client;
  Call call = make_call(Api::chat, false);
  for (int i = 0; i < 2; ++i) {
    HttpResult r = client.post(standin.url(false, call.path), call.body, {"Connection: close"});
    EXPECT_EQ(r.connects, 1) << "a new connection each time";
    EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  }
}

TEST(StandinHttp, GzipAndChunkedResponses) {
  StandIn standin(R"({"rules":[{"when":{"user_contains":"zip"},"reply":{"text":"packed text ✓","gzip":true}}]})");
  Client client;
  client.accept_gzip = true;
  for (bool stream : {false, true}) {
    Call call = make_call(Api::anthropic, stream, "zip it");
    HttpResult r = client.post(standin.url(false, call.path), call.body);
    ASSERT_EQ(r.code, CURLE_OK);
    EXPECT_NE(r.head.find("Content-Encoding: gzip"), std::string::npos);
    EXPECT_EQ(r.head.find("Transfer-Encoding: chunked") != std::string::npos, stream);
    Seen seen = read_reply(Api::anthropic, stream, r.body);
    EXPECT_EQ(seen.text, "packed text ✓");
    json::object log = standin.last_log();
    EXPECT_EQ(str(log.at("content_encoding")), "gzip");
    EXPECT_LT(num(log.at("body_bytes")), num(log.at("decoded_body_bytes")) + 64);
    EXPECT_EQ(num(log.at("decoded_body_bytes")), static_cast<std::int64_t>(r.body.size()));
  }
  Client plain;  // no Accept-Encoding: no gzip whatever the script says
  Call call = make_call(Api::anthropic, false, "zip it");
  HttpResult r = plain.post(standin.url(false, call.path), call.body);
  EXPECT_EQ(r.head.find("Content-Encoding"), std::string::npos);
  EXPECT_EQ(str(standin.last_log().at("content_encoding")), "identity");
}

TEST(StandinHttp, ChunkSizeSplitsTheWireDeliberately) {
  StandIn standin(R"({"default":{"text":"ü€😀 split me","chunk_size":3}})");
  Call call = make_call(Api::anthropic, true);
  std::string raw = raw_exchange(standin.http_port, post_request(call.path, call.body));
  std::size_t head_end = raw.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  std::string payload;
  std::vector<std::size_t> sizes = chunk_sizes(std::string_view(raw).substr(head_end + 4), payload);
  ASSERT_GT(sizes.size(), 10u);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 3);
  EXPECT_EQ(read_anthropic_stream(parse_sse(payload)).text, "ü€😀 split me");
  json::object log = standin.last_log();
  EXPECT_EQ(num(log.at("response_bytes")), static_cast<std::int64_t>(raw.size())) << "the log counts every byte sent";
  EXPECT_EQ(num(log.at("chunk_size")), 3);
}

TEST(StandinHttp, TransferModesLengthAndClose) {
  StandIn standin(R"({"rules":[{"when":{"user_contains":"length"},"reply":{"transfer":"length"}},
                               {"when":{"user_contains":"close"},"reply":{"transfer":"close"}}]})");
  Call by_length = make_call(Api::chat, true, "length please");
  std::string raw = raw_exchange(standin.http_port, post_request(by_length.path, by_length.body));
  EXPECT_NE(raw.find("Content-Length: "), std::string::npos);
  EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(str(standin.last_log().at("transfer")), "length");
  Client client;
  Call by_close = make_call(Api::chat, true, "close please");
  HttpResult r = client.post(standin.url(false, by_close.path), by_close.body);
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.head.find("Content-Length"), std::string::npos);
  EXPECT_EQ(read_chat_stream(parse_sse(r.body), true).text, str(standin.last_log().at("text")));
  EXPECT_EQ(str(standin.last_log().at("transfer")), "close");
}

TEST(StandinHttp, ExpectContinueAndChunkedGzipRequestBodies) {
  StandIn standin;
  Client client;
  Call call = make_call(Api::anthropic, false, "gzip'd and chunked");
  std::string packed = gzip_bytes(call.body);
  HttpResult r = client.post_chunked(standin.url(false, call.path), packed,
                                     {"Content-Encoding: gzip", "Expect: 100-continue", "Content-Type: application/json"});
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("HTTP/1.1 100 Continue"), std::string::npos);
  json::object log = standin.last_log();
  EXPECT_TRUE(log.at("continue_sent").as_bool());
  EXPECT_TRUE(log.at("request_chunked").as_bool());
  EXPECT_EQ(str(log.at("request_content_encoding")), "gzip");
  EXPECT_EQ(num(log.at("request_body_bytes")), static_cast<std::int64_t>(call.body.size()));
  EXPECT_EQ(num(log.at("request_body_wire_bytes")), static_cast<std::int64_t>(packed.size()));
  EXPECT_EQ(str(log.at("model")), "claude-sonnet-4-5") << "the decoded body was understood";
}

TEST(StandinHttp, DelayBetweenPieces) {
  StandIn standin(R"({"default":{"text":"slow","delay_ms":40}})");
  Client client;
  Call call = make_call(Api::anthropic, true);
  auto start = std::chrono::steady_clock::now();
  HttpResult r = client.post(standin.url(false, call.path), call.body);
  auto elapsed = std::chrono::steady_clock::now() - start;
  std::size_t events = parse_sse(r.body).size();
  EXPECT_GE(elapsed, (events - 1) * 40ms);
}

TEST(StandinHttp, DropConnectionTruncatesTheResponse) {
  StandIn standin(R"({"default":{"text":"this stream is cut short","drop_connection_after_bytes":300}})");
  Client tls_client;
  tls_client.cainfo = standin.cert;
  Call tls_call = make_call(Api::chat, true);
  EXPECT_NE(tls_client.post(standin.url(true, tls_call.path), tls_call.body).code, CURLE_OK) << "cut over TLS too";
  Client client;
  Call call = make_call(Api::anthropic, true);
  HttpResult r = client.post(standin.url(false, call.path), call.body);
  EXPECT_NE(r.code, CURLE_OK) << "the client sees a truncated transfer";
  json::object log = standin.last_log();
  EXPECT_EQ(num(log.at("dropped_after_bytes")), 300);
  EXPECT_LT(r.body.size(), 300);
  HttpResult again = client.post(standin.url(false, call.path), call.body);
  EXPECT_EQ(again.connects, 1) << "the next request needs a new connection";
}

TEST(StandinHttp, AClientLeavingMidStreamIsLogged) {
  StandIn standin(R"({"default":{"text":"a long and slow answer, piece by piece","delay_ms":30,"delta_size":2}})");
  Call call = make_call(Api::anthropic, true);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(standin.http_port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string request = post_request(call.path, call.body);
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  char buf[512];
  EXPECT_GT(::recv(fd, buf, sizeof buf, 0), 0);
  ::close(fd);
  for (int i = 0; i < 200 && standin.log().empty(); ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(standin.log().size(), 1u);
  EXPECT_TRUE(standin.last_log().at("write_failed").as_bool());
}

TEST(StandinHttp, ModelsCountTokensAndUnknownPaths) {
  StandIn standin;
  Client client;
  HttpResult models = client.get(standin.url(false, "/v1/models"));
  EXPECT_EQ(models.status, 200);
  EXPECT_FALSE(parse(models.body).at("data").as_array().empty());
  std::string body = R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"count me"}]})";
  HttpResult count = client.post(standin.url(false, "/v1/messages/count_tokens?beta=true"), body);
  EXPECT_EQ(parse(count.body).at("input_tokens").as_int64(), static_cast<std::int64_t>(body.size() / 4));
  HttpResult missing = client.post(standin.url(false, "/v2/nothing"), "{}");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(parse(missing.body).at("error").is_object());
  EXPECT_EQ(str(standin.last_log().at("api")), "other");
  EXPECT_EQ(standin.last_log().at("status").as_int64(), 404);
}

// Claude Code probes with HEAD /: headers only, and the connection stays usable.
TEST(StandinHttp, HeadRequestsGetNoBody) {
  StandIn standin;
  Client client;
  HttpResult probe = client.head(standin.url(false, "/"));
  ASSERT_EQ(probe.code, CURLE_OK);
  EXPECT_EQ(probe.status, 404);
  Call call = make_call(Api::anthropic, false);
  HttpResult r = client.post(standin.url(false, call.path), call.body);
  ASSERT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.connects, 0) << "the same connection carries on";
  EXPECT_EQ(str(parse(r.body).at("type")), "message");
}

TEST(StandinHttp, DeeplyNestedToolSchemasAreUnderstood) {
  StandIn standin;
  Client client;
  std::string schema = "{}";
  for (int i = 0; i < 100; ++i) schema = R"({"type":"object","properties":{"x":)" + schema + "}}";
  std::string body = R"({"model":"claude-haiku-4-5","max_tokens":5,"tools":[{"name":"deep","input_schema":)" + schema +
                     R"(}],"messages":[{"role":"user","content":"hi"}]})";
  HttpResult r = client.post(standin.url(false, "/v1/messages"), body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(str(standin.last_log().at("model")), "claude-haiku-4-5");
  EXPECT_EQ(str(standin.last_log().at("tool_calls").at(0).at("name")), "deep");
}

TEST(StandinHttp, LogStaysValidJsonWhateverTheRequestBytes) {
  StandIn standin;
  std::string raw = raw_exchange(standin.http_port,
                                 "GET /v1/\xFF\xFEmodels?key=\xC3 HTTP/1.1\r\nX-\xE2\x28: 1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 "));
  std::string text = standin.log_text();
  boost::system::error_code ec;
  json::value line = json::parse(text, ec);  // strict: rejects invalid UTF-8
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(str(line.at("path")), "/v1/\xEF\xBF\xBD\xEF\xBF\xBDmodels?key=REDACTED");
}

TEST(StandinHttp, BadRequestsGetProviderShapedErrors) {
  StandIn standin;
  Client client;
  HttpResult r = client.post(standin.url(false, "/v1/chat/completions"), "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(parse(r.body).at("error").at("message").is_string());
  std::string raw = raw_exchange(standin.http_port, "POST /v1/messages HTTP/1.1\r\nContent-Length: x\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 400 ")) << raw;
  EXPECT_EQ(standin.last_log().at("status").as_int64(), 400);
}

// ---------------------------------------------------------------- scripts

TEST(StandinScriptRun, RulesAndNthSequenceAConversation) {
  StandIn standin(R"({"rules":[
    {"name":"first-call","when":{"api":"anthropic.messages","tool_offered":"get_weather","nth":1},
     "reply":{"tool_calls":[{"name":"get_weather","arguments":{"city":"Oslo"}}]}},
    {"name":"after-result","when":{"last_is_tool_result":true},"reply":{"text":"It is sunny in Oslo."}},
    {"name":"no-tools","when":{"has_tools":false,"path_contains":"/v1/messages"},"reply":{"text":"no tools here"}},
    {"name":"error","when":{"user_contains":"fail me"},"reply":{"status":429,"error_message":"slow down","retry_after":2}}],
    "default":{"text":"fallback"}})");
  Client client;
  Call first = make_call(Api::anthropic, false);
  Seen s1 = read_anthropic_json(obj(parse(client.post(standin.url(false, first.path), first.body).body)));
  ASSERT_EQ(s1.calls.size(), 1u);
  EXPECT_EQ(str(standin.last_log().at("rule")), "first-call");
  std::string tool_id = str(s1.calls[0].at("id"));
  EXPECT_TRUE(tool_id.starts_with("toolu_"));

  json::object follow = obj(parse(first.body));
  follow["messages"].as_array().push_back(
      json::object{{"role", "assistant"},
                   {"content", json::array{json::object{{"type", "tool_use"}, {"id", tool_id}, {"name", "get_weather"},
                                                        {"input", {{"city", "Oslo"}}}}}}});
  follow["messages"].as_array().push_back(json::object{
      {"role", "user"},
      {"content", json::array{json::object{{"type", "tool_result"}, {"tool_use_id", tool_id}, {"content", "sunny"}}}}});
  Seen s2 = read_anthropic_json(obj(parse(client.post(standin.url(false, first.path), json::serialize(follow)).body)));
  EXPECT_EQ(s2.text, "It is sunny in Oslo.");
  EXPECT_EQ(str(standin.last_log().at("rule")), "after-result");

  Seen s3 = read_anthropic_json(obj(parse(client.post(standin.url(false, first.path), first.body).body)));
  EXPECT_EQ(s3.text, "fallback") << "nth 1 is used up";
  EXPECT_EQ(str(standin.last_log().at("rule")), "default");

  std::string no_tools = R"({"model":"m","messages":[{"role":"user","content":"plain"}]})";
  EXPECT_EQ(read_anthropic_json(obj(parse(client.post(standin.url(false, "/v1/messages"), no_tools).body))).text,
            "no tools here");

  Call failing = make_call(Api::anthropic, true, "please fail me");
  HttpResult r = client.post(standin.url(false, failing.path), failing.body);
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.head.find("retry-after: 2"), std::string::npos);
  json::value error = parse(r.body);
  EXPECT_EQ(error.at("type"), "error");
  EXPECT_EQ(error.at("error").at("type"), "rate_limit_error");
  EXPECT_EQ(error.at("error").at("message"), "slow down");
  EXPECT_EQ(str(standin.last_log().at("error")), "slow down");
}

// A task in the first user message, a context message after it (as OpenClaw sends):
// any_user_contains sees the first, user_contains only the last.
TEST(StandinScriptRun, AnyUserContainsLooksAtEveryUserMessage) {
  StandIn standin(R"({"rules":[
    {"name":"last","when":{"user_contains":"TASK-7Q"},"reply":{"text":"last"}},
    {"name":"any","when":{"any_user_contains":"TASK-7Q"},"reply":{"text":"any"}}],
    "default":{"text":"neither"}})");
  Client client;
  const std::pair<std::string, std::string> requests[] = {
      {"/v1/messages", R"({"model":"m","max_tokens":9,"messages":[
        {"role":"user","content":[{"type":"text","text":"do TASK-7Q"}]},
        {"role":"assistant","content":"ok"},
        {"role":"user","content":[{"type":"text","text":"<<<context>>>"}]}]})"},
      {"/v1/chat/completions", R"({"model":"m","messages":[{"role":"system","content":"TASK-7Q"},
        {"role":"user","content":"do TASK-7Q"},{"role":"user","content":[{"type":"text","text":"<<<context>>>"}]}]})"},
      {"/v1/responses", R"({"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"do TASK-7Q"}]},
        {"role":"user","content":[{"type":"input_text","text":"<<<context>>>"}]}]})"},
      {"/v1beta/models/g:generateContent", R"({"contents":[{"role":"user","parts":[{"text":"do TASK-7Q"}]},
        {"role":"user","parts":[{"text":"<<<context>>>"}]}]})"},
      {"/api/chat", R"({"model":"m","stream":false,"messages":[{"role":"user","content":"do TASK-7Q"},
        {"role":"user","content":"<<<context>>>"}]})"},
  };
  for (const auto& [path, body] : requests) {
    EXPECT_EQ(client.post(standin.url(false, path), body).status, 200) << path;
    EXPECT_EQ(str(standin.last_log().at("rule")), "any") << path;
  }
  const std::string last_has_it = R"({"model":"m","messages":[{"role":"user","content":"x"},{"role":"user","content":"TASK-7Q"}]})";
  client.post(standin.url(false, "/v1/chat/completions"), last_has_it);
  EXPECT_EQ(str(standin.last_log().at("rule")), "last");
  const std::string only_system = R"({"model":"m","messages":[{"role":"system","content":"TASK-7Q"},{"role":"user","content":"x"}]})";
  client.post(standin.url(false, "/v1/chat/completions"), only_system);
  EXPECT_EQ(str(standin.last_log().at("rule")), "default") << "system and assistant text do not count";
}

TEST(StandinScriptRun, ErrorBodiesFollowEachProvider) {
  StandIn standin(R"({"default":{"status":500}})");
  Client client;
  auto error_of = [&](Api api) {
    Call call = make_call(api, true);
    HttpResult r = client.post(standin.url(false, call.path), call.body);
    EXPECT_EQ(r.status, 500);
    return parse(r.body);
  };
  EXPECT_EQ(error_of(Api::anthropic).at("error").at("type"), "api_error");
  EXPECT_EQ(error_of(Api::chat).at("error").at("type"), "server_error");
  EXPECT_EQ(error_of(Api::responses).at("error").at("type"), "server_error");
  EXPECT_EQ(error_of(Api::gemini).at("error").at("status"), "INTERNAL");
  EXPECT_TRUE(error_of(Api::ollama).at("error").is_string());
}

TEST(StandinScriptRun, BuiltinCallsBashThenAnswers) {
  StandIn standin;
  Client client;
  json::object body{{"model", "gpt-4o"},
                    {"tools", json::array{json::object{{"type", "function"}, {"function", {{"name", "read_file"}}}},
                                          json::object{{"type", "function"}, {"function", {{"name", "run_shell"}}}}}},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", "list files"}}}}};
  Seen first = read_chat_json(obj(parse(client.post(standin.url(false, "/v1/chat/completions"), json::serialize(body)).body)));
  ASSERT_EQ(first.calls.size(), 1u);
  EXPECT_EQ(str(first.calls[0].at("name")), "run_shell");
  EXPECT_EQ(str(first.calls[0].at("arguments")), R"({"command":"echo hello from the stand-in"})");
  std::string id1 = str(first.calls[0].at("id"));
  body["messages"].as_array().push_back(json::object{{"role", "tool"}, {"tool_call_id", id1}, {"content", "hello"}});
  Seen second = read_chat_json(obj(parse(client.post(standin.url(false, "/v1/chat/completions"), json::serialize(body)).body)));
  EXPECT_TRUE(second.calls.empty());
  EXPECT_FALSE(second.text.empty());
  EXPECT_EQ(second.stop, "stop");
  body["messages"].as_array().pop_back();
  Seen third = read_chat_json(obj(parse(client.post(standin.url(false, "/v1/chat/completions"), json::serialize(body)).body)));
  EXPECT_NE(str(third.calls[0].at("id")), id1) << "tool ids come from a counter";
}

// Claude Code puts `role: system` messages after a tool result (mid-conversation system
// beta): the result is still what the model answers, so the built-in reply is text.
TEST(StandinScriptRun, AnthropicSystemMessageAfterAToolResultStillCountsAsAResult) {
  StandIn standin(R"({"rules":[{"name":"after-result","when":{"last_is_tool_result":true},"reply":{"text":"done"}}]})");
  Client client;
  json::array messages{json::object{{"role", "user"}, {"content", "list files"}},
                       json::object{{"role", "system"}, {"content", "Available agent types: ..."}}};
  json::object body{{"model", "claude-opus-4-8"}, {"max_tokens", 64},
                    {"tools", json::array{json::object{{"name", "Bash"}, {"input_schema", {{"type", "object"}}}}}},
                    {"messages", messages}};
  auto post = [&] {
    return read_anthropic_json(obj(parse(client.post(standin.url(false, "/v1/messages"), json::serialize(body)).body)));
  };
  Seen first = post();
  ASSERT_EQ(first.calls.size(), 1u) << "a system message after a user question is not a tool result";
  EXPECT_EQ(str(standin.last_log().at("rule")), "builtin");
  std::string id = str(first.calls[0].at("id"));
  json::array& m = body["messages"].as_array();
  m.push_back(json::object{{"role", "assistant"},
                           {"content", json::array{json::object{{"type", "tool_use"}, {"id", id}, {"name", "Bash"},
                                                                {"input", {{"command", "ls"}}}}}}});
  json::object result{{"type", "tool_result"}, {"tool_use_id", id}, {"content", "a.txt"}};
  m.push_back(json::object{{"role", "user"}, {"content", json::array{result}}});
  m.push_back(json::object{{"role", "system"},
                           {"content", json::array{json::object{{"type", "text"}, {"text", "reminder"}}}}});
  Seen second = post();
  EXPECT_TRUE(second.calls.empty());
  EXPECT_EQ(second.text, "done");
  EXPECT_EQ(str(standin.last_log().at("rule")), "after-result");
}

// ---------------------------------------------------------------- process life

TEST(StandinProcess, ReadyFileDescribesTheListeners) {
  StandIn standin;
  EXPECT_GT(standin.http_port, 0);
  EXPECT_GT(standin.https_port, 0);
  EXPECT_NE(standin.http_port, standin.https_port);
  EXPECT_TRUE(fs::exists(standin.cert));
  EXPECT_TRUE(fs::exists(fs::path(standin.cert).parent_path() / "key.pem"));
  EXPECT_NE(read_file(standin.cert).find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_GT(standin.ready.at("pid").as_int64(), 0);
  Client client;  // both names of the certificate verify
  client.cainfo = standin.cert;
  EXPECT_EQ(client.get("https://127.0.0.1:" + std::to_string(standin.https_port) + "/v1/models").code, CURLE_OK);
  EXPECT_EQ(client.get(standin.url(true, "/v1/models")).code, CURLE_OK);
  EXPECT_EQ(client.http_version(), CURL_HTTP_VERSION_1_1) << "ALPN settles on http/1.1 although curl offers h2";
  Client untrusting;
  EXPECT_NE(untrusting.get(standin.url(true, "/v1/models")).code, CURLE_OK) << "the certificate is not trusted by default";
}

TEST(StandinProcess, ExitsAfterMaxRequests) {
  StandIn standin("", {"--max-requests", "2"});
  Client client;
  Call call = make_call(Api::ollama, false);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(client.post(standin.url(false, call.path), call.body).status, 200);
  EXPECT_EQ(standin.wait_exit(), 0);
  EXPECT_EQ(standin.log().size(), 2u);
}

TEST(StandinProcess, PythonSslTrustsTheCertificate) {
  StandIn standin;
  fs::path script = standin.dir() / "client.py";
  write_file(script, R"(import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": True,
                   "messages": [{"role": "user", "content": "hi from python"}]}).encode()
req = urllib.request.Request(sys.argv[1], data=body, headers={"content-type": "application/json", "x-api-key": "sk-PYSECRET"})
text = ""
with urllib.request.urlopen(req, context=ctx) as resp:
    for line in resp:
        line = line.decode()
        if line.startswith("data: "):
            event = json.loads(line[6:])
            if event["type"] == "content_block_delta":
                text += event["delta"]["text"]
print(text)
)");
  std::string command = "python3 " + script.string() + " " + standin.url(true, "/v1/messages") + " " + standin.cert;
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512] = "";
  std::string out;
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  EXPECT_EQ(pclose(p), 0);
  json::object log = standin.last_log();
  EXPECT_EQ(out, str(log.at("text")) + "\n");
  EXPECT_TRUE(log.at("tls").as_bool());
  EXPECT_TRUE(log.at("credentials").as_bool());
  EXPECT_EQ(standin.log_text().find("PYSECRET"), std::string::npos);
}

}  // namespace
