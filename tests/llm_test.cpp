// Provider adapters: realistic request/response fixtures of every format, streaming and
// not, split into body pieces anywhere; error, truncated and garbage bodies.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <random>

#include "llm.h"

using namespace clawtrace;
using namespace clawtrace::llm;
namespace json = boost::json;

namespace {

// ------------------------------------------------------------------------- helpers

http::Request post(std::string target, std::string host, std::string body) {
  http::Request r;
  r.method = "POST";
  r.target = std::move(target);
  r.version = "HTTP/1.1";
  if (!host.empty()) r.headers.push_back({"host", std::move(host)});
  r.headers.push_back({"content-type", "application/json"});
  r.body = std::move(body);
  return r;
}

// A stream body assembled record by record; remembers where each record completes.
struct Stream {
  std::string body;
  std::vector<size_t> done_at;  // offset of the byte that completes each record

  // SSE event: `event:` line only when a name is given.
  Stream& event(std::string_view name, std::string_view data, bool crlf = false) {
    std::string_view nl = crlf ? "\r\n" : "\n";
    if (!name.empty()) body.append("event: ").append(name).append(nl);
    body.append("data: ").append(data).append(nl).append(nl);
    // With CRLF the blank line is complete at its CR; its LF only ends the line.
    done_at.push_back(body.size() - 1 - (crlf ? 1 : 0));
    return *this;
  }
  Stream& data(std::string_view data, bool crlf = false) { return event({}, data, crlf); }
  Stream& line(std::string_view text) {
    body.append(text).append("\n");
    done_at.push_back(body.size() - 1);
    return *this;
  }
  Stream& raw(std::string_view bytes) {
    body.append(bytes);
    return *this;
  }
};

// One piece per record, record i arriving at t = 100 * (i + 1).
std::vector<http::BodyPiece> per_record(const Stream& s) {
  std::vector<http::BodyPiece> pieces;
  size_t start = 0;
  for (size_t i = 0; i < s.done_at.size(); ++i) {
    size_t end = s.done_at[i] + 1;
    if (i + 1 == s.done_at.size()) end = s.body.size();
    pieces.push_back({100 * (i + 1), s.body.substr(start, end - start)});
    start = end;
  }
  if (start < s.body.size()) pieces.push_back({100 * (s.done_at.size() + 1), s.body.substr(start)});
  return pieces;
}

// Pieces of `size` bytes, piece i arriving at t = 1000 + i.
std::vector<http::BodyPiece> split_every(std::string_view body, size_t size) {
  std::vector<http::BodyPiece> pieces;
  for (size_t i = 0; i * size < body.size(); ++i)
    pieces.push_back({1000 + i, std::string(body.substr(i * size, size))});
  return pieces;
}

http::Response response(int status, std::string content_type, std::vector<http::BodyPiece> body) {
  http::Response r;
  r.status = status;
  r.reason = status == 200 ? "OK" : "Error";
  r.headers.push_back({"content-type", std::move(content_type)});
  r.body = std::move(body);
  r.complete = true;
  r.t_end_ns = r.body.empty() ? 0 : r.body.back().t_ns;
  return r;
}

http::Response whole(int status, std::string body, uint64_t t = 500) {
  return response(status, "application/json", {{t, std::move(body)}});
}

// Parses JSON text written in a test, with ${NAME} placeholders replaced first.
json::value J(std::string text, const std::map<std::string, std::string>& subs = {}) {
  for (const auto& [name, value] : subs) {
    std::string key = "${" + name + "}";
    for (size_t p; (p = text.find(key)) != std::string::npos;) text.replace(p, key.size(), value);
  }
  return json::parse(text);
}

// Size of the JSON text of an elided payload, as the adapters report it.
std::string bytes_of(std::string_view original_json) {
  return std::to_string(json::serialize(json::parse(original_json)).size());
}

RequestInfo parse_ok(Api api, const http::Request& req) {
  Result<RequestInfo> r = parse_request(api, req);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? r.value() : RequestInfo{};
}

std::vector<std::string> names(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

void expect_usage(const ResponseInfo& r, int64_t input, int64_t output, int64_t cache_read,
                  int64_t cache_write_5m, int64_t cache_write_1h, int64_t reasoning) {
  ASSERT_TRUE(r.usage.has_value());
  EXPECT_EQ(r.usage->input, input);
  EXPECT_EQ(r.usage->output, output);
  EXPECT_EQ(r.usage->cache_read, cache_read);
  EXPECT_EQ(r.usage->cache_write, cache_write_5m + cache_write_1h);
  EXPECT_EQ(r.usage->cache_write_5m, cache_write_5m);
  EXPECT_EQ(r.usage->cache_write_1h, cache_write_1h);
  EXPECT_EQ(r.usage->reasoning, reasoning);
}

void expect_calls(const ResponseInfo& r, const std::vector<ToolCall>& calls) {
  ASSERT_EQ(r.tool_calls.size(), calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(r.tool_calls[i].id, calls[i].id) << i;
    EXPECT_EQ(r.tool_calls[i].name, calls[i].name) << i;
    EXPECT_EQ(r.tool_calls[i].arguments, calls[i].arguments) << i;
  }
}

// Everything but the first-token time, which depends on how the body was split.
void expect_same_content(const ResponseInfo& a, const ResponseInfo& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.model, b.model);
  ASSERT_EQ(a.usage.has_value(), b.usage.has_value());
  if (a.usage) {
    EXPECT_EQ(to_json(*a.usage), to_json(*b.usage));
  }
  EXPECT_EQ(a.usage_missing, b.usage_missing);
  EXPECT_EQ(a.stop_reason, b.stop_reason);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.thinking, b.thinking);
  ASSERT_EQ(a.tool_calls.size(), b.tool_calls.size());
  for (size_t i = 0; i < a.tool_calls.size(); ++i)
    EXPECT_EQ(to_json(a.tool_calls[i]), to_json(b.tool_calls[i]));
  EXPECT_EQ(a.response_bytes, b.response_bytes);
  EXPECT_EQ(a.error, b.error);
}

// Re-parses a stream split into pieces of many sizes: same content, and the first token
// is timed by the piece that completed record `first_content`.
void check_splits(const RequestInfo& req, const Stream& s, size_t first_content,
                  const ResponseInfo& reference) {
  for (size_t size : {1, 2, 3, 5, 7, 13, 64, 1000, 1 << 20}) {
    SCOPED_TRACE("piece size " + std::to_string(size));
    ResponseInfo r = parse_response(req, response(200, "text/event-stream", split_every(s.body, size)));
    expect_same_content(r, reference);
    ASSERT_TRUE(r.t_first_token_ns.has_value());
    EXPECT_EQ(*r.t_first_token_ns, 1000 + s.done_at[first_content] / size);
  }
}

// ---------------------------------------------------------------------- detection

struct DetectCase {
  const char* method;
  const char* target;
  const char* host;
  const char* body;
  std::optional<Api> api;
  const char* provider;
};

