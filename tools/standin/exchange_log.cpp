#include "exchange_log.h"

#include "codec.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace clawtrace::standin {

namespace {

constexpr std::string_view kSecretParams[] = {"key", "api_key", "api-key", "apikey", "access_token"};
constexpr std::string_view kCredentialHeaders[] = {"authorization", "x-api-key", "x-goog-api-key", "api-key",
                                                   "proxy-authorization"};

bool is_secret_param(std::string_view name) {
  return std::any_of(std::begin(kSecretParams), std::end(kSecretParams),
                     [&](std::string_view s) { return iequals(s, name); });
}

std::string mask_param(std::string_view param) {
  std::size_t eq = param.find('=');
  if (eq == std::string_view::npos || !is_secret_param(param.substr(0, eq))) return std::string(param);
  return std::string(param.substr(0, eq + 1)) + "REDACTED";
}

bool has_secret_param(std::string_view query) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    if (is_secret_param(param.substr(0, param.find('=')))) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

// Request bytes (paths, header names, error details) need not be UTF-8; the log must be.
void make_valid_utf8(boost::json::value& v) {
  if (v.is_string()) {
    std::string valid = to_valid_utf8(v.get_string());
    if (valid != std::string_view(v.get_string())) v = valid;
  } else if (v.is_array()) {
    for (boost::json::value& item : v.get_array()) make_valid_utf8(item);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) make_valid_utf8(kv.value());
  }
}

}  // namespace

Result<std::unique_ptr<ExchangeLog>> ExchangeLog::open(const std::string& path) {
  std::unique_ptr<ExchangeLog> log(new ExchangeLog());
  if (path.empty()) return log;
  log->file_ = std::fopen(path.c_str(), "a");
  if (!log->file_) return fail("cannot open log " + path + ": " + std::strerror(errno));
  return log;
}

ExchangeLog::~ExchangeLog() {
  if (file_) std::fclose(file_);
}

void ExchangeLog::write(const boost::json::object& line) {
  if (!file_) return;
  boost::json::value valid = line;
  make_valid_utf8(valid);
  std::string text = boost::json::serialize(valid) + "\n";
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), file_);
  std::fflush(file_);
}

std::string mask_query_secrets(std::string_view target) {
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  std::string_view query = target.substr(q + 1);
  for (bool first = true; ; first = false) {
    std::size_t amp = query.find('&');
    if (!first) out += '&';
    out += mask_param(query.substr(0, amp));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

bool carries_credentials(const HttpRequest& req) {
  bool header = std::any_of(std::begin(kCredentialHeaders), std::end(kCredentialHeaders),
                            [&](std::string_view name) { return req.has_header(name); });
  return header || has_secret_param(req.query());
}

boost::json::array header_names(const HeaderList& headers) {
  boost::json::array names;
  for (const auto& header : headers) names.emplace_back(header.first);
  return names;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

}  // namespace clawtrace::standin
