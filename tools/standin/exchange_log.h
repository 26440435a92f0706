// The exchange log: one JSON line per exchange, flushed at once, never a credential value.
#pragma once

#include "http.h"
#include "result.h"

#include <boost/json.hpp>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace clawtrace::standin {

class ExchangeLog {
 public:
  // An empty path gives a log that writes nothing.
  static Result<std::unique_ptr<ExchangeLog>> open(const std::string& path);
  ~ExchangeLog();
  ExchangeLog(const ExchangeLog&) = delete;
  ExchangeLog& operator=(const ExchangeLog&) = delete;
  void write(const boost::json::object& line);

 private:
  ExchangeLog() = default;
  std::mutex mu_;
  std::FILE* file_ = nullptr;
};

// The request target with the values of secret query parameters (key, api_key, …) masked.
std::string mask_query_secrets(std::string_view target);
// Whether the request carried a credential: a credential header or a key= parameter.
bool carries_credentials(const HttpRequest& req);
boost::json::array header_names(const HeaderList& headers);
// RFC 3339 UTC with milliseconds, now.
std::string utc_now();

}  // namespace clawtrace::standin