TEST(LlmDetect, RecognisesLlmCallsByMethodPathAndBody) {
  const char* chat = R"({"model":"m","messages":[]})";
  const char* resp = R"({"model":"m","input":"hi"})";
  const DetectCase cases[] = {
      {"POST", "/v1/messages", "api.anthropic.com", chat, Api::anthropic_messages, "anthropic"},
      {"POST", "/v1/messages?beta=true", "api.anthropic.com", chat, Api::anthropic_messages, "anthropic"},
      {"POST", "/anthropic/v1/messages", "api.deepseek.com", chat, Api::anthropic_messages, "deepseek"},
      {"POST", "/api/anthropic/v1/messages", "proxy.internal:4000", chat, Api::anthropic_messages, "anthropic"},
      {"POST", "/v1/messages/count_tokens", "api.anthropic.com", chat, std::nullopt, ""},
      {"POST", "/v1/messages/batches", "api.anthropic.com", chat, std::nullopt, ""},
      {"GET", "/v1/models", "api.anthropic.com", "", std::nullopt, ""},
      {"POST", "/v1/chat/completions", "api.openai.com", chat, Api::openai_chat, "openai"},
      {"POST", "/v1/chat/completions", "API.OpenAI.com:443", chat, Api::openai_chat, "openai"},
      {"POST", "/api/v1/chat/completions", "openrouter.ai", chat, Api::openai_chat, "openrouter"},
      {"POST", "/v1beta/openai/chat/completions", "generativelanguage.googleapis.com", chat, Api::openai_chat, "google"},
      {"POST", "/v1/chat/completions", "localhost:8000", chat, Api::openai_chat, "openai_compatible"},
      {"POST", "/v1/chat/completions", "localhost:11434", chat, Api::openai_chat, "ollama"},
      {"POST", "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21", "acme.openai.azure.com", chat, Api::openai_chat, "azure"},
      {"POST", "/v1/embeddings", "api.openai.com", R"({"model":"m","input":"x"})", std::nullopt, ""},
      {"GET", "/v1/chat/completions", "api.openai.com", "", std::nullopt, ""},
      {"POST", "/v1/responses", "api.openai.com", resp, Api::openai_responses, "openai"},
      {"POST", "/v1/responses", "127.0.0.1:8080", resp, Api::openai_responses, "openai_compatible"},
      {"GET", "/v1/responses/resp_123", "api.openai.com", "", std::nullopt, ""},
      {"POST", "/survey/responses", "example.com", R"({"answer":3})", std::nullopt, ""},
      {"POST", "/v1beta/models/gemini-2.5-flash:generateContent", "generativelanguage.googleapis.com", R"({"contents":[]})", Api::gemini, "google"},
      {"POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "generativelanguage.googleapis.com", R"({"contents":[]})", Api::gemini, "google"},
      {"POST", "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent", "us-central1-aiplatform.googleapis.com", R"({"contents":[]})", Api::gemini, "vertex_ai"},
      {"POST", "/v1beta/models/gemini-2.5-flash:countTokens", "generativelanguage.googleapis.com", R"({"contents":[]})", std::nullopt, ""},
      {"POST", "/v1beta/models/text-embedding-004:embedContent", "generativelanguage.googleapis.com", R"({"content":{}})", std::nullopt, ""},
      {"POST", "/api/chat", "localhost:11434", chat, Api::ollama_chat, "ollama"},
      {"POST", "/api/chat", "gpu-box:8080", chat, Api::ollama_chat, "ollama"},
      {"POST", "/api/chat", "support.example.com", R"({"ticket":1,"text":"hi"})", std::nullopt, ""},
      {"POST", "/api/generate", "localhost:11434", R"({"model":"m","prompt":"p"})", std::nullopt, ""},
      {"POST", "/v1/chat/completions", "api.openai.com", "not json", std::nullopt, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target + " @" + c.host);
    http::Request req = post(c.target, c.host, c.body);
    req.method = c.method;
    std::optional<Api> api = detect(req);
    EXPECT_EQ(api, c.api);
    if (!api) continue;
    RequestInfo info = parse_ok(*api, req);
    EXPECT_EQ(info.provider, c.provider);
    EXPECT_EQ(info.host, c.host);
    EXPECT_EQ(info.endpoint, std::string(c.target).substr(0, std::string(c.target).find('?')));
  }
}

TEST(LlmDetect, ApiNames) {
  EXPECT_EQ(to_string(Api::anthropic_messages), "anthropic.messages");
  EXPECT_EQ(to_string(Api::openai_chat), "openai.chat");
  EXPECT_EQ(to_string(Api::openai_responses), "openai.responses");
  EXPECT_EQ(to_string(Api::gemini), "gemini.generate_content");
  EXPECT_EQ(to_string(Api::ollama_chat), "ollama.chat");
}

TEST(LlmJson, UsageAndToolCall) {
  Usage u;
  u.input = 1;
  u.output = 2;
  u.cache_read = 3;
  u.cache_write = 9;
  u.cache_write_5m = 4;
  u.cache_write_1h = 5;
  u.reasoning = 6;
  u.raw = {{"input_tokens", 1}};
  EXPECT_EQ(to_json(u), J(R"({"input":1,"output":2,"cache_read":3,"cache_write":9,
    "cache_write_5m":4,"cache_write_1h":5,"reasoning":6,"raw":{"input_tokens":1}})"));
  EXPECT_EQ(to_json(ToolCall{"call_1", "ls", R"({"a":1})"}),
            J(R"({"id":"call_1","name":"ls","arguments":"{\"a\":1}"})"));
}

// ---------------------------------------------------------------------- Anthropic

const char* kAnthropicImage =
    R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgoAAAANSUhEUg=="}})";
const char* kAnthropicDocument =
    R"({"type":"document","source":{"type":"text","media_type":"text/plain","data":"release notes"}})";

std::string anthropic_request_body(bool stream) {
  return std::string(R"({"model":"claude-sonnet-4-5-20250929","max_tokens":32000,)") +
         (stream ? R"("stream":true,)" : "") + R"(
  "system":[{"type":"text","text":"You are Claude Code, Anthropic's official CLI.","cache_control":{"type":"ephemeral"}},
            {"type":"text","text":"Answer briefly."}],
  "messages":[
    {"role":"user","content":"List the files here."},
    {"role":"assistant","content":[
      {"type":"thinking","thinking":"I should run ls.","signature":"EqQBCkYIBxgCKkAa"},
      {"type":"text","text":"Let me look."},
      {"type":"tool_use","id":"toolu_01A","name":"Bash","input":{"command":"ls -la","timeout":5}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"toolu_01A","content":[{"type":"text","text":"a.txt"},{"type":"text","text":"b.txt"}]},
      {"type":"tool_result","tool_use_id":"toolu_01Z","content":"permission denied","is_error":true},
      )" + kAnthropicImage + R"(,
      {"type":"text","text":"Now read a.txt","cache_control":{"type":"ephemeral"}}]},
    {"role":"assistant","content":[{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}]},
    {"role":"user","content":[)" + kAnthropicDocument + R"(]}],
  "tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}}}},
           {"name":"Read","input_schema":{"type":"object"}},
           {"type":"web_search_20250305","name":"web_search","max_uses":5}],
  "metadata":{"user_id":"u1"}})";
}

TEST(LlmAnthropic, RequestNormalisesEveryBlockKind) {
  http::Request req = post("/v1/messages?beta=true", "api.anthropic.com", anthropic_request_body(true));
  ASSERT_EQ(detect(req), Api::anthropic_messages);
  RequestInfo info = parse_ok(Api::anthropic_messages, req);
  EXPECT_EQ(info.api, Api::anthropic_messages);
  EXPECT_EQ(info.provider, "anthropic");
  EXPECT_EQ(info.host, "api.anthropic.com");
  EXPECT_EQ(info.endpoint, "/v1/messages");
  EXPECT_EQ(info.model, "claude-sonnet-4-5-20250929");
  EXPECT_TRUE(info.stream);
  EXPECT_FALSE(info.include_usage);
  EXPECT_EQ(info.request_bytes, req.body.size());
  EXPECT_EQ(json::value(info.system), J(R"([
    {"type":"text","text":"You are Claude Code, Anthropic's official CLI."},
    {"type":"text","text":"Answer briefly."}])"));
  EXPECT_EQ(json::value(info.messages), J(R"([
    {"role":"user","content":[{"type":"text","text":"List the files here."}]},
    {"role":"assistant","content":[
      {"type":"thinking","text":"I should run ls."},
      {"type":"text","text":"Let me look."},
      {"type":"tool_use","id":"toolu_01A","name":"Bash","arguments":"{\"command\":\"ls -la\",\"timeout\":5}"}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"toolu_01A","name":"Bash","content":"a.txt\nb.txt","is_error":false},
      {"type":"tool_result","tool_use_id":"toolu_01Z","content":"permission denied","is_error":true},
      {"type":"image","bytes":${IMG}},
      {"type":"text","text":"Now read a.txt"}]},
    {"role":"assistant","content":[{"type":"thinking","text":"","redacted":true}]},
    {"role":"user","content":[{"type":"document","bytes":${DOC}}]}])",
                                          {{"IMG", bytes_of(kAnthropicImage)},
                                           {"DOC", bytes_of(kAnthropicDocument)}}));
  EXPECT_EQ(info.tools, names({"Bash", "Read", "web_search"}));
}

TEST(LlmAnthropic, NonStreamingResponse) {
  RequestInfo req = parse_ok(Api::anthropic_messages,
                             post("/v1/messages", "api.anthropic.com", anthropic_request_body(false)));
  EXPECT_FALSE(req.stream);
  std::string body = R"({"id":"msg_01Y","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
    "content":[{"type":"thinking","thinking":"Read it with the Read tool.","signature":"sig=="},
               {"type":"text","text":"Reading a.txt."},
               {"type":"tool_use","id":"toolu_01D","name":"Read","input":{"file_path":"/w/a.txt","limit":200}}],
    "stop_reason":"tool_use","stop_sequence":null,
    "usage":{"input_tokens":30,"cache_creation_input_tokens":500,"cache_read_input_tokens":12000,"output_tokens":61,"service_tier":"standard"}})";
  ResponseInfo r = parse_response(req, whole(200, body, 777));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "claude-sonnet-4-5-20250929");
  expect_usage(r, 30, 61, 12000, 500, 0, 0);  // no TTL split: all cache writes are 5-minute
  EXPECT_EQ(r.usage->raw, J(body).as_object().at("usage").as_object());
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "tool_use");
  EXPECT_EQ(r.text, "Reading a.txt.");
  EXPECT_EQ(r.thinking, "Read it with the Read tool.");
  expect_calls(r, {{"toolu_01D", "Read", R"({"file_path":"/w/a.txt","limit":200})"}});
  EXPECT_EQ(r.t_first_token_ns, 777u);
  EXPECT_EQ(r.response_bytes, body.size());
  EXPECT_EQ(r.error, "");
}

