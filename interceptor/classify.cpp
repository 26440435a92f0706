#include "classify.h"

#include <string.h>
#include <strings.h>

namespace clawtrace::preload {
namespace {

constexpr size_t kScanLimit = 8192;  // request line and headers we look at

// Paths of the LLM APIs ClawTrace understands (SPEC §2), as substrings of the target.
constexpr const char* kLlmPaths[] = {
    "/chat/completions", "/completions", "/messages", "/responses", ":generateContent",
    ":streamGenerateContent", "/api/chat", "/api/generate",
};
// Hosts of LLM providers and gateways, as substrings of the SNI or Host header.
constexpr const char* kLlmHosts[] = {
    "anthropic", "openai", "googleapis", "openrouter", "ollama", "groq", "mistral",
    "deepseek", "together", "fireworks", "x.ai", "cohere", "perplexity", "litellm",
};
constexpr const char* kMethods[] = {"POST ", "GET ", "PUT ", "PATCH ", "DELETE ",
                                    "HEAD ", "OPTIONS "};

bool has_prefix(const char* p, size_t n, const char* prefix) {
  size_t len = strlen(prefix);
  return n >= len && memcmp(p, prefix, len) == 0;
}

bool contains(const char* p, size_t n, const char* needle) {
  return memmem(p, n, needle, strlen(needle)) != nullptr;
}

bool contains_any(const char* p, size_t n, const char* const* list, size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (contains(p, n, list[i])) return true;
  return false;
}

// The value of the Host header within the scanned bytes, or an empty range.
void find_host(const char* p, size_t n, const char** value, size_t* len) {
  *value = nullptr;
  *len = 0;
  for (const char* nl = static_cast<const char*>(memchr(p, '\n', n)); nl;
       nl = static_cast<const char*>(memchr(nl + 1, '\n', n - static_cast<size_t>(nl + 1 - p)))) {
    size_t rest = n - static_cast<size_t>(nl + 1 - p);
    if (rest >= 5 && strncasecmp(nl + 1, "host:", 5) == 0) {
      const char* v = nl + 6;
      const char* end = static_cast<const char*>(memchr(v, '\n', rest - 5));
      *value = v;
      *len = end ? static_cast<size_t>(end - v) : rest - 5;
      return;
    }
  }
}

}  // namespace

Traffic classify_request(const char* data, size_t n, const char* host, bool capture_all) {
  if (has_prefix(data, n, "PRI * HTTP/2")) return Traffic::http2;
  bool method = false;
  for (const char* m : kMethods) method = method || has_prefix(data, n, m);
  if (!method) return Traffic::not_http;
  const size_t scan = n < kScanLimit ? n : kScanLimit;
  const char* eol = static_cast<const char*>(memchr(data, '\n', scan));
  const size_t line = eol ? static_cast<size_t>(eol - data) : scan;
  if (!contains(data, line, " HTTP/1.")) return eol ? Traffic::not_http : Traffic::http;
  if (capture_all) return Traffic::llm;
  constexpr size_t kPaths = sizeof kLlmPaths / sizeof *kLlmPaths;
  constexpr size_t kHosts = sizeof kLlmHosts / sizeof *kLlmHosts;
  if (contains_any(data, line, kLlmPaths, kPaths)) return Traffic::llm;
  if (host && contains_any(host, strlen(host), kLlmHosts, kHosts)) return Traffic::llm;
  const char* h;
  size_t hlen;
  find_host(data, scan, &h, &hlen);
  if (h && contains_any(h, hlen, kLlmHosts, kHosts)) return Traffic::llm;
  return Traffic::http;
}

}  // namespace clawtrace::preload
