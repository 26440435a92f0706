// Credential redaction in the preload (interceptor/redact.*): patterns, learned secrets,
// and independence from where the stream is split.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <string.h>

#include "redact.h"

using namespace clawtrace::preload;

namespace {

// Feeds `in` cut at `cuts` (ascending offsets) exactly as the spool writer does: held-back
// bytes are prepended to the next chunk, the last call is final.
std::string drive(Redactor& r, SecretSet& set, const std::string& in, const std::vector<size_t>& cuts,
                  std::vector<size_t>* holds = nullptr) {
  std::string out, held;
  size_t prev = 0;
  for (size_t k = 0; k <= cuts.size(); ++k) {
    const size_t next = k < cuts.size() ? cuts[k] : in.size();
    const bool last = k == cuts.size();
    std::string buf = held + in.substr(prev, next - prev);
    const size_t h = r.process(buf.data(), buf.size(), set, last);
    EXPECT_LE(h, buf.size());
    EXPECT_LE(h, kMaxHoldBack);
    if (last) {
      EXPECT_EQ(h, 0u);
    }
    if (holds) holds->push_back(h);
    out += buf.substr(0, buf.size() - h);
    held = buf.substr(buf.size() - h);
    prev = next;
  }
  return out;
}

std::string redact(const std::string& in, const std::vector<size_t>& cuts = {}) {
  auto set = std::make_unique<SecretSet>();
  Redactor r;
  return drive(r, *set, in, cuts);
}

std::string stars(size_t n) { return std::string(n, '*'); }

// `in` with every occurrence of each string masked: what redaction must produce.
std::string masked(std::string in, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets)
    for (size_t p = in.find(s); p != std::string::npos; p = in.find(s, p + 1)) in.replace(p, s.size(), stars(s.size()));
  return in;
}

void expect_no_trace_of(const std::string& out, const std::string& secret) {
  ASSERT_GE(secret.size(), 8u);
  for (size_t i = 0; i + 8 <= secret.size(); ++i)
    EXPECT_EQ(out.find(secret.substr(i, 8)), std::string::npos) << "piece of " << secret << " in:\n" << out;
}

std::string with_length(const std::string& head, const std::string& body) {
  return head + "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kAnthropicKey = "sk-ant-api03-Zq9_xWv4Kp2LmN8rTt6Yb1Hc3Jd5Fg7-AbCdEfGhIjKlMnOpQrStUvWx-yz0123AA";
const std::string kOpenAiKey = "sk-proj-4fGh7JkL9mNpQrStUvWxYz0123456789AbCdEfGhIjKlMnOp";
const std::string kGoogleKey = "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY";
const std::string kBodyKey = "lk_live_51HcT9dQe2\\\"quoted\\\"_tail";  // JSON-escaped quotes inside
const std::string kCookie = "__cf_bm=Xy7.abc-1700000000-0-AbCd; _cfuvid=q1w2e3r4t5y6-1700000000000";

// Anthropic Messages, two requests on one keep-alive connection; the key is echoed in the
// second body (a user pasting it), after it was learned from the first request's header.
std::string anthropic_requests() {
  const std::string body1 =
      R"({"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Say hi & tell me a joke? Thanks!"}]})";
  const std::string body2 =
      R"({"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"my key is )" +
      kAnthropicKey + R"( is that ok?"},{"role":"assistant","content":"ok"}]})";
  const std::string head = "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nX-Api-Key: " + kAnthropicKey +
                           "\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n";
  return with_length(head, body1) + with_length(head, body2);
}

std::string openai_request() {
  const std::string body =
      R"({"model":"gpt-4o","stream":true,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is 2+2?\nAnswer briefly."}],"tools":[{"type":"function","function":{"name":"add","arguments":"{\"a\":1}"}}]})";
  return with_length("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nauthorization: Bearer " + kOpenAiKey +
                         "\r\nCookie: " + kCookie + "\r\nOpenAI-Organization: org-abc\r\nAccept: text/event-stream\r\n",
                     body);
}

std::string gemini_request() {
  const std::string body = R"({"contents":[{"role":"user","parts":[{"text":"Hello there, how are you?"}]}]})";
  return with_length("POST /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=" + kGoogleKey +
                         " HTTP/1.1\nHost: generativelanguage.googleapis.com\nx-goog-api-key: " + kGoogleKey +
                         "\nContent-Type: application/json\n",
                     body);
}