Stream anthropic_stream() {
  Stream s;
  s.event("message_start", R"({"type":"message_start","message":{"id":"msg_01X","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":2048,"cache_read_input_tokens":10000,"cache_creation":{"ephemeral_5m_input_tokens":2000,"ephemeral_1h_input_tokens":48},"output_tokens":1,"service_tier":"standard"}}})")
      .event("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}})")
      .event("ping", R"({"type": "ping"})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants "}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"a.txt read."}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM"}})")
      .event("content_block_stop", R"({"type":"content_block_stop","index":0})")
      .event("content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Reading "}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"it — now."}})")
      .event("content_block_stop", R"({"type":"content_block_stop","index":1})")
      .event("content_block_start", R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01C","name":"Read","input":{}}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"file_path\": \"/w/"}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"a.txt\"}"}})")
      .event("content_block_stop", R"({"type":"content_block_stop","index":2})")
      .event("content_block_start", R"({"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_01E","name":"TodoRead","input":{}}})")
      .event("content_block_stop", R"({"type":"content_block_stop","index":3})")
      .event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":40}})")
      .event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":12,"cache_creation_input_tokens":2048,"cache_read_input_tokens":10000,"output_tokens":87,"server_tool_use":null}})")
      .event("message_stop", R"({"type":"message_stop"})");
  return s;
}

TEST(LlmAnthropic, StreamingResponseTakesLatestCumulativeUsage) {
  RequestInfo req = parse_ok(Api::anthropic_messages,
                             post("/v1/messages", "api.anthropic.com", anthropic_request_body(true)));
  Stream s = anthropic_stream();
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "claude-sonnet-4-5-20250929");
  // Two message_delta events: output 87 is the latest cumulative value, not 40 + 87 (or + 1).
  expect_usage(r, 12, 87, 10000, 2000, 48, 0);
  EXPECT_EQ(r.usage->raw.at("output_tokens").as_int64(), 87);
  EXPECT_EQ(r.usage->raw.at("input_tokens").as_int64(), 12);
  EXPECT_EQ(r.usage->raw.at("service_tier").as_string(), "standard");  // kept from message_start
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "tool_use");
  EXPECT_EQ(r.text, "Reading it — now.");
  EXPECT_EQ(r.thinking, "The user wants a.txt read.");
  expect_calls(r, {{"toolu_01C", "Read", R"({"file_path": "/w/a.txt"})"},
                   {"toolu_01E", "TodoRead", "{}"}});
  EXPECT_EQ(r.t_first_token_ns, 400u);  // the first thinking_delta, record 3
  EXPECT_EQ(r.response_bytes, s.body.size());
  EXPECT_EQ(r.error, "");
  check_splits(req, s, 3, r);
}

TEST(LlmAnthropic, FirstTokenCanBeAToolCall) {
  RequestInfo req;
  req.api = Api::anthropic_messages;
  Stream s;
  s.event("message_start", R"({"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":5,"output_tokens":1}}})")
      .event("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"ls","input":{}}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}})")
      .event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}})")
      .event("message_stop", R"({"type":"message_stop"})");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.t_first_token_ns, 200u);
  expect_calls(r, {{"toolu_9", "ls", "{}"}});
  expect_usage(r, 5, 9, 0, 0, 0, 0);
}

TEST(LlmAnthropic, TruncatedStreamKeepsWhatArrived) {
  RequestInfo req;
  req.api = Api::anthropic_messages;
  Stream full = anthropic_stream();
  size_t cut = full.done_at[9] + 1 + 20;  // after "Reading it — now." and into the next event
  http::Response resp = response(200, "text/event-stream", split_every(full.body.substr(0, cut), 50));
  resp.complete = false;
  ResponseInfo r = parse_response(req, resp);
  EXPECT_EQ(r.text, "Reading it — now.");
  EXPECT_EQ(r.thinking, "The user wants a.txt read.");
  EXPECT_TRUE(r.tool_calls.empty());
  expect_usage(r, 12, 1, 10000, 2000, 48, 0);  // only message_start's usage arrived
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "");
  EXPECT_NE(r.error.find("truncated"), std::string::npos) << r.error;
}

TEST(LlmAnthropic, ErrorEventInStream) {
  RequestInfo req;
  req.api = Api::anthropic_messages;
  Stream s;
  s.event("message_start", R"({"type":"message_start","message":{"model":"claude-opus-4-1","usage":{"input_tokens":900,"output_tokens":1}}})")
      .event("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})")
      .event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})")
      .event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.text, "Hel");
  EXPECT_EQ(J(r.error), J(R"({"type":"overloaded_error","message":"Overloaded"})"));
}

TEST(LlmAnthropic, RateLimitErrorResponse) {
  RequestInfo req;
  req.api = Api::anthropic_messages;
  req.stream = true;
  std::string body = R"({"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 450,000 input tokens per minute."}})";
  ResponseInfo r = parse_response(req, whole(429, body));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.error, body);
  EXPECT_FALSE(r.usage.has_value());
  EXPECT_FALSE(r.usage_missing);  // an error is not a missing-usage success
  EXPECT_FALSE(r.t_first_token_ns.has_value());
  EXPECT_EQ(r.response_bytes, body.size());
}

// ---------------------------------------------------------------------- OpenAI chat

const char* kChatImagePart = R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}})";

std::string chat_request_body(bool stream, bool include_usage) {
  std::string opts = stream ? std::string(R"("stream":true,)") +
                                  (include_usage ? R"("stream_options":{"include_usage":true},)" : "")
                            : "";
  return R"({"model":"gpt-4o-2024-08-06",)" + opts + R"("temperature":0,
  "messages":[
    {"role":"system","content":"You are a helpful coding assistant."},
    {"role":"developer","content":[{"type":"text","text":"Use the tools."}]},
    {"role":"user","content":[{"type":"text","text":"What is in a.txt and this image?"},)" + kChatImagePart + R"(]},
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"call_abc","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"a.txt\"}"}},
      {"id":"call_def","type":"function","function":{"name":"list_dir","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"call_abc","content":"hello world"},
    {"role":"tool","tool_call_id":"call_def","content":[{"type":"text","text":"a.txt"},{"type":"text","text":"b.txt"}]},
    {"role":"assistant","content":"a.txt says hello world.","refusal":null},
    {"role":"user","content":"thanks"}],
  "tools":[{"type":"function","function":{"name":"read_file","description":"Read","parameters":{"type":"object"}}},
           {"type":"function","function":{"name":"list_dir","parameters":{"type":"object"}}}]})";
}

TEST(LlmOpenAIChat, RequestNormalisesRolesAndToolResults) {
  http::Request req = post("/v1/chat/completions", "api.openai.com", chat_request_body(true, true));
  ASSERT_EQ(detect(req), Api::openai_chat);
  RequestInfo info = parse_ok(Api::openai_chat, req);
  EXPECT_EQ(info.api, Api::openai_chat);
  EXPECT_EQ(info.provider, "openai");
  EXPECT_EQ(info.host, "api.openai.com");
  EXPECT_EQ(info.endpoint, "/v1/chat/completions");
  EXPECT_EQ(info.model, "gpt-4o-2024-08-06");
  EXPECT_TRUE(info.stream);
  EXPECT_TRUE(info.include_usage);
  EXPECT_EQ(info.request_bytes, req.body.size());
  EXPECT_EQ(json::value(info.system), J(R"([
    {"type":"text","text":"You are a helpful coding assistant."},{"type":"text","text":"Use the tools."}])"));
  EXPECT_EQ(json::value(info.messages), J(R"([
    {"role":"user","content":[{"type":"text","text":"What is in a.txt and this image?"},{"type":"image","bytes":${IMG}}]},
    {"role":"assistant","content":[
      {"type":"tool_use","id":"call_abc","name":"read_file","arguments":"{\"path\":\"a.txt\"}"},
      {"type":"tool_use","id":"call_def","name":"list_dir","arguments":"{}"}]},
    {"role":"tool","content":[{"type":"tool_result","tool_use_id":"call_abc","name":"read_file","content":"hello world","is_error":false}]},
    {"role":"tool","content":[{"type":"tool_result","tool_use_id":"call_def","name":"list_dir","content":"a.txt\nb.txt","is_error":false}]},
    {"role":"assistant","content":[{"type":"text","text":"a.txt says hello world."}]},
    {"role":"user","content":[{"type":"text","text":"thanks"}]}])",
                                          {{"IMG", bytes_of(kChatImagePart)}}));
  EXPECT_EQ(info.tools, names({"read_file", "list_dir"}));

  RequestInfo plain = parse_ok(Api::openai_chat, post("/v1/chat/completions", "api.openai.com",
                                                      chat_request_body(false, false)));
  EXPECT_FALSE(plain.stream);
  EXPECT_FALSE(plain.include_usage);
}

