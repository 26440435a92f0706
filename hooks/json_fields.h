// Reading and writing the plain fields of ingestion state and event data: absent or
// mistyped fields read as empty or zero (state comes back from the store as JSON).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clawtrace::json_fields {

// A number as T when it converts exactly, else `fallback`: data may come from anywhere,
// and to_number<T>() throws on 0.5 as an integer or on -1 as unsigned.
template <class T>
T number_or(const boost::json::value& v, T fallback = T{}) {
  boost::system::error_code ec;
  const T n = v.to_number<T>(ec);
  return ec ? fallback : n;
}

inline std::string str(const boost::json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

inline uint64_t u64(const boost::json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_number()) return number_or<uint64_t>(*v);
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

// The length of boost::json::serialize(v), counted without building the string (the
// compiler sizes every message of every request this way).
inline size_t serialized_string_size(boost::json::string_view s) {
  size_t n = 2;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    n += c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t' ? 2 : c < 0x20 ? 6 : 1;
  }
  return n;
}

inline size_t serialized_size(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return 4;
    case boost::json::kind::bool_: return v.get_bool() ? 4 : 5;
    case boost::json::kind::string: return serialized_string_size(v.get_string());
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return boost::json::serialize(v).size();  // rare in messages
    case boost::json::kind::array: {
      const auto& a = v.get_array();
      size_t n = 2 + (a.empty() ? 0 : a.size() - 1);
      for (const auto& x : a) n += serialized_size(x);
      return n;
    }
    case boost::json::kind::object: {
      const auto& o = v.get_object();
      size_t n = 2 + (o.empty() ? 0 : o.size() - 1);
      for (const auto& kv : o) n += serialized_string_size(kv.key()) + 1 + serialized_size(kv.value());
      return n;
    }
  }
  return 0;
}

}  // namespace clawtrace::json_fields