// Keys never sent in a header, so never learned: a tool result and a user message carry
// them in the body, found by their format alone (sk-…, sk-ant-…, AIza…).
const std::string kToolResultKey = "sk-ant-api03-T00lResu1t-xYz_0123456789-abcdefABCDEF";
const std::string kPastedKey = "sk-proj-Pasted9Key_QrStUvWxYz0123";
const std::string kPastedGoogleKey = "AIzaSyB-PastedGoogleKey0123456789abcdef";
std::string unlearned_keys_request() {
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"use )" + kPastedKey +
      R"(, or )" + kPastedGoogleKey + R"(."},{"role":"tool","tool_call_id":"call_1","content":"printenv:\n)" +
      kToolResultKey + R"(\nHOME=/root"}]})";
  return with_length("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n", body);
}

std::string json_key_request() {
  const std::string body = "{\n  \"model\": \"llama3\",\n  \"api_key\" :  \"" + kBodyKey +
                           "\",\n  \"messages\": [{\"role\": \"user\", \"content\": \"api_key please\"}]\n}";
  return with_length("POST /v1/chat HTTP/1.1\r\nHost: localhost:4000\r\n", body);
}

struct Case {
  const char* name;
  std::string stream;
  std::vector<std::string> hidden;  // exactly what must be masked
};

std::vector<Case> realistic_cases() {
  return {
      {"anthropic", anthropic_requests(), {kAnthropicKey}},
      {"openai", openai_request(), {kOpenAiKey, kCookie}},
      {"gemini", gemini_request(), {kGoogleKey}},
      {"json_api_key", json_key_request(), {kBodyKey}},
      {"unlearned_keys", unlearned_keys_request(), {kPastedKey, kPastedGoogleKey, kToolResultKey}},
  };
}

}  // namespace

TEST(Redact, RealisticStreamsMaskExactlyTheCredentials) {
  for (const Case& c : realistic_cases()) {
    const std::string out = redact(c.stream);
    EXPECT_EQ(out, masked(c.stream, c.hidden)) << c.name;
    for (const auto& s : c.hidden) expect_no_trace_of(out, s);
  }
}

TEST(Redact, EverySplitPointGivesTheSameOutput) {
  for (const Case& c : realistic_cases()) {
    const std::string want = masked(c.stream, c.hidden);
    for (size_t cut = 1; cut < c.stream.size(); ++cut) {
      const std::string out = redact(c.stream, {cut});
      ASSERT_EQ(out, want) << c.name << " split at " << cut;
    }
    std::vector<size_t> bytes;
    for (size_t cut = 1; cut < c.stream.size(); ++cut) bytes.push_back(cut);
    const std::string out = redact(c.stream, bytes);
    EXPECT_EQ(out, want) << c.name << " in 1-byte chunks";
    for (const auto& s : c.hidden) expect_no_trace_of(out, s);
  }
}

TEST(Redact, RandomSplitsGiveTheSameOutput) {
  std::mt19937 rng(7);
  for (const Case& c : realistic_cases()) {
    const std::string want = masked(c.stream, c.hidden);
    for (int round = 0; round < 200; ++round) {
      std::vector<size_t> cuts;
      for (size_t p = 1 + rng() % 40; p < c.stream.size(); p += 1 + rng() % 40) cuts.push_back(p);
      ASSERT_EQ(redact(c.stream, cuts), want) << c.name << " round " << round;
    }
  }
}

TEST(Redact, EverySensitiveHeaderIsMasked) {
  const char* names[] = {"Authorization",  "Proxy-Authorization", "x-api-key",     "X-API-KEY",
                         "api-key",        "x-goog-api-key",      "X-Goog-Api-Key", "Cookie",
                         "set-cookie",     "x-auth-token",        "X-Amz-Security-Token",
                         "Ocp-Apim-Subscription-Key", "x-litellm-api-key"};
  const std::string value = "v4lue-0f-the-credential";
  for (const char* name : names) {
    for (const char* sep : {": ", ":", ":   ", ":\t", " : ", "\t:\t "}) {
      for (const char* eol : {"\r\n", "\n"}) {
        const std::string in = std::string("GET /x HTTP/1.1") + eol + "Host: h" + eol + name + sep + value + eol +
                               "Accept: */*" + eol + eol;
        EXPECT_EQ(redact(in), masked(in, {value})) << name << "|" << sep << "|";
      }
    }
  }
}