TEST(LlmOpenAIChat, NonStreamingResponseWithReasoningAndCache) {
  RequestInfo req = parse_ok(Api::openai_chat, post("/v1/chat/completions", "api.openai.com",
                                                    chat_request_body(false, false)));
  std::string body = R"({"id":"chatcmpl-B9","object":"chat.completion","created":1741570283,"model":"o3-mini-2025-01-31",
    "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"annotations":[],
      "tool_calls":[{"id":"call_Xy","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"b.txt\"}"}}]},
      "logprobs":null,"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":2500,"completion_tokens":900,"total_tokens":3400,
      "prompt_tokens_details":{"cached_tokens":2048,"audio_tokens":0},
      "completion_tokens_details":{"reasoning_tokens":768,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
    "service_tier":"default","system_fingerprint":"fp_42"})";
  ResponseInfo r = parse_response(req, whole(200, body, 900));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "o3-mini-2025-01-31");
  // prompt includes cached; completion includes reasoning.
  expect_usage(r, 2500 - 2048, 900, 2048, 0, 0, 768);
  EXPECT_EQ(r.usage->raw, J(body).as_object().at("usage").as_object());
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "tool_calls");
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.thinking, "");
  expect_calls(r, {{"call_Xy", "read_file", R"({"path":"b.txt"})"}});
  EXPECT_EQ(r.t_first_token_ns, 900u);
  EXPECT_EQ(r.response_bytes, body.size());
  EXPECT_EQ(r.error, "");
}

Stream chat_stream(bool with_usage) {
  const char* head = R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1",)";
  auto chunk = [&](std::string choices, const char* usage = "null") {
    return std::string(head) + R"("choices":)" + choices + R"(,"usage":)" + usage + "}";
  };
  Stream s;
  s.data(chunk(R"([{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{"content":"Let me "},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{"content":"check."},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"read_file","arguments":""}}]},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"list_dir","arguments":""}}]},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"a.txt\"}"}}]},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"logprobs":null,"finish_reason":null}])"))
      .data(chunk(R"([{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}])"));
  if (with_usage)
    s.data(chunk("[]", R"({"prompt_tokens":1200,"completion_tokens":80,"total_tokens":1280,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}})"));
  s.data("[DONE]");
  return s;
}

TEST(LlmOpenAIChat, StreamingResponseMergesToolCallsByIndex) {
  RequestInfo req = parse_ok(Api::openai_chat, post("/v1/chat/completions", "api.openai.com",
                                                    chat_request_body(true, true)));
  Stream s = chat_stream(true);
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "gpt-4o-2024-08-06");
  expect_usage(r, 1200 - 1024, 80, 1024, 0, 0, 0);
  EXPECT_EQ(r.usage->raw.at("total_tokens").as_int64(), 1280);
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "tool_calls");
  EXPECT_EQ(r.text, "Let me check.");
  EXPECT_EQ(r.thinking, "");
  expect_calls(r, {{"call_1", "read_file", R"({"path": "a.txt"})"}, {"call_2", "list_dir", "{}"}});
  EXPECT_EQ(r.t_first_token_ns, 200u);  // the empty first delta is not a token
  EXPECT_EQ(r.response_bytes, s.body.size());
  EXPECT_EQ(r.error, "");
  check_splits(req, s, 1, r);
}

TEST(LlmOpenAIChat, StreamWithoutIncludeUsageFlagsUsageMissing) {
  RequestInfo req = parse_ok(Api::openai_chat, post("/v1/chat/completions", "api.openai.com",
                                                    chat_request_body(true, false)));
  EXPECT_FALSE(req.include_usage);
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(chat_stream(false))));
  EXPECT_FALSE(r.usage.has_value());
  EXPECT_TRUE(r.usage_missing);
  EXPECT_EQ(r.error, "");  // a complete stream: nothing is wrong but the missing usage
  EXPECT_EQ(r.text, "Let me check.");
  EXPECT_EQ(r.tool_calls.size(), 2u);
}

TEST(LlmOpenAIChat, TruncatedStream) {
  RequestInfo req;
  req.api = Api::openai_chat;
  Stream full = chat_stream(true);
  std::string cut = full.body.substr(0, full.done_at[4] + 30);
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", split_every(cut, 17)));
  EXPECT_EQ(r.text, "Let me check.");
  expect_calls(r, {{"call_1", "read_file", R"({"path":)"}});  // the arguments so far
  EXPECT_FALSE(r.usage.has_value());
  EXPECT_TRUE(r.usage_missing);
  EXPECT_NE(r.error.find("truncated"), std::string::npos) << r.error;
}

TEST(LlmOpenAIChat, OpenRouterReasoningAndCacheWrite) {
  http::Request http_req = post("/api/v1/chat/completions", "openrouter.ai",
                                R"({"model":"anthropic/claude-sonnet-4.5","stream":true,
                                   "messages":[{"role":"user","content":"hi"}],"reasoning":{"max_tokens":2000}})");
  ASSERT_EQ(detect(http_req), Api::openai_chat);
  RequestInfo req = parse_ok(Api::openai_chat, http_req);
  EXPECT_EQ(req.provider, "openrouter");
  EXPECT_EQ(req.model, "anthropic/claude-sonnet-4.5");
  Stream s;
  s.raw(": OPENROUTER PROCESSING\n\n")
      .data(R"({"id":"gen-1","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Greeting; ","reasoning_details":[]},"finish_reason":null,"native_finish_reason":null}]})")
      .data(R"({"id":"gen-1","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"reply kindly."},"finish_reason":null}]})")
      .data(R"({"id":"gen-1","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello!"},"finish_reason":null}]})")
      .data(R"({"id":"gen-1","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop","native_finish_reason":"end_turn"}]})")
      .data(R"({"id":"gen-1","model":"anthropic/claude-sonnet-4.5","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5194,"completion_tokens":42,"total_tokens":5236,"cost":0.0171,"prompt_tokens_details":{"cached_tokens":3000,"cache_write_tokens":2000,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":30}}})")
      .data("[DONE]");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.thinking, "Greeting; reply kindly.");
  EXPECT_EQ(r.text, "Hello!");
  EXPECT_EQ(r.stop_reason, "stop");
  expect_usage(r, 5194 - 3000 - 2000, 42, 3000, 2000, 0, 30);
  EXPECT_EQ(r.t_first_token_ns, 100u);
  EXPECT_EQ(r.error, "");
}

TEST(LlmOpenAIChat, VllmReasoningContentAndDeepSeekCacheHits) {
  RequestInfo req;
  req.api = Api::openai_chat;
  Stream s;
  s.data(R"({"id":"c","object":"chat.completion.chunk","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":"Think."},"finish_reason":null}]})")
      .data(R"({"id":"c","object":"chat.completion.chunk","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36,"completion_tokens_details":{"reasoning_tokens":15}}})")
      .data("[DONE]");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.thinking, "Think.");
  EXPECT_EQ(r.text, "42");
  expect_usage(r, 36, 20, 64, 0, 0, 15);
}

TEST(LlmOpenAIChat, ServersThatOmitToolCallIndex) {
  RequestInfo req;
  req.api = Api::openai_chat;
  Stream s;
  s.data(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}}]})")
      .data(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b2","type":"function","function":{"name":"g","arguments":"{\"y\""}}]}}]})")
      .data(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":":2}"}}]}}]})")
      .data(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a1","function":{"arguments":""}}]},"finish_reason":"tool_calls"}]})")
      .data("[DONE]");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  expect_calls(r, {{"a1", "f", R"({"x":1})"}, {"b2", "g", R"({"y":2})"}});
}

TEST(LlmOpenAIChat, RateLimitErrorResponse) {
  RequestInfo req;
  req.api = Api::openai_chat;
  req.stream = true;
  std::string body = R"({
    "error": {
        "message": "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000.",
        "type": "tokens",
        "param": null,
        "code": "rate_limit_exceeded"
    }
})";
  ResponseInfo r = parse_response(req, whole(429, body));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.error, body);
  EXPECT_FALSE(r.usage.has_value());
  EXPECT_FALSE(r.usage_missing);
}

TEST(LlmOpenAIChat, ErrorChunkInsideStream) {
  RequestInfo req;
  req.api = Api::openai_chat;
  Stream s;
  s.data(R"({"choices":[{"index":0,"delta":{"content":"Hi"}}]})")
      .data(R"({"error":{"message":"upstream timeout","code":502}})");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.text, "Hi");
  EXPECT_EQ(J(r.error), J(R"({"message":"upstream timeout","code":502})"));
}

// ------------------------------------------------------------------ OpenAI Responses

const char* kResponsesImage = R"({"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"auto"})";
const char* kWebSearchItem = R"({"type":"web_search_call","id":"ws_1","status":"completed"})";

