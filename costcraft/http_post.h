// One HTTP POST through libcurl with a timeout per attempt and retries with exponential
// backoff on 408, 409, 429, 5xx and transport errors (a Retry-After header is honoured).
// Shared by CostCraft's LLM client and the OTLP exporter (tools/).
#pragma once

#include <string>
#include <vector>

#include "result.h"

namespace clawtrace::http {

struct PostOptions {
  std::vector<std::string> headers;  // "Name: value"
  std::string cafile;                // extra CA bundle (tests: the stand-in's certificate)
  long timeout_ms = 120'000;         // per attempt
  int max_attempts = 4;              // 1 + retries
  long backoff_ms = 1'000;           // first retry after this, doubling; capped at 60 s
};

struct Response {
  long status = 0;
  std::string body;
  int attempts = 0;  // requests sent
};

// The 2xx response, or why there is none: "URL: HTTP 500: <provider message> (3 attempts)"
// or "URL: <transport error> (N attempts)". A non-retryable status fails at once.
[[nodiscard]] Result<Response> post(const std::string& url, const std::string& body, const PostOptions& options);

// The "error.message" of a JSON error body, else its first 200 bytes.
std::string error_message(const std::string& body);

}  // namespace clawtrace::http
