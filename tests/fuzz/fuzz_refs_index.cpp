// The reference index kept between ingestion passes (store/refs.cpp) read back from
// arbitrary JSON: never crashes, and what it keeps survives a second round trip unchanged.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "refs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(std::string(reinterpret_cast<const char*>(data), size), ec);
  if (ec) return 0;
  clawtrace::RefIndex idx = clawtrace::RefIndex::from_json(v);
  const boost::json::value once = idx.to_json();
  const boost::json::value twice = clawtrace::RefIndex::from_json(once).to_json();
  if (once != twice) std::abort();
  return 0;
}