std::string responses_request_body() {
  return std::string(R"({"model":"gpt-5","instructions":"You are a coding agent.","stream":true,"store":false,
  "input":[
    {"role":"developer","content":"Prefer small diffs."},
    {"type":"message","role":"user","content":[{"type":"input_text","text":"Fix the bug"},)") +
         kResponsesImage + R"(]},
    {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Look at main.c"}],"encrypted_content":"gAAAAB"},
    {"type":"function_call","id":"fc_1","call_id":"call_A","name":"shell","arguments":"{\"cmd\":[\"cat\",\"main.c\"]}"},
    {"type":"function_call_output","call_id":"call_A","output":"int main(){}"},
    )" + kWebSearchItem + R"(,
    {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Found it.","annotations":[]}]},
    {"role":"user","content":"apply it"}],
  "tools":[{"type":"function","name":"shell","parameters":{"type":"object"}},
           {"type":"web_search_preview"},
           {"type":"mcp","server_label":"deepwiki","server_url":"https://mcp.deepwiki.com/mcp"}],
  "reasoning":{"effort":"medium","summary":"auto"}})";
}

TEST(LlmOpenAIResponses, RequestNormalisesItems) {
  http::Request req = post("/v1/responses", "api.openai.com", responses_request_body());
  ASSERT_EQ(detect(req), Api::openai_responses);
  RequestInfo info = parse_ok(Api::openai_responses, req);
  EXPECT_EQ(info.api, Api::openai_responses);
  EXPECT_EQ(info.provider, "openai");
  EXPECT_EQ(info.host, "api.openai.com");
  EXPECT_EQ(info.endpoint, "/v1/responses");
  EXPECT_EQ(info.model, "gpt-5");
  EXPECT_TRUE(info.stream);
  EXPECT_FALSE(info.include_usage);
  EXPECT_EQ(info.request_bytes, req.body.size());
  EXPECT_EQ(json::value(info.system), J(R"([
    {"type":"text","text":"You are a coding agent."},{"type":"text","text":"Prefer small diffs."}])"));
  EXPECT_EQ(json::value(info.messages), J(R"([
    {"role":"user","content":[{"type":"text","text":"Fix the bug"},{"type":"image","bytes":${IMG}}]},
    {"role":"assistant","content":[{"type":"thinking","text":"Look at main.c"}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"call_A","name":"shell","arguments":"{\"cmd\":[\"cat\",\"main.c\"]}"}]},
    {"role":"tool","content":[{"type":"tool_result","tool_use_id":"call_A","name":"shell","content":"int main(){}","is_error":false}]},
    {"role":"assistant","content":[{"type":"other","bytes":${WS},"kind":"web_search_call"}]},
    {"role":"assistant","content":[{"type":"text","text":"Found it."}]},
    {"role":"user","content":[{"type":"text","text":"apply it"}]}])",
                                          {{"IMG", bytes_of(kResponsesImage)},
                                           {"WS", bytes_of(kWebSearchItem)}}));
  EXPECT_EQ(info.tools, names({"shell", "web_search_preview", "deepwiki"}));

  RequestInfo simple = parse_ok(Api::openai_responses,
                                post("/v1/responses", "api.openai.com", R"({"model":"gpt-4.1","input":"Say hi"})"));
  EXPECT_FALSE(simple.stream);
  EXPECT_EQ(json::value(simple.messages), J(R"([{"role":"user","content":[{"type":"text","text":"Say hi"}]}])"));
}

const char* kResponsesOutput = R"([
  {"id":"rs_2","type":"reasoning","summary":[{"type":"summary_text","text":"Need to patch."}]},
  {"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Patching now.","annotations":[]}]},
  {"id":"fc_2","type":"function_call","status":"completed","arguments":"{\"patch\":\"--- a\"}","call_id":"call_B","name":"apply_patch"}])";
const char* kResponsesUsage = R"({"input_tokens":5000,"input_tokens_details":{"cached_tokens":4096},"output_tokens":350,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":5350})";

TEST(LlmOpenAIResponses, NonStreamingResponse) {
  RequestInfo req;
  req.api = Api::openai_responses;
  std::string body = std::string(R"({"id":"resp_1","object":"response","created_at":1756000000,"status":"completed","error":null,
    "incomplete_details":null,"model":"gpt-5-2025-08-07","output":)") + kResponsesOutput +
                     R"(,"parallel_tool_calls":true,"usage":)" + kResponsesUsage + "}";
  ResponseInfo r = parse_response(req, whole(200, body, 321));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "gpt-5-2025-08-07");
  expect_usage(r, 5000 - 4096, 350, 4096, 0, 0, 256);
  EXPECT_EQ(r.usage->raw, J(kResponsesUsage));
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "completed");
  EXPECT_EQ(r.text, "Patching now.");
  EXPECT_EQ(r.thinking, "Need to patch.");
  expect_calls(r, {{"call_B", "apply_patch", R"({"patch":"--- a"})"}});
  EXPECT_EQ(r.t_first_token_ns, 321u);
  EXPECT_EQ(r.response_bytes, body.size());
  EXPECT_EQ(r.error, "");
}

// A streamed response up to (not including) its final event.
Stream responses_stream_body() {
  Stream s;
  s.event("response.created", R"({"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-2025-08-07","output":[],"usage":null}})")
      .event("response.in_progress", R"({"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"in_progress","model":"gpt-5-2025-08-07","output":[],"usage":null}})")
      .event("response.output_item.added", R"({"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"rs_2","type":"reasoning","summary":[]}})")
      .event("response.reasoning_summary_part.added", R"({"type":"response.reasoning_summary_part.added","sequence_number":3,"item_id":"rs_2","output_index":0,"summary_index":0,"part":{"type":"summary_text","text":""}})")
      .event("response.reasoning_summary_text.delta", R"({"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_2","output_index":0,"summary_index":0,"delta":"Need to patch."})")
      .event("response.reasoning_summary_text.done", R"({"type":"response.reasoning_summary_text.done","sequence_number":5,"item_id":"rs_2","output_index":0,"summary_index":0,"text":"Need to patch."})")
      .event("response.output_item.done", R"({"type":"response.output_item.done","sequence_number":6,"output_index":0,"item":{"id":"rs_2","type":"reasoning","summary":[{"type":"summary_text","text":"Need to patch."}]}})")
      .event("response.output_item.added", R"({"type":"response.output_item.added","sequence_number":7,"output_index":1,"item":{"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]}})")
      .event("response.content_part.added", R"({"type":"response.content_part.added","sequence_number":8,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}})")
      .event("response.output_text.delta", R"({"type":"response.output_text.delta","sequence_number":9,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Patching ","logprobs":[]})")
      .event("response.output_text.delta", R"({"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"now.","logprobs":[]})")
      .event("response.output_text.done", R"({"type":"response.output_text.done","sequence_number":11,"item_id":"msg_1","output_index":1,"content_index":0,"text":"Patching now."})")
      .event("response.content_part.done", R"({"type":"response.content_part.done","sequence_number":12,"item_id":"msg_1","output_index":1,"content_index":0,"part":{"type":"output_text","text":"Patching now.","annotations":[]}})")
      .event("response.output_item.done", R"({"type":"response.output_item.done","sequence_number":13,"output_index":1,"item":{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Patching now.","annotations":[]}]}})")
      .event("response.output_item.added", R"({"type":"response.output_item.added","sequence_number":14,"output_index":2,"item":{"id":"fc_2","type":"function_call","status":"in_progress","arguments":"","call_id":"call_B","name":"apply_patch"}})")
      .event("response.function_call_arguments.delta", R"({"type":"response.function_call_arguments.delta","sequence_number":15,"item_id":"fc_2","output_index":2,"delta":"{\"patch\":"})")
      .event("response.function_call_arguments.delta", R"({"type":"response.function_call_arguments.delta","sequence_number":16,"item_id":"fc_2","output_index":2,"delta":"\"--- a\"}"})")
      .event("response.function_call_arguments.done", R"({"type":"response.function_call_arguments.done","sequence_number":17,"item_id":"fc_2","output_index":2,"arguments":"{\"patch\":\"--- a\"}"})")
      .event("response.output_item.done", R"({"type":"response.output_item.done","sequence_number":18,"output_index":2,"item":{"id":"fc_2","type":"function_call","status":"completed","arguments":"{\"patch\":\"--- a\"}","call_id":"call_B","name":"apply_patch"}})");
  return s;
}

TEST(LlmOpenAIResponses, StreamingResponse) {
  RequestInfo req = parse_ok(Api::openai_responses, post("/v1/responses", "api.openai.com", responses_request_body()));
  Stream s = responses_stream_body();
  // One line of JSON, as servers send it.
  s.event("response.completed", json::serialize(J(std::string(R"({"type":"response.completed","sequence_number":19,"response":{"id":"resp_1","object":"response","status":"completed","error":null,"incomplete_details":null,"model":"gpt-5-2025-08-07","output":)") +
                                                  kResponsesOutput + R"(,"usage":)" + kResponsesUsage + "}}")));
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "gpt-5-2025-08-07");
  expect_usage(r, 5000 - 4096, 350, 4096, 0, 0, 256);
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "completed");
  EXPECT_EQ(r.text, "Patching now.");
  EXPECT_EQ(r.thinking, "Need to patch.");
  expect_calls(r, {{"call_B", "apply_patch", R"({"patch":"--- a"})"}});
  EXPECT_EQ(r.t_first_token_ns, 500u);  // the reasoning summary delta, record 4
  EXPECT_EQ(r.response_bytes, s.body.size());
  EXPECT_EQ(r.error, "");
  check_splits(req, s, 4, r);
}

