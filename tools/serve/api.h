// The dashboard's request handling, without sockets: a request's method, target and
// credentials in, a status, content type and body out. The HTTP server (server.h) and the
// tests both drive it. Every request opens the store read-only: one consistent snapshot,
// safe while traced agents are writing.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pricing.h"
#include "views.h"

namespace clawtrace::serve {

struct Request {
  std::string method;         // GET, HEAD…
  std::string target;         // path and query, still percent-encoded
  std::string authorization;  // the Authorization header, if any
  std::string cookie;         // the Cookie header, if any
  std::string host;           // the Host header, if any
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Set-Cookie…)
};

struct ApiConfig {
  std::filesystem::path store_dir;
  std::string token;  // empty: no token asked for (loopback only)
};

class Api {
 public:
  Api(ApiConfig config, pricing::PriceTable prices);
  Response handle(const Request& request);

 private:
  struct Cached {
    std::string key;  // the subtree's sessions and event counts when computed
    SessionSummary summary;
  };

  bool authorized(const Request& request, const std::map<std::string, std::string>& query) const;
  Response sessions(const std::map<std::string, std::string>& query, const std::multimap<std::string, std::string>& all);
  Response session(const std::string& id, const std::string& rest, const std::map<std::string, std::string>& query);
  Response eval(const std::map<std::string, std::string>& query, const std::multimap<std::string, std::string>& all);
  Result<SessionSummary> summary_of(Store& store, const SessionInfo& s,
                                    const std::multimap<std::string, const SessionInfo*>& children);
  Result<card::Card> card_of(Store& store, const SessionInfo& s,
                             const std::multimap<std::string, const SessionInfo*>& children);

  ApiConfig config_;
  pricing::PriceTable prices_;
  std::map<std::string, Cached> cache_;  // by root session id
};

// Percent-decoding ('+' as space); nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view s);

}  // namespace clawtrace::serve
