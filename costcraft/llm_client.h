// One chat completion from an LLM endpoint for CostCraft's LLM proposer (SPEC §6): an
// OpenAI-compatible Chat Completions or an Anthropic Messages endpoint, through libcurl
// (http_post.h: a timeout per attempt, retries with exponential backoff on 429, 5xx and
// transport errors, Retry-After honoured), and a cache keyed by the SHA-256 of the
// request, so that a rerun of the same distillation costs nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "result.h"

namespace clawtrace::costcraft {

enum class LlmApi { openai_chat, anthropic_messages };

struct LlmEndpoint {
  std::string url;    // a full endpoint, or a base URL (see endpoint_for)
  std::string model;
  LlmApi api = LlmApi::openai_chat;
  std::string api_key;              // sent as Authorization: Bearer (OpenAI) or x-api-key
  std::string cafile;               // extra CA bundle (tests: the stand-in's certificate)
  long timeout_ms = 120'000;        // per attempt
  int max_attempts = 4;             // 1 + retries
  long backoff_ms = 1'000;          // first retry after this, doubling; capped at 60 s
  int max_tokens = 4096;
  std::filesystem::path cache_dir;  // empty: no cache
};

// The endpoint for `--llm URL --model M`: the API by the URL (".../messages" or a host
// with "anthropic" in it: Anthropic Messages, else OpenAI-compatible); a base URL gets the
// API's path appended ("/v1/messages", "/chat/completions" after "/v1", else
// "/v1/chat/completions"); the key from ANTHROPIC_API_KEY or OPENAI_API_KEY
// (CLAWTRACE_LLM_API_KEY wins over both); the cache under $XDG_CACHE_HOME/clawtrace/llm
// (else ~/.cache/clawtrace/llm).
[[nodiscard]] LlmEndpoint endpoint_for(std::string_view url, std::string_view model);

struct LlmReply {
  std::string text;     // the answer's text blocks, concatenated
  bool cached = false;  // served from the cache: no request was sent
  int attempts = 0;     // requests sent
};

// Sends the system and user prompts; the reply's text, or why there is none (the last
// HTTP status and the provider's error message, or the transport error, and the number
// of attempts).
[[nodiscard]] Result<LlmReply> complete(const LlmEndpoint& endpoint, std::string_view system, std::string_view user);

// The cache key of a request: hex SHA-256 over the API, URL, model and both prompts.
[[nodiscard]] std::string request_key(const LlmEndpoint& endpoint, std::string_view system, std::string_view user);

}  // namespace clawtrace::costcraft