TEST(LlmOpenAIResponses, IncompleteResponseReportsItsReason) {
  RequestInfo req;
  req.api = Api::openai_responses;
  Stream s;
  s.event("response.output_item.added", R"({"type":"response.output_item.added","sequence_number":0,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[]}})")
      .event("response.output_text.delta", R"({"type":"response.output_text.delta","sequence_number":1,"output_index":0,"content_index":0,"delta":"A very long"})")
      .event("response.incomplete", R"({"type":"response.incomplete","sequence_number":2,"response":{"id":"resp_2","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-5-mini","output":[{"id":"msg_1","type":"message","status":"incomplete","role":"assistant","content":[{"type":"output_text","text":"A very long","annotations":[]}]}],"usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":0},"output_tokens":16,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":56}}})");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.stop_reason, "max_output_tokens");
  EXPECT_EQ(r.text, "A very long");
  EXPECT_EQ(r.model, "gpt-5-mini");
  expect_usage(r, 40, 16, 0, 0, 0, 0);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.t_first_token_ns, 200u);
}

TEST(LlmOpenAIResponses, FailedResponseCarriesItsError) {
  RequestInfo req;
  req.api = Api::openai_responses;
  Stream s;
  s.event("response.failed", R"({"type":"response.failed","sequence_number":1,"response":{"id":"resp_3","status":"failed","error":{"code":"server_error","message":"The model failed."},"incomplete_details":null,"model":"gpt-5","output":[],"usage":null}})");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.stop_reason, "failed");
  EXPECT_EQ(J(r.error), J(R"({"code":"server_error","message":"The model failed."})"));
  EXPECT_FALSE(r.usage.has_value());
  EXPECT_TRUE(r.usage_missing);
}

TEST(LlmOpenAIResponses, TruncatedStreamKeepsItemsSoFar) {
  RequestInfo req;
  req.api = Api::openai_responses;
  Stream full = responses_stream_body();
  std::string cut = full.body.substr(0, full.done_at[15] + 1);  // mid function-call arguments
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", split_every(cut, 33)));
  EXPECT_EQ(r.text, "Patching now.");
  EXPECT_EQ(r.thinking, "Need to patch.");
  expect_calls(r, {{"call_B", "apply_patch", R"({"patch":)"}});
  EXPECT_EQ(r.model, "gpt-5-2025-08-07");
  EXPECT_FALSE(r.usage.has_value());
  EXPECT_TRUE(r.usage_missing);
  EXPECT_NE(r.error.find("truncated"), std::string::npos) << r.error;
}

TEST(LlmOpenAIResponses, ErrorEventAndHttpError) {
  RequestInfo req;
  req.api = Api::openai_responses;
  Stream s;
  s.event("error", R"({"type":"error","sequence_number":2,"code":"rate_limit_exceeded","message":"Slow down","param":null})");
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_NE(r.error.find("rate_limit_exceeded"), std::string::npos);
  EXPECT_EQ(r.error.find("truncated"), std::string::npos);

  std::string body = R"({"error":{"message":"Invalid 'input[2].call_id'","type":"invalid_request_error","param":"input[2].call_id","code":null}})";
  ResponseInfo bad = parse_response(req, whole(400, body));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.error, body);
  EXPECT_FALSE(bad.usage_missing);
}

// ----------------------------------------------------------------------- Gemini

const char* kGeminiImage = R"({"inlineData":{"mimeType":"image/jpeg","data":"/9j/4AAQSkZJRg=="}})";

std::string gemini_request_body() {
  return std::string(R"({
  "systemInstruction":{"parts":[{"text":"You are a helpful agent."},{"text":"Be terse."}]},
  "contents":[
    {"role":"user","parts":[{"text":"Weather in Paris? See photo."},)") + kGeminiImage + R"(]},
    {"role":"model","parts":[{"text":"Checking the weather tool","thought":true},
                             {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"CiQBcsjafA"}]},
    {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"18C, cloudy"}}}]},
    {"role":"model","parts":[{"functionCall":{"id":"fc-7","name":"get_time","args":{}}}]},
    {"role":"user","parts":[{"functionResponse":{"id":"fc-7","name":"get_time","response":{"hour":14,"tz":"CET"}}}]}],
  "tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT"}},{"name":"get_time"}]},
           {"googleSearch":{}}],
  "generationConfig":{"thinkingConfig":{"includeThoughts":true,"thinkingBudget":1024}}})";
}

TEST(LlmGemini, RequestTakesModelFromPathAndNeverTheKey) {
  http::Request req = post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=AIzaSyDUMMYSECRET",
                           "generativelanguage.googleapis.com", gemini_request_body());
  ASSERT_EQ(detect(req), Api::gemini);
  RequestInfo info = parse_ok(Api::gemini, req);
  EXPECT_EQ(info.api, Api::gemini);
  EXPECT_EQ(info.provider, "google");
  EXPECT_EQ(info.host, "generativelanguage.googleapis.com");
  EXPECT_EQ(info.endpoint, "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
  EXPECT_EQ(info.model, "gemini-2.5-flash");
  EXPECT_TRUE(info.stream);
  EXPECT_FALSE(info.include_usage);
  EXPECT_EQ(info.request_bytes, req.body.size());
  EXPECT_EQ(json::value(info.system), J(R"([
    {"type":"text","text":"You are a helpful agent."},{"type":"text","text":"Be terse."}])"));
  EXPECT_EQ(json::value(info.messages), J(R"([
    {"role":"user","content":[{"type":"text","text":"Weather in Paris? See photo."},{"type":"image","bytes":${IMG}}]},
    {"role":"assistant","content":[{"type":"thinking","text":"Checking the weather tool"},
      {"type":"tool_use","id":"","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"","name":"get_weather","content":"18C, cloudy","is_error":false}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"fc-7","name":"get_time","arguments":"{}"}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"fc-7","name":"get_time","content":"{\"hour\":14,\"tz\":\"CET\"}","is_error":false}]}])",
                                          {{"IMG", bytes_of(kGeminiImage)}}));
  EXPECT_EQ(info.tools, names({"get_weather", "get_time", "googleSearch"}));
  EXPECT_EQ(json::serialize(info.messages).find("AIza"), std::string::npos);

  RequestInfo vertex = parse_ok(Api::gemini, post("/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001:generateContent",
                                                  "us-central1-aiplatform.googleapis.com", R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})"));
  EXPECT_EQ(vertex.model, "gemini-2.0-flash-001");
  EXPECT_FALSE(vertex.stream);
}

const char* kGeminiFinalUsage = R"({"promptTokenCount":1200,"candidatesTokenCount":12,"totalTokenCount":1342,"cachedContentTokenCount":1000,"thoughtsTokenCount":130,"promptTokensDetails":[{"modality":"TEXT","tokenCount":1200}],"cacheTokensDetails":[{"modality":"TEXT","tokenCount":1000}]})";

Stream gemini_sse() {
  Stream s;
  s.data(R"({"candidates": [{"content": {"parts": [{"text": "**Checking weather**\n","thought": true}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 1200,"totalTokenCount": 1330,"cachedContentTokenCount": 1000,"thoughtsTokenCount": 130},"modelVersion": "gemini-2.5-flash","responseId": "rS2mZ"})", true)
      .data(R"({"candidates": [{"content": {"parts": [{"text": "It is 18C "}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 1200,"candidatesTokenCount": 5,"totalTokenCount": 1335,"thoughtsTokenCount": 130},"modelVersion": "gemini-2.5-flash","responseId": "rS2mZ"})", true)
      .data(R"({"candidates": [{"content": {"parts": [{"text": "and cloudy."},{"functionCall": {"name": "log_answer","args": {"ok": true}}}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": )" + std::string(kGeminiFinalUsage) + R"(,"modelVersion": "gemini-2.5-flash","responseId": "rS2mZ"})", true);
  return s;
}

TEST(LlmGemini, SseStream) {
  RequestInfo req = parse_ok(Api::gemini, post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                                               "generativelanguage.googleapis.com", gemini_request_body()));
  Stream s = gemini_sse();
  ResponseInfo r = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "gemini-2.5-flash");
  // prompt includes cached; thoughts are output outside candidates.
  expect_usage(r, 1200 - 1000, 12 + 130, 1000, 0, 0, 130);
  EXPECT_EQ(r.usage->raw, J(kGeminiFinalUsage));
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "STOP");
  EXPECT_EQ(r.text, "It is 18C and cloudy.");
  EXPECT_EQ(r.thinking, "**Checking weather**\n");
  expect_calls(r, {{"", "log_answer", R"({"ok":true})"}});
  EXPECT_EQ(r.t_first_token_ns, 100u);
  EXPECT_EQ(r.response_bytes, s.body.size());
  EXPECT_EQ(r.error, "");
  check_splits(req, s, 0, r);
}