TEST(Redact, HarmlessHeadersStayVisible) {
  const std::string in =
      "GET /x HTTP/1.1\r\nx-api-keys: visible-value-1\r\ncookie2: visible-value-2\r\nkey: visible-value-3\r\n"
      "X-Request-Id: visible-value-4\r\nx-goog-api-client: gl-python/3.11\r\n\r\n";
  EXPECT_EQ(redact(in), in);
}

TEST(Redact, AuthorizationKeepsTheSchemeVisible) {
  EXPECT_EQ(redact("GET / HTTP/1.1\r\nAuthorization: Bearer abc.def.ghi-123\r\n\r\n"),
            "GET / HTTP/1.1\r\nAuthorization: Bearer " + stars(15) + "\r\n\r\n");
  EXPECT_EQ(redact("GET / HTTP/1.1\r\nauthorization: basic dXNlcjpwYXNzd29yZA==\r\n\r\n"),
            "GET / HTTP/1.1\r\nauthorization: basic " + stars(20) + "\r\n\r\n");
  EXPECT_EQ(redact("GET / HTTP/1.1\nProxy-Authorization:   Basic   dXNlcjpwYXNz\n\n"),
            "GET / HTTP/1.1\nProxy-Authorization:   Basic   " + stars(12) + "\n\n");
  // No known scheme word: the whole value is the secret.
  EXPECT_EQ(redact("GET / HTTP/1.1\r\nAuthorization: sk-bare-key-123456\r\n\r\n"),
            "GET / HTTP/1.1\r\nAuthorization: " + stars(18) + "\r\n\r\n");
  EXPECT_EQ(redact("GET / HTTP/1.1\r\nAuthorization: Bearerish sk-12345678\r\n\r\n"),
            "GET / HTTP/1.1\r\nAuthorization: " + stars(21) + "\r\n\r\n");
  // A scheme word cut off by the end of the stream is masked: it may be a bare key.
  EXPECT_EQ(redact("GET / HTTP/1.1\r\nAuthorization: Bear"), "GET / HTTP/1.1\r\nAuthorization: " + stars(4));
}

TEST(Redact, TokenAfterTheSchemeIsLearned) {
  auto set = std::make_unique<SecretSet>();
  Redactor r;
  std::string in = "GET / HTTP/1.1\r\nAuthorization: Bearer tok-1234567890  \r\n\r\nsee tok-1234567890!";
  drive(r, *set, in, {});
  ASSERT_EQ(set->count, 1u);
  EXPECT_EQ(std::string(set->value[0], set->len[0]), "tok-1234567890");  // trailing spaces dropped
}

TEST(Redact, QueryParameters) {
  const std::string k = "AIzaSyA1b2C3d4E5f6G7h8";
  for (const char* name : {"key", "KEY", "api_key", "apikey", "api-key", "access_token", "token"}) {
    for (const char* lead : {"?", "&"}) {
      for (const char* after : {" HTTP/1.1\r\n", "&alt=sse HTTP/1.1\r\n", "#frag\r\n", "\"", "\r\n", "\n"}) {
        const std::string in = std::string("GET /v1/models/x:generate?alt=json") + (lead[0] == '?' ? "x" : "") +
                               lead + name + "=" + k + after + "Host: h\r\n\r\n";
        EXPECT_EQ(redact(in), masked(in, {k})) << in;
      }
    }
  }
  // Harmless look-alikes stay.
  const std::string harmless = "GET /search?q=key&monkey=banana12345&keys=1&key HTTP/1.1\r\n\r\n";
  EXPECT_EQ(redact(harmless), harmless);
}

TEST(Redact, JsonBodyFields) {
  for (const char* key : {"api_key", "apiKey", "API_KEY", "api-key", "x-api-key", "access_token", "authorization",
                          "x-goog-api-key"}) {
    const std::string v = "val-12345678-xyz";
    for (const char* colon : {":", ": ", " : ", "\n:\n\t", ":  "}) {
      const std::string in = std::string("{\"model\":\"m\",\"") + key + "\"" + colon + "\"" + v + "\",\"n\":1}";
      EXPECT_EQ(redact(in), masked(in, {v})) << in;
    }
  }
  // Escaped quotes and backslashes inside the value are part of it.
  const std::string v = R"(ab\"cd\\ef\\\"gh)";
  const std::string in = R"({"api_key":")" + v + R"(","x":"api_key"})";
  EXPECT_EQ(redact(in), masked(in, {v}));
  // Not a string value, or not a sensitive key: nothing to mask.
  for (const char* harmless : {R"({"api_key":null,"apiKeyId":"abcdefghij","api_keys":["abcdefghij"]})",
                               R"({"access":"abcdefghij","x":"api_key","y":"abcdefghij"})",
                               R"({"authorization":{"type":"none"}})"}) {
    EXPECT_EQ(redact(harmless), harmless);
  }
}

