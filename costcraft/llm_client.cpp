#include "llm_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace json = boost::json;

namespace clawtrace::costcraft {
namespace {

constexpr long kMaxBackoffMs = 60'000;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// The path part of a URL ("" for "https://host").
std::string_view url_path(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  return slash == std::string_view::npos ? std::string_view{} : url.substr(slash);
}

std::string hex_sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  std::string out;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

std::string request_body(const LlmEndpoint& e, std::string_view system, std::string_view user) {
  json::object body{{"model", e.model}, {"max_tokens", e.max_tokens}};
  json::array messages;
  if (e.api == LlmApi::anthropic_messages) {
    body["system"] = system;
  } else {
    messages.push_back(json::object{{"role", "system"}, {"content", system}});
  }
  messages.push_back(json::object{{"role", "user"}, {"content", user}});
  body["messages"] = std::move(messages);
  return json::serialize(body);
}

// The answer's text: OpenAI choices[0].message.content (a string or text parts),
// Anthropic content[] text blocks.
Result<std::string> reply_text(const LlmEndpoint& e, const std::string& body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return fail("the endpoint's reply is not JSON");
  const json::object& o = v.get_object();
  auto texts = [](const json::value* parts) {
    std::string out;
    if (parts && parts->is_array())
      for (const auto& p : parts->get_array())
        if (const auto* t = p.is_object() ? p.get_object().if_contains("text") : nullptr; t && t->is_string())
          out += t->get_string();
    return out;
  };
  if (e.api == LlmApi::anthropic_messages) {
    if (const auto* c = o.if_contains("content"); c && c->is_array()) return texts(c);
    return fail("the Anthropic reply has no content");
  }
  const auto* choices = o.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty() || !choices->get_array()[0].is_object())
    return fail("the reply has no choices");
  const auto* message = choices->get_array()[0].get_object().if_contains("message");
  const auto* content = message && message->is_object() ? message->get_object().if_contains("content") : nullptr;
  if (content && content->is_string()) return std::string(content->get_string());
  if (content && content->is_array()) return texts(content);
  return fail("the reply's message has no text content");
}

// The provider's error message from an error body, when it has one.
std::string error_message(const std::string& body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (!ec && v.is_object())
    if (const auto* err = v.get_object().if_contains("error"); err && err->is_object())
      if (const auto* m = err->get_object().if_contains("message"); m && m->is_string()) return std::string(m->get_string());
  return body.substr(0, 200);
}

struct Attempt {
  CURLcode curl = CURLE_OK;
  long status = 0;
  std::string body;
  long retry_after_s = -1;
  std::string curl_error;
};

size_t on_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* out) {
  std::string_view line(data, size * n);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size()) {
    std::string head(line.substr(0, kRetryAfter.size()));
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (head == kRetryAfter) *static_cast<long*>(out) = std::strtol(std::string(line.substr(kRetryAfter.size())).c_str(), nullptr, 10);
  }
  return size * n;
}

Attempt send(const LlmEndpoint& e, const std::string& body) {
  Attempt a;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    a.curl = CURLE_FAILED_INIT;
    a.curl_error = "cannot start libcurl";
    return a;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  std::string auth;
  if (e.api == LlmApi::anthropic_messages) {
    headers = curl_slist_append(headers, "anthropic-version: 2023-06-01");
    auth = "x-api-key: " + e.api_key;
  } else {
    auth = "Authorization: Bearer " + e.api_key;
  }
  if (!e.api_key.empty()) headers = curl_slist_append(headers, auth.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, e.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(e.timeout_ms, 30'000L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &a.retry_after_s);
  if (!e.cafile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, e.cafile.c_str());
  a.curl = curl_easy_perform(c);
  if (a.curl != CURLE_OK) a.curl_error = *error ? error : curl_easy_strerror(a.curl);
  else curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  return a;
}

bool retryable(const Attempt& a) {
  if (a.curl != CURLE_OK) return true;  // timeouts, resets, refused connections
  return a.status == 408 || a.status == 409 || a.status == 429 || a.status >= 500;
}

std::string describe(const Attempt& a) {
  if (a.curl != CURLE_OK) return a.curl_error;
  return "HTTP " + std::to_string(a.status) + ": " + error_message(a.body);
}

std::optional<std::string> cached(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Written to a temporary name and renamed: a concurrent reader never sees half a reply.
void store_in_cache(const std::filesystem::path& file, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const std::filesystem::path tmp = file.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!(out << text)) return;
  }
  std::filesystem::rename(tmp, file, ec);
}

}  // namespace

LlmEndpoint endpoint_for(std::string_view url, std::string_view model) {
  LlmEndpoint e;
  e.model = model;
  std::string u(url);
  while (ends_with(u, "/")) u.pop_back();
  const std::string_view path = url_path(u);
  const bool anthropic = ends_with(u, "/messages") || u.find("anthropic") != std::string::npos;
  e.api = anthropic ? LlmApi::anthropic_messages : LlmApi::openai_chat;
  const bool v1 = ends_with(path, "/v1");
  if (anthropic && !ends_with(u, "/messages")) u += v1 ? "/messages" : "/v1/messages";
  if (!anthropic && !ends_with(u, "/chat/completions")) u += v1 ? "/chat/completions" : "/v1/chat/completions";
  e.url = u;
  e.api_key = env("CLAWTRACE_LLM_API_KEY");
  if (e.api_key.empty()) e.api_key = env(anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY");
  const std::string xdg = env("XDG_CACHE_HOME"), home = env("HOME");
  if (!xdg.empty()) e.cache_dir = std::filesystem::path(xdg) / "clawtrace/llm";
  else if (!home.empty()) e.cache_dir = std::filesystem::path(home) / ".cache/clawtrace/llm";
  return e;
}

std::string request_key(const LlmEndpoint& e, std::string_view system, std::string_view user) {
  std::string all = e.api == LlmApi::anthropic_messages ? "anthropic" : "openai";
  for (std::string_view part : {std::string_view(e.url), std::string_view(e.model), system, user}) {
    all += '\0';
    all += std::to_string(part.size());
    all += ':';
    all += part;
  }
  return hex_sha256(all);
}

Result<LlmReply> complete(const LlmEndpoint& e, std::string_view system, std::string_view user) {
  const std::filesystem::path cache_file =
      e.cache_dir.empty() ? std::filesystem::path{} : e.cache_dir / (request_key(e, system, user) + ".txt");
  if (!cache_file.empty())
    if (auto hit = cached(cache_file)) return LlmReply{std::move(*hit), true, 0};
  const std::string body = request_body(e, system, user);
  Attempt last;
  long backoff = e.backoff_ms;
  for (int attempt = 1; attempt <= std::max(1, e.max_attempts); ++attempt) {
    last = send(e, body);
    if (last.curl == CURLE_OK && last.status >= 200 && last.status < 300) {
      auto text = reply_text(e, last.body);
      if (!text) return fail(e.url + ": " + text.error());
      if (!cache_file.empty()) store_in_cache(cache_file, *text);
      return LlmReply{std::move(*text), false, attempt};
    }
    if (!retryable(last) || attempt == e.max_attempts) {
      return fail(e.url + ": " + describe(last) + " (" + std::to_string(attempt) + (attempt == 1 ? " attempt)" : " attempts)"));
    }
    const long wait = last.retry_after_s >= 0 ? std::min(last.retry_after_s * 1000, kMaxBackoffMs) : backoff;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    backoff = std::min(backoff * 2, kMaxBackoffMs);
  }
  return fail(e.url + ": no attempt was made");
}

}  // namespace clawtrace::costcraft
