// Reading and writing the plain fields of ingestion state and event data: absent or
// mistyped fields read as empty or zero (state comes back from the store as JSON).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clawtrace::json_fields {

inline std::string str(const boost::json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

inline uint64_t u64(const boost::json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_number()) return v->to_number<uint64_t>();
  return 0;
}

inline boost::json::array to_array(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

inline std::vector<std::string> from_array(const boost::json::value* v) {
  std::vector<std::string> out;
  if (v && v->is_array())
    for (const auto& s : v->get_array())
      if (s.is_string()) out.emplace_back(s.get_string());
  return out;
}

// An integer value (int64 or uint64) as int64.
inline int64_t as_int(const boost::json::value& v) {
  return v.is_int64() ? v.get_int64() : static_cast<int64_t>(v.get_uint64());
}

inline bool all_strings(const boost::json::array& a) {
  for (const auto& x : a)
    if (!x.is_string()) return false;
  return true;
}

}  // namespace clawtrace::json_fields