TEST(Redact, JsonInsideAJsonStringStaysValid) {
  // OpenAI tool-call arguments are JSON text inside a JSON string.
  const std::string v = "sk-tool-secret-123456";
  const std::string in = R"({"arguments":"{\"api_key\": \")" + v + R"(\", \"q\": \"x\"}","n":1})";
  const std::string out = redact(in);
  EXPECT_EQ(out, masked(in, {v}));
  // An escaped quote inside the inner value (\\\") belongs to the value.
  const std::string v2 = R"(pre\\\"post1234)";
  const std::string in2 = R"({"arguments":"{\"apiKey\":\")" + v2 + R"(\"}"})";
  EXPECT_EQ(redact(in2), masked(in2, {v2}));
}

TEST(Redact, JsonAuthorizationValueIsLearnedWithoutItsScheme) {
  auto set = std::make_unique<SecretSet>();
  Redactor r;
  const std::string in = R"({"headers":{"Authorization":"Bearer mcp-token-987654321"}} later mcp-token-987654321)";
  const std::string out = drive(r, *set, in, {});
  EXPECT_EQ(out, masked(masked(in, {"Bearer mcp-token-987654321"}), {"mcp-token-987654321"}));
  ASSERT_EQ(set->count, 1u);
  EXPECT_EQ(std::string(set->value[0], set->len[0]), "mcp-token-987654321");
}

TEST(Redact, ChunkedEncodingInsideAJsonValueStaysIntact) {
  // The body's chunks cut the key and the value; the chunk-size lines must survive.
  const std::string in = "POST /v1/chat HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
                         "10\r\n{\"api_key\": \"sk-12\r\n"
                         "1A\r\n3456789abcdef\", \"model\":\"m\"}\r\n0\r\n\r\n";
  const std::string want = "POST /v1/chat HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
                           "10\r\n{\"api_key\": \"*****\r\n"
                           "1A\r\n*************\", \"model\":\"m\"}\r\n0\r\n\r\n";
  auto set = std::make_unique<SecretSet>();
  Redactor r;
  EXPECT_EQ(drive(r, *set, in, {}), want);
  ASSERT_EQ(set->count, 1u);
  EXPECT_EQ(std::string(set->value[0], set->len[0]), "sk-123456789abcdef");  // without the framing
  for (size_t cut = 1; cut < in.size(); ++cut) ASSERT_EQ(redact(in, {cut}), want) << cut;
  const std::string between = "{\"api_key\":\r\n7\r\n \"sk-12345678\"}";
  EXPECT_EQ(redact(between), masked(between, {"sk-12345678"}));
}

TEST(Redact, KeysOfKnownFormatsAreMaskedWithoutBeingLearned) {
  const std::vector<std::string> keys = {
      "sk-ant-api03-Zq9_xWv4Kp2LmN8rTt6Yb1Hc3Jd5Fg7",  // Anthropic
      "sk-proj-4fGh7JkL9mNpQrStUvWxYz01",              // OpenAI project key
      "sk-0123456789abcdefghij",                       // legacy OpenAI, shortest masked
      "sk-or-v1-0123456789abcdef0123456789abcdef",     // OpenRouter
      "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",      // Google, exactly 39
  };
  for (const auto& k : keys) {
    for (const char* before : {"", " ", "\"", "=", "\n", ":", "'", "(", "*", "\\n", "\\t", "\\u201c", "%22", "\\\""}) {
      for (const char* after : {"", " ", "\"", ".", "\\n", ",", "\r\n"}) {
        const std::string in = std::string("text") + (*before ? before : " ") + k + after + " more";
        const std::string out = redact(in);
        EXPECT_EQ(out, masked(in, {k})) << in;
        for (size_t cut = 1; cut < in.size(); ++cut) ASSERT_EQ(redact(in, {cut}), out) << in << " cut " << cut;
      }
    }
    EXPECT_EQ(redact(k), stars(k.size()));  // at the very start of the stream
  }
  // A key is masked to the end of its run, however it is cut; a run without a digit or
  // capital among its first 64 characters is prose.
  const std::string prose = "x sk-" + std::string(300, 'a') + "B9 y";
  EXPECT_EQ(redact(prose), prose);
  const std::string key = "sk-ant-api03-B9" + std::string(600, 'a');
  const std::string in = "x " + key + " y";
  for (size_t cut = 1; cut + 1 < in.size(); cut += 7) {
    ASSERT_EQ(redact(in, {cut, std::min(cut + 300, in.size() - 1)}), masked(in, {key})) << cut;
    ASSERT_EQ(redact(prose, {std::min(cut, prose.size() - 1)}), prose) << cut;
  }
}