TEST(LlmGemini, JsonArrayStream) {
  RequestInfo req = parse_ok(Api::gemini, post("/v1beta/models/gemini-2.5-pro:streamGenerateContent",
                                               "generativelanguage.googleapis.com", gemini_request_body()));
  // As the API sends it without alt=sse: a pretty-printed array, one element per chunk.
  std::string e1 = R"({
  "candidates": [
    {
      "content": {
        "parts": [
          {
            "functionCall": {
              "name": "get_weather",
              "args": {
                "city": "Lyon \"centre\" [old town]"
              }
            },
            "thoughtSignature": "CiQBcsjafA=="
          }
        ],
        "role": "model"
      },
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 300,
    "totalTokenCount": 300
  },
  "modelVersion": "gemini-2.5-pro",
  "responseId": "x1"
})";
  std::string e2 = R"({
  "candidates": [
    {
      "content": {
        "parts": [
          {
            "text": "Fetching."
          }
        ],
        "role": "model"
      },
      "finishReason": "STOP",
      "index": 0
    }
  ],
  "usageMetadata": {
    "promptTokenCount": 300,
    "candidatesTokenCount": 20,
    "totalTokenCount": 410,
    "thoughtsTokenCount": 90
  },
  "modelVersion": "gemini-2.5-pro",
  "responseId": "x1"
})";
  std::string body = "[" + e1 + ",\r\n" + e2 + "\r\n]";
  size_t e1_end = 1 + e1.size();  // just past e1's closing brace
  std::vector<http::BodyPiece> pieces = {{100, body.substr(0, 40)},
                                         {200, body.substr(40, e1_end - 40)},
                                         {300, body.substr(e1_end, 30)},
                                         {400, body.substr(e1_end + 30)}};
  ResponseInfo r = parse_response(req, response(200, "application/json", pieces));
  EXPECT_EQ(r.model, "gemini-2.5-pro");
  expect_usage(r, 300, 110, 0, 0, 0, 90);
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "STOP");
  EXPECT_EQ(r.text, "Fetching.");
  EXPECT_EQ(r.thinking, "");
  expect_calls(r, {{"", "get_weather", R"({"city":"Lyon \"centre\" [old town]"})"}});
  EXPECT_EQ(r.t_first_token_ns, 200u);  // the piece that completed the first element
  EXPECT_EQ(r.response_bytes, body.size());
  EXPECT_EQ(r.error, "");

  // Cut inside the second element: the first is kept, the rest flagged.
  ResponseInfo cut = parse_response(req, response(200, "application/json", {{100, body.substr(0, e1.size() + 60)}}));
  EXPECT_EQ(cut.tool_calls.size(), 1u);
  EXPECT_EQ(cut.text, "");
  expect_usage(cut, 300, 0, 0, 0, 0, 0);
  EXPECT_NE(cut.error.find("truncated"), std::string::npos) << cut.error;
}

TEST(LlmGemini, NonStreamingResponse) {
  RequestInfo req = parse_ok(Api::gemini, post("/v1beta/models/gemini-2.5-flash:generateContent",
                                               "generativelanguage.googleapis.com", gemini_request_body()));
  EXPECT_FALSE(req.stream);
  std::string body = R"({"candidates":[{"content":{"parts":[{"text":"Plan: ask tool.","thought":true},{"text":"Looking it up."},
    {"functionCall":{"id":"call-1","name":"get_weather","args":{"city":"Nice"}}}],"role":"model"},"finishReason":"STOP","index":0,
    "safetyRatings":[]}],"usageMetadata":{"promptTokenCount":64,"candidatesTokenCount":20,"totalTokenCount":110,"thoughtsTokenCount":18,"toolUsePromptTokenCount":8},
    "modelVersion":"gemini-2.5-flash-preview-05-20","responseId":"abc"})";
  ResponseInfo r = parse_response(req, whole(200, body, 4242));
  EXPECT_EQ(r.model, "gemini-2.5-flash-preview-05-20");
  expect_usage(r, 64 + 8, 38, 0, 0, 0, 18);
  EXPECT_EQ(r.stop_reason, "STOP");
  EXPECT_EQ(r.text, "Looking it up.");
  EXPECT_EQ(r.thinking, "Plan: ask tool.");
  expect_calls(r, {{"call-1", "get_weather", R"({"city":"Nice"})"}});
  EXPECT_EQ(r.t_first_token_ns, 4242u);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.response_bytes, body.size());
}

TEST(LlmGemini, BlockedPromptAndErrors) {
  RequestInfo req;
  req.api = Api::gemini;
  ResponseInfo blocked = parse_response(req, whole(200, R"({"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.0-flash"})"));
  EXPECT_EQ(blocked.stop_reason, "SAFETY");
  expect_usage(blocked, 9, 0, 0, 0, 0, 0);
  EXPECT_FALSE(blocked.t_first_token_ns.has_value());

  std::string body = R"({
  "error": {
    "code": 429,
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "status": "RESOURCE_EXHAUSTED"
  }
}
)";
  ResponseInfo r = parse_response(req, whole(429, body));
  EXPECT_EQ(r.error, body);
  EXPECT_FALSE(r.usage_missing);

  Stream s;  // an SSE stream that stops before any finishReason
  s.data(R"({"candidates":[{"content":{"parts":[{"text":"Par"}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash"})", true);
  ResponseInfo trunc = parse_response(req, response(200, "text/event-stream", per_record(s)));
  EXPECT_EQ(trunc.text, "Par");
  EXPECT_TRUE(trunc.usage_missing);
  EXPECT_NE(trunc.error.find("truncated"), std::string::npos);
}

// ----------------------------------------------------------------------- Ollama

std::string ollama_request_body(const char* stream_field) {
  return std::string(R"({"model":"qwen3:8b",)") + stream_field + R"("messages":[
    {"role":"system","content":"You are a shell agent."},
    {"role":"user","content":"What's in this picture?","images":["iVBORw0KGgoAAAANSUhEUgAAAAE="]},
    {"role":"assistant","content":"","thinking":"Need to list files.","tool_calls":[{"function":{"name":"ls","arguments":{"path":"."}}}]},
    {"role":"tool","content":"a.txt\nb.txt","tool_name":"ls"},
    {"role":"assistant","content":"Two files."}],
  "tools":[{"type":"function","function":{"name":"ls","description":"List","parameters":{"type":"object"}}},
           {"type":"function","function":{"name":"cat"}}],
  "think":true,"options":{"num_ctx":8192}})";
}

TEST(LlmOllama, RequestDefaultsToStreaming) {
  http::Request req = post("/api/chat", "localhost:11434", ollama_request_body(""));
  ASSERT_EQ(detect(req), Api::ollama_chat);
  RequestInfo info = parse_ok(Api::ollama_chat, req);
  EXPECT_EQ(info.api, Api::ollama_chat);
  EXPECT_EQ(info.provider, "ollama");
  EXPECT_EQ(info.host, "localhost:11434");
  EXPECT_EQ(info.endpoint, "/api/chat");
  EXPECT_EQ(info.model, "qwen3:8b");
  EXPECT_TRUE(info.stream);  // absent means streaming
  EXPECT_FALSE(info.include_usage);
  EXPECT_EQ(info.request_bytes, req.body.size());
  EXPECT_EQ(json::value(info.system), J(R"([{"type":"text","text":"You are a shell agent."}])"));
  EXPECT_EQ(json::value(info.messages), J(R"([
    {"role":"user","content":[{"type":"text","text":"What's in this picture?"},{"type":"image","bytes":${IMG}}]},
    {"role":"assistant","content":[{"type":"thinking","text":"Need to list files."},
      {"type":"tool_use","id":"","name":"ls","arguments":"{\"path\":\".\"}"}]},
    {"role":"tool","content":[{"type":"tool_result","tool_use_id":"","name":"ls","content":"a.txt\nb.txt","is_error":false}]},
    {"role":"assistant","content":[{"type":"text","text":"Two files."}]}])",
                                          {{"IMG", bytes_of(R"("iVBORw0KGgoAAAANSUhEUgAAAAE=")")}}));
  EXPECT_EQ(info.tools, names({"ls", "cat"}));

  RequestInfo plain = parse_ok(Api::ollama_chat, post("/api/chat", "localhost:11434", ollama_request_body(R"("stream":false,)")));
  EXPECT_FALSE(plain.stream);
}

Stream ollama_stream() {
  Stream s;
  s.line(R"({"model":"qwen3:8b","created_at":"2025-05-27T22:54:57.1Z","message":{"role":"assistant","content":"","thinking":"Let me"},"done":false})")
      .line(R"({"model":"qwen3:8b","created_at":"2025-05-27T22:54:57.2Z","message":{"role":"assistant","content":"","thinking":" think."},"done":false})")
      .line(R"({"model":"qwen3:8b","created_at":"2025-05-27T22:54:57.3Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"cat","arguments":{"path":"a.txt"}}}]},"done":false})")
      .line(R"({"model":"qwen3:8b","created_at":"2025-05-27T22:54:57.4Z","message":{"role":"assistant","content":"Reading "},"done":false})")
      .line(R"({"model":"qwen3:8b","created_at":"2025-05-27T22:54:57.5Z","message":{"role":"assistant","content":"a.txt."},"done":false})")
      .line(R"({"model":"qwen3:8b","created_at":"2025-05-27T22:54:57.6Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000})");
  return s;
}

