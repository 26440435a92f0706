#include "http_post.h"

#include <curl/curl.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

namespace clawtrace::http {
namespace {

constexpr long kMaxBackoffMs = 60'000;

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
  const std::string_view line(data, size * n);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size() &&
      std::equal(kRetryAfter.begin(), kRetryAfter.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
    *static_cast<long*>(out) = std::strtol(std::string(line.substr(kRetryAfter.size())).c_str(), nullptr, 10);
  return size * n;
}

Attempt send(const std::string& url, const std::string& body, const PostOptions& o) {
  Attempt a;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    a.curl = CURLE_FAILED_INIT;
    a.curl_error = "cannot start libcurl";
    return a;
  }
  curl_slist* headers = nullptr;
  for (const auto& h : o.headers) headers = curl_slist_append(headers, h.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(o.timeout_ms, 30'000L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &a.retry_after_s);
  if (!o.cafile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.cafile.c_str());
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

}  // namespace

std::string error_message(const std::string& body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object())
    if (const auto* err = v.get_object().if_contains("error"); err && err->is_object())
      if (const auto* m = err->get_object().if_contains("message"); m && m->is_string()) return std::string(m->get_string());
  return body.substr(0, 200);
}

Result<Response> post(const std::string& url, const std::string& body, const PostOptions& o) {
  const int attempts = std::max(1, o.max_attempts);
  long backoff = o.backoff_ms;
  for (int attempt = 1;; ++attempt) {
    Attempt last = send(url, body, o);
    if (last.curl == CURLE_OK && last.status >= 200 && last.status < 300)
      return Response{last.status, std::move(last.body), attempt};
    if (!retryable(last) || attempt == attempts)
      return fail(url + ": " + describe(last) + " (" + std::to_string(attempt) + (attempt == 1 ? " attempt)" : " attempts)"));
    const long wait = last.retry_after_s >= 0 ? std::min(last.retry_after_s, kMaxBackoffMs / 1000) * 1000 : backoff;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    backoff = std::min(backoff * 2, kMaxBackoffMs);
  }
}

}  // namespace clawtrace::http