TEST(Redact, LookAlikesOfKeyFormatsStayVisible) {
  for (const std::string harmless :
       {"task-0123456789abcdefghijKL", "risk-ABCDEFGHIJKLMNOPQRSTUV", "sk-learn-compatible-estimators-here",
        "sk-short-A1", "ask sk-0123456789abcdefghi", "AIzaTooShort0123456789", "xAIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "_sk-0123456789abcdefghijkl", "sk_0123456789abcdefghijkl", "Sk-0123456789abcdefghijkl"}) {
    const std::string in = "say " + harmless + " now";
    EXPECT_EQ(redact(in), in) << harmless;
  }
}

TEST(Redact, KeyFormatsInWholeText) {
  // Text joined from streamed pieces: only known formats, nothing else of the rules.
  std::string text = "Here: " + kToolResultKey + ", and " + kPastedGoogleKey + "\nx-api-key: visible-12345 sk-short";
  const std::string want = masked(text, {kToolResultKey, kPastedGoogleKey});
  mask_key_formats(text.data(), text.size());
  EXPECT_EQ(text, want);
  std::string end = "ends in sk-ant";  // whole: nothing more can follow
  mask_key_formats(end.data(), end.size());
  EXPECT_EQ(end, "ends in sk-ant");
}

TEST(Redact, UndecidedKeyStartsAreHeldBackBriefly) {
  auto set = std::make_unique<SecretSet>();
  Redactor r;
  std::string a = "the key is sk-ant-api03";  // could still become a key
  const size_t h = r.process(a.data(), a.size(), *set, false);
  EXPECT_EQ(h, std::string("sk-ant-api03").size());
  std::string b = a.substr(a.size() - h) + "-Ab12345678901234567 ok";
  EXPECT_EQ(r.process(b.data(), b.size(), *set, true), 0u);
  EXPECT_EQ(b, stars(b.size() - 3) + " ok");
  // Flushed as final (the writer's idle flush) it is masked, and so is its continuation.
  Redactor r2;
  std::string end = "ends with sk-ant";
  EXPECT_EQ(r2.process(end.data(), end.size(), *set, true), 0u);
  EXPECT_EQ(end, "ends with " + stars(6));
  std::string more = "-api03-Zx9 and more";
  EXPECT_EQ(r2.process(more.data(), more.size(), *set, true), 0u);
  EXPECT_EQ(more, stars(10) + " and more");
  // Only a whole prefix: "s" or "AI" at the very end stays.
  Redactor r3;
  std::string tail = "plural s";
  EXPECT_EQ(r3.process(tail.data(), tail.size(), *set, true), 0u);
  EXPECT_EQ(tail, "plural s");
}

TEST(Redact, LearnedKeyIsMaskedInLaterResponsesAndRequests) {
  auto set = std::make_unique<SecretSet>();
  Redactor request, response;
  const std::string req1 = "POST /v1/messages HTTP/1.1\r\nx-api-key: " + kAnthropicKey + "\r\n\r\n{}";
  EXPECT_EQ(drive(request, *set, req1, {}), masked(req1, {kAnthropicKey}));
  // The server echoes the key in an error body, split across two reads.
  const std::string resp = "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\r\n"
                           R"({"type":"error","error":{"message":"invalid x-api-key )" +
                           kAnthropicKey + R"("}})";
  const size_t cut = resp.find(kAnthropicKey) + 10;
  EXPECT_EQ(drive(response, *set, resp, {cut}), masked(resp, {kAnthropicKey}));
  // A later request carries it in its body only.
  const std::string req2 = "POST /v1/messages HTTP/1.1\r\n\r\n{\"content\":\"the key: " + kAnthropicKey + "\"}";
  EXPECT_EQ(drive(request, *set, req2, {req2.size() - 5}), masked(req2, {kAnthropicKey}));
}

