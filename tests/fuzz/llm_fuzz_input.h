// Shared driver of the provider-adapter fuzz targets (fuzz_llm_*.cpp).
// Input: byte 0 = mode (bit 0: error status, bits 1-7: piece size variation),
// byte 1 = base piece size, then the request body, "\n=====\n", the response body.
// Checks invariants besides not crashing: usage never negative, the cache-write split adds
// up, and the API key from the query string never reaches an output.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "llm.h"

namespace clawtrace::fuzz {

inline void require(bool ok) {
  if (!ok) std::abort();
}

inline std::vector<http::BodyPiece> pieces_of(std::string_view body, uint8_t mode, uint8_t base) {
  std::vector<http::BodyPiece> pieces;
  size_t size = 1 + base % 64;
  uint64_t t = 1000;
  for (size_t i = 0; i < body.size(); ++t) {
    size_t n = std::min(size, body.size() - i);
    pieces.push_back({t, std::string(body.substr(i, n))});
    i += n;
    size = 1 + (size * 7 + (mode >> 1)) % 97;  // vary piece sizes as the stream goes on
  }
  return pieces;
}

inline void check_usage(const llm::Usage& u) {
  require(u.input >= 0 && u.output >= 0 && u.cache_read >= 0 && u.reasoning >= 0);
  require(u.cache_write_5m >= 0 && u.cache_write_1h >= 0);
  require(u.cache_write == u.cache_write_5m + u.cache_write_1h);
}

inline void run_llm(llm::Api api, std::string_view target, std::string_view host,
                    const uint8_t* data, size_t size) {
  if (size < 2) return;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  uint8_t mode = data[0], base = data[1];
  in.remove_prefix(2);
  constexpr std::string_view kSep = "\n=====\n";
  size_t sep = in.find(kSep);
  std::string_view req_body = sep == std::string_view::npos ? std::string_view{} : in.substr(0, sep);
  std::string_view resp_body = sep == std::string_view::npos ? in : in.substr(sep + kSep.size());

  http::Request req;
  req.method = "POST";
  req.target = std::string(target);
  req.headers.push_back({"host", std::string(host)});
  req.body = std::string(req_body);
  (void)llm::detect(req);
  llm::RequestInfo info;
  info.api = api;
  if (Result<llm::RequestInfo> r = llm::parse_request(api, req); r.ok()) info = std::move(r).value();

  http::Response resp;
  resp.status = (mode & 1) ? 429 : 200;
  resp.body = pieces_of(resp_body, mode, base);
  llm::ResponseInfo out = llm::parse_response(info, resp);

  require(out.response_bytes == resp_body.size());
  if (out.usage) check_usage(*out.usage);
  std::string all = boost::json::serialize(info.messages) + boost::json::serialize(info.system) +
                    info.endpoint + info.model + out.model + out.text + out.thinking + out.error;
  if (out.usage) all += boost::json::serialize(llm::to_json(*out.usage));
  for (const auto& c : out.tool_calls) all += boost::json::serialize(llm::to_json(c));
  constexpr std::string_view kKey = "FUZZSECRETKEY";
  if (in.find(kKey) == std::string_view::npos) require(all.find(kKey) == std::string::npos);
}

}  // namespace clawtrace::fuzz
