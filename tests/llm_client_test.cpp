// CostCraft's LLM client (costcraft/llm_client.*) against the provider stand-in over
// HTTPS: OpenAI-compatible and Anthropic replies, a 429 then success, a server error
// retried until the attempts run out, a client error not retried, a timeout, and the
// cache (a rerun sends nothing).
#include <gtest/gtest.h>

#include <chrono>

#include "e2e_support.h"
#include "llm_client.h"
#include "temp_dir.h"

using namespace clawtrace;
using costcraft::LlmApi;

namespace {

constexpr const char* kScript = R"({"rules": [
  {"name": "good", "when": {"user_contains": "good"}, "reply": {"text": "{\"patches\": []}"}},
  {"name": "busy1", "when": {"user_contains": "busy", "nth": 1}, "reply": {"status": 429, "retry_after": 0}},
  {"name": "busy2", "when": {"user_contains": "busy", "nth": 2}, "reply": {"text": "after the 429"}},
  {"name": "broken", "when": {"user_contains": "broken"}, "reply": {"status": 500, "error_message": "boom"}},
  {"name": "bad", "when": {"user_contains": "invalid"}, "reply": {"status": 400, "error_message": "no such model"}},
  {"name": "slow", "when": {"user_contains": "slow"}, "reply": {"text": "late", "chunk_size": 1, "delay_ms": 400}}
]})";

class LlmClient : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(f_.start_standin(kScript)); }

  costcraft::LlmEndpoint endpoint(LlmApi api) const {
    costcraft::LlmEndpoint e = costcraft::endpoint_for(
        f_.https_url() + (api == LlmApi::anthropic_messages ? "/v1/messages" : "/v1"), "claude-sonnet-4-5");
    e.api_key = "test-key";
    e.cafile = f_.cert();
    e.cache_dir = cache_.path();
    e.backoff_ms = 10;
    e.timeout_ms = 5000;
    return e;
  }

  size_t requests() const { return f_.standin_log().size(); }

  e2e::Fixture f_;
  test::TempDir cache_{"clawtrace-llm-cache"};
};

TEST_F(LlmClient, EndpointFromUrl) {
  auto e = costcraft::endpoint_for("https://api.anthropic.com", "m");
  EXPECT_EQ(e.api, LlmApi::anthropic_messages);
  EXPECT_EQ(e.url, "https://api.anthropic.com/v1/messages");
  e = costcraft::endpoint_for("https://api.openai.com/v1/", "m");
  EXPECT_EQ(e.api, LlmApi::openai_chat);
  EXPECT_EQ(e.url, "https://api.openai.com/v1/chat/completions");
  e = costcraft::endpoint_for("http://127.0.0.1:8080", "m");
  EXPECT_EQ(e.url, "http://127.0.0.1:8080/v1/chat/completions");
  e = costcraft::endpoint_for("http://localhost:1/x/messages", "m");
  EXPECT_EQ(e.api, LlmApi::anthropic_messages);
  EXPECT_EQ(e.url, "http://localhost:1/x/messages");
}

TEST_F(LlmClient, AnswersFromBothApisAndCachesThem) {
  for (LlmApi api : {LlmApi::openai_chat, LlmApi::anthropic_messages}) {
    const auto e = endpoint(api);
    const size_t before = requests();
    auto r = costcraft::complete(e, "You propose patches.", "a good card");
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->text, "{\"patches\": []}");
    EXPECT_FALSE(r->cached);
    EXPECT_EQ(r->attempts, 1);
    EXPECT_EQ(requests(), before + 1);
    auto again = costcraft::complete(e, "You propose patches.", "a good card");
    ASSERT_TRUE(again) << again.error();
    EXPECT_TRUE(again->cached);
    EXPECT_EQ(again->text, r->text);
    EXPECT_EQ(requests(), before + 1) << "a cached request is not sent";
  }
  const auto log = f_.standin_log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(e2e::s(log[0], "api"), "openai.chat");
  EXPECT_EQ(e2e::s(log[1], "api"), "anthropic.messages");
}

TEST_F(LlmClient, RetriesA429ThenSucceeds) {
  auto r = costcraft::complete(endpoint(LlmApi::anthropic_messages), "s", "busy now");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->text, "after the 429");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(requests(), 2u);
}

TEST_F(LlmClient, ServerErrorIsRetriedUntilTheAttemptsRunOut) {
  auto e = endpoint(LlmApi::openai_chat);
  e.max_attempts = 3;
  auto r = costcraft::complete(e, "s", "broken server");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("HTTP 500"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("boom"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("3 attempts"), std::string::npos) << r.error();
  EXPECT_EQ(requests(), 3u);
  EXPECT_TRUE(std::filesystem::is_empty(cache_.path())) << "failures are not cached";
}

TEST_F(LlmClient, ClientErrorIsNotRetried) {
  auto r = costcraft::complete(endpoint(LlmApi::openai_chat), "s", "invalid model");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("HTTP 400"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("1 attempt)"), std::string::npos) << r.error();
  EXPECT_EQ(requests(), 1u);
}

TEST_F(LlmClient, TimeoutEndsEachAttempt) {
  auto e = endpoint(LlmApi::openai_chat);
  e.timeout_ms = 300;
  e.max_attempts = 2;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = costcraft::complete(e, "s", "slow model");
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("2 attempts"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("imed out"), std::string::npos) << r.error();
  EXPECT_LT(took, std::chrono::seconds(3)) << "two attempts of 300 ms, not the whole slow reply";
}

}  // namespace