TEST(Redact, SecretLearnedLaterDoesNotMaskWhatCameBefore) {
  // What was already passed on cannot be taken back; the rule is the same for any split.
  const std::string in = "body abcdefgh-1234 first\nx-api-key: abcdefgh-1234\nthen abcdefgh-1234 again";
  const std::string want = redact(in);
  EXPECT_NE(want.find("body abcdefgh-1234 first"), std::string::npos);
  EXPECT_EQ(want.find("abcdefgh-1234 again"), std::string::npos);
  for (size_t cut = 1; cut < in.size(); ++cut) ASSERT_EQ(redact(in, {cut}), want) << cut;
}

TEST(Redact, LongValuesAreMaskedButNotLearned) {
  auto set = std::make_unique<SecretSet>();
  Redactor r;
  const std::string v(kMaxSecretLen + 100, 'k');
  const std::string in = "GET / HTTP/1.1\r\nx-api-key: " + v + "\r\n\r\n";
  EXPECT_EQ(drive(r, *set, in, {40, 300}), masked(in, {v}));
  EXPECT_EQ(set->count, 0u);
}

TEST(Redact, SecretSetRules) {
  auto set = std::make_unique<SecretSet>();
  set->add("short", 5);
  EXPECT_EQ(set->count, 0u);
  set->add("exactly8", 8);
  set->add("exactly8", 8);
  EXPECT_EQ(set->count, 1u);
  for (size_t i = 0; i < kMaxSecrets + 2; ++i) {
    const std::string s = "secret-number-" + std::to_string(i);
    set->add(s.data(), s.size());
  }
  ASSERT_EQ(set->count, kMaxSecrets);
  EXPECT_EQ(std::string(set->value[0], set->len[0]), "secret-number-2");  // oldest dropped first
  EXPECT_EQ(std::string(set->value[kMaxSecrets - 1], set->len[kMaxSecrets - 1]),
            "secret-number-" + std::to_string(kMaxSecrets + 1));
}

TEST(Redact, HoldsBackOnlyAPossibleStartOfAKnownSecret) {
  auto set = std::make_unique<SecretSet>();
  set->add(kOpenAiKey.data(), kOpenAiKey.size());
  Redactor r;
  std::string buf = "data: {\"x\":\"" + kOpenAiKey.substr(0, 12);
  EXPECT_EQ(r.process(buf.data(), buf.size(), *set, false), 12u);
  std::string rest = buf.substr(buf.size() - 12) + kOpenAiKey.substr(12) + "\"}\n\n";
  EXPECT_EQ(r.process(rest.data(), rest.size(), *set, false), 0u);
  EXPECT_EQ(rest, stars(kOpenAiKey.size()) + "\"}\n\n");
  // At the end of the stream a trailing partial secret is masked.
  Redactor r2;
  std::string tail = "text " + kOpenAiKey.substr(0, 20);
  EXPECT_EQ(r2.process(tail.data(), tail.size(), *set, true), 0u);
  EXPECT_EQ(tail, "text " + stars(20));
}

TEST(Redact, OrdinaryTrafficIsNeverHeldBack) {
  auto set = std::make_unique<SecretSet>();
  set->add(kAnthropicKey.data(), kAnthropicKey.size());
  set->add(kOpenAiKey.data(), kOpenAiKey.size());
  std::string sse = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
  for (int i = 0; i < 50; ++i)
    sse += "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
           "\"text_delta\",\"text\":\"word" +
           std::to_string(i) + " and \\\"more\\\" text? a&b\"}}\n\n";
  // Split at every event boundary and in the middle of JSON (after letters, quotes, '?',
  // '&', '\n'): nothing there can start a credential.
  std::vector<size_t> cuts;
  for (size_t p = sse.find("\n\n"); p != std::string::npos; p = sse.find("\n\n", p + 1)) cuts.push_back(p + 2);
  for (const char* at : {"\"text\":\"", "? ", "a&", "delta\"", "\ndata"})
    for (size_t p = sse.find(at); p != std::string::npos; p = sse.find(at, p + 1)) cuts.push_back(p + strlen(at));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  if (!cuts.empty() && cuts.back() >= sse.size()) cuts.pop_back();
  Redactor r;
  std::vector<size_t> holds;
  EXPECT_EQ(drive(r, *set, sse, cuts, &holds), sse);
  for (size_t h : holds) EXPECT_EQ(h, 0u);
}