TEST(LlmOllama, NdjsonStream) {
  RequestInfo req = parse_ok(Api::ollama_chat, post("/api/chat", "localhost:11434", ollama_request_body("")));
  Stream s = ollama_stream();
  ResponseInfo r = parse_response(req, response(200, "application/x-ndjson", per_record(s)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.model, "qwen3:8b");
  expect_usage(r, 26, 282, 0, 0, 0, 0);
  EXPECT_EQ(r.usage->raw, J(R"({"prompt_eval_count":26,"eval_count":282,"total_duration":4883583458,
    "load_duration":1334875,"prompt_eval_duration":342546000,"eval_duration":4535599000})"));
  EXPECT_FALSE(r.usage_missing);
  EXPECT_EQ(r.stop_reason, "stop");
  EXPECT_EQ(r.text, "Reading a.txt.");
  EXPECT_EQ(r.thinking, "Let me think.");
  expect_calls(r, {{"", "cat", R"({"path":"a.txt"})"}});
  EXPECT_EQ(r.t_first_token_ns, 100u);
  EXPECT_EQ(r.response_bytes, s.body.size());
  EXPECT_EQ(r.error, "");
  check_splits(req, s, 0, r);
}

TEST(LlmOllama, NonStreamingResponse) {
  RequestInfo req = parse_ok(Api::ollama_chat, post("/api/chat", "localhost:11434", ollama_request_body(R"("stream":false,)")));
  std::string body = R"({"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hello there.","tool_calls":[{"function":{"name":"ls","arguments":{}}}]},"done_reason":"stop","done":true,"total_duration":100,"load_duration":1,"prompt_eval_count":10,"prompt_eval_duration":2,"eval_count":3,"eval_duration":4})";
  ResponseInfo r = parse_response(req, whole(200, body, 55));
  EXPECT_EQ(r.model, "llama3.2");
  expect_usage(r, 10, 3, 0, 0, 0, 0);
  EXPECT_EQ(r.stop_reason, "stop");
  EXPECT_EQ(r.text, "Hello there.");
  EXPECT_EQ(r.thinking, "");
  expect_calls(r, {{"", "ls", "{}"}});
  EXPECT_EQ(r.t_first_token_ns, 55u);
  EXPECT_EQ(r.error, "");
}

TEST(LlmOllama, ErrorsAndTruncation) {
  RequestInfo req;
  req.api = Api::ollama_chat;
  std::string body = R"({"error":"model \"llama9\" not found, try pulling it first"})";
  ResponseInfo missing = parse_response(req, whole(404, body));
  EXPECT_EQ(missing.error, body);
  EXPECT_FALSE(missing.usage_missing);

  Stream full = ollama_stream();
  ResponseInfo cut = parse_response(req, response(200, "application/x-ndjson",
                                                  split_every(full.body.substr(0, full.done_at[3] + 10), 9)));
  EXPECT_EQ(cut.text, "Reading ");
  EXPECT_EQ(cut.thinking, "Let me think.");
  EXPECT_TRUE(cut.usage_missing);
  EXPECT_NE(cut.error.find("truncated"), std::string::npos) << cut.error;

  Stream mid;  // an error object in the middle of a stream
  mid.line(R"({"model":"m","message":{"role":"assistant","content":"x"},"done":false})")
      .line(R"({"error":"an unknown error was encountered while running the model"})");
  ResponseInfo err = parse_response(req, response(200, "application/x-ndjson", per_record(mid)));
  EXPECT_EQ(err.error, "an unknown error was encountered while running the model");
}

// ---------------------------------------------------------------- robustness

const Api kAllApis[] = {Api::anthropic_messages, Api::openai_chat, Api::openai_responses,
                        Api::gemini, Api::ollama_chat};

TEST(LlmRobustness, GarbageRequestBodiesFail) {
  for (Api api : kAllApis) {
    for (const char* body : {"", "not json", "[1,2]", "{\"model\":", "\"x\"", "{}garbage"}) {
      Result<RequestInfo> r = parse_request(api, post("/x", "h", body));
      EXPECT_FALSE(r.ok()) << to_string(api) << " " << body;
    }
    // Wrong types everywhere are read as absent.
    Result<RequestInfo> odd = parse_request(api, post("/x", "h",
        R"({"model":5,"stream":"yes","messages":{"a":1},"contents":7,"input":null,"system":3,
            "tools":[1,null,{"function":3},{"functionDeclarations":"x"}],"instructions":[]})"));
    ASSERT_TRUE(odd.ok()) << to_string(api);
    if (api != Api::gemini) {  // Gemini's model is in the path
      EXPECT_EQ(odd->model, "");
    }
  }
}

TEST(LlmRobustness, GarbageResponseBodiesAreErrorsNotCrashes) {
  for (Api api : kAllApis) {
    RequestInfo req;
    req.api = api;
    for (const char* body : {"<html><body>502 Bad Gateway</body></html>", "{\"truncated\": ", "",
                             "[{\"a\":", "\xff\xfe\x00garbage", "data: {not json}\n\n"}) {
      ResponseInfo ok = parse_response(req, whole(200, body));
      EXPECT_FALSE(ok.error.empty()) << to_string(api) << " " << body;
      EXPECT_TRUE(ok.usage_missing);
      ResponseInfo bad = parse_response(req, whole(502, body));
      EXPECT_EQ(bad.error, *body ? std::string(body) : "HTTP 502 Error") << to_string(api);
    }
  }
}

TEST(LlmRobustness, ErrorBodiesAreCappedOnACharacterBoundary) {
  RequestInfo req;
  req.api = Api::openai_chat;
  std::string body = std::string(65535, 'x') + "\xc3\xa9" + std::string(1000, 'y');  // é across the cap
  ResponseInfo r = parse_response(req, whole(500, body));
  EXPECT_EQ(r.error, std::string(65535, 'x'));
}

TEST(LlmRobustness, HttpLayerErrorsAreReported) {
  RequestInfo req;
  req.api = Api::anthropic_messages;
  Stream s = anthropic_stream();
  http::Response resp = response(200, "text/event-stream", per_record(s));
  resp.error = "connection reset";
  ResponseInfo r = parse_response(req, resp);
  EXPECT_EQ(r.error, "connection reset");
  EXPECT_EQ(r.text, "Reading it — now.");
}

TEST(LlmRobustness, HostileNumbersAndDepthDoNotOverflow) {
  RequestInfo req;
  req.api = Api::openai_chat;
  ResponseInfo r = parse_response(req, whole(200, R"({"choices":[],"usage":{"prompt_tokens":-9223372036854775808,
      "completion_tokens":18446744073709551615,"prompt_tokens_details":{"cached_tokens":9223372036854775807,"cache_write_tokens":1e300}}})"));
  ASSERT_TRUE(r.usage.has_value());
  EXPECT_EQ(r.usage->input, 0);
  EXPECT_GE(r.usage->output, 0);
  std::string deep = R"({"messages":[{"role":"user","content":)" + std::string(5000, '[') + std::string(5000, ']') + "}]}";
  EXPECT_FALSE(parse_request(Api::openai_chat, post("/v1/chat/completions", "h", deep)).ok());
}

// Would take minutes if piece lookup or id lookup were quadratic.
TEST(LlmRobustness, ManyRecordsInTinyPiecesStayLinear) {
  RequestInfo req;
  req.api = Api::gemini;
  std::string body = "[";
  for (int i = 0; i < 20000; ++i) body += R"({"candidates":[{"content":{"parts":[{"text":"a"}]}}]},)";
  body.back() = ']';
  http::Response resp = response(200, "application/json", split_every(body, 1));
  ResponseInfo r = parse_response(req, resp);
  EXPECT_EQ(r.text.size(), 20000u);
  EXPECT_EQ(r.t_first_token_ns, 1000u + body.find("},"));  // the piece ending the first element

  req.api = Api::openai_chat;
  std::string stream;
  for (int i = 0; i < 20000; ++i)
    stream += R"(data: {"choices":[{"delta":{"tool_calls":[{"id":"c)" + std::to_string(i) +
              R"(","function":{"name":"f","arguments":"{}"}}]}}]})" + "\n\n";
  stream += "data: [DONE]\n\n";
  http::Response sresp = response(200, "text/event-stream", split_every(stream, 4096));
  ResponseInfo calls = parse_response(req, sresp);
  ASSERT_EQ(calls.tool_calls.size(), 20000u);
  EXPECT_EQ(calls.tool_calls.back().id, "c19999");
}

TEST(LlmRobustness, RandomBytesInEveryFormat) {
  std::mt19937 rng(1234);
  const std::string alphabet = "{}[]\":,\\ \n\rdata:event:0123456789abcdefghijklmnopqrstuvwxyz\xc3\xa9";
  for (int round = 0; round < 400; ++round) {
    std::string body;
    size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i) body += alphabet[rng() % alphabet.size()];
    for (Api api : kAllApis) {
      RequestInfo req;
      req.api = api;
      ResponseInfo r = parse_response(req, response(200, "text/event-stream", split_every(body, 1 + rng() % 10)));
      EXPECT_EQ(r.response_bytes, body.size());
      (void)parse_request(api, post("/v1/chat/completions", "h", body));
    }
  }
}

}  // namespace
