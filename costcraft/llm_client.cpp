#include "llm_client.h"

#include "http_post.h"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <unistd.h>

namespace json = boost::json;

namespace clawtrace::costcraft {
namespace {

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
  http::PostOptions post;
  post.headers = {"Content-Type: application/json"};
  if (e.api == LlmApi::anthropic_messages) post.headers.push_back("anthropic-version: 2023-06-01");
  if (!e.api_key.empty())
    post.headers.push_back(e.api == LlmApi::anthropic_messages ? "x-api-key: " + e.api_key : "Authorization: Bearer " + e.api_key);
  post.cafile = e.cafile;
  post.timeout_ms = e.timeout_ms;
  post.max_attempts = e.max_attempts;
  post.backoff_ms = e.backoff_ms;
  auto response = http::post(e.url, request_body(e, system, user), post);
  if (!response) return fail(response.error());
  auto text = reply_text(e, response->body);
  if (!text) return fail(e.url + ": " + text.error());
  if (!cache_file.empty()) store_in_cache(cache_file, *text);
  return LlmReply{std::move(*text), false, response->attempts};
}

}  // namespace clawtrace::costcraft