// Arguments as the preload records them: a flag's value, `--flag=value`, and a command
// line inside one argument (what `sh -c` receives).
TEST(RedactArgument, CredentialFlagsAndShellCommands) {
  auto masked = [](std::string a) {
    redact_argument(a.data(), a.size());
    return a;
  };
  EXPECT_EQ(masked("--api-key=sk-123"), "--api-key=******");
  EXPECT_EQ(masked("python3 agent.py --key sk-abc123 --depth 2"), "python3 agent.py --key ********* --depth 2");
  EXPECT_EQ(masked("run --token='t0k' -v"), "run --token=***** -v");
  EXPECT_EQ(masked("agent --keyboard sk-not-a-secret"), "agent --keyboard sk-not-a-secret");
  EXPECT_EQ(masked("curl -H 'x-api-key: sk-abc' u"), "curl -H 'x-api-key: ******' u");
  EXPECT_EQ(masked(R"(curl -H "Authorization: Bearer sk-x" -d '{"a":1}' u)"),
            R"(curl -H "Authorization: Bearer ****" -d '{"a":1}' u)");
  // Keys of known formats anywhere in an argument (a bare argument, a sh -c string).
  EXPECT_EQ(masked("sk-proj-Abc0123456789xyzQWERTY"), stars(30));
  EXPECT_EQ(masked("tool AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY --fast"), "tool " + std::string(39, '*') + " --fast");
  EXPECT_EQ(masked("echo OPENAI_API_KEY=sk-ant-api03-Q1w2E3r4T5y6U7i8O9p0 | tool"),
            "echo OPENAI_API_KEY=" + stars(33) + " | tool");
  EXPECT_TRUE(is_secret_flag("--key"));
  EXPECT_FALSE(is_secret_flag("--key=v"));
}

TEST(Redact, Throughput) {
  // Ordinary chat JSON: many short strings and keys, no credentials.
  std::string json = R"({"model":"gpt-4o","messages":[)";
  std::mt19937 rng(1);
  const char* words[] = {"the", "agent", "reads", "files", "and", "calls", "tools", "with", "arguments", "a",
                         "assistant", "key", "token", "quickly", "results", "\\n", "x", "API"};
  while (json.size() < (1u << 20)) {
    json += R"({"role":"user","content":[{"type":"text","text":")";
    for (int w = 0; w < 40; ++w) json += std::string(words[rng() % 18]) + " ";
    json += R"("}],"annotations":[],"id":12345,"audio":null},)";
  }
  json += "{}]}";
  auto set = std::make_unique<SecretSet>();
  // Driven like the spool writer: held-back bytes go in front of the next chunk.
  auto measure = [&](size_t chunk, const char* what) {
    Redactor r;
    std::string out;
    std::vector<char> buf(chunk + kMaxHoldBack);
    const int rounds = 40;
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < rounds; ++k) {
      out.clear();
      size_t held = 0;
      for (size_t p = 0; p < json.size(); p += chunk) {
        const size_t len = std::min(chunk, json.size() - p);
        memcpy(buf.data() + held, json.data() + p, len);
        const size_t n = held + len;
        const bool last = p + len == json.size();
        const size_t h = r.process(buf.data(), n, *set, last);
        out.append(buf.data(), n - h);
        memmove(buf.data(), buf.data() + n - h, h);
        held = h;
      }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double gbs = static_cast<double>(json.size()) * rounds / s / 1e9;
    std::printf("redact %-44s %6.2f GB/s\n", what, gbs);
    EXPECT_EQ(out, json);
  };
  measure(json.size(), "1 MiB JSON, no secrets known:");
  set->add(kAnthropicKey.data(), kAnthropicKey.size());
  set->add(kOpenAiKey.data(), kOpenAiKey.size());
  measure(json.size(), "1 MiB JSON, 2 secrets known:");
  measure(50 * 1024, "50 KiB chunks, 2 secrets known:");
  measure(1024, "1 KiB chunks, 2 secrets known:");
  measure(128, "128-byte chunks (SSE-like), 2 secrets known:");
}
