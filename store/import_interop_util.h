// Helpers shared by the interop converters (import_plugin.cpp, import_openclaw.cpp).
#pragma once

#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace clawtrace::interop {

constexpr size_t kMaxDepth = 64;  // deeper lines are rejected while parsing

// A line parsed as a JSON object, or why not.
struct Parsed {
  boost::json::object object;
  std::string error;  // empty when parsed
};

inline Parsed parse_object(std::string_view line) {
  boost::json::parse_options po;
  po.max_depth = kMaxDepth;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec, {}, po);
  if (ec) return {{}, "not JSON (" + ec.message() + ")"};
  if (!v.is_object()) return {{}, "not a JSON object"};
  return {std::move(v.get_object()), ""};
}

inline const boost::json::object* obj(const boost::json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

inline std::string text(const boost::json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A finite number field, if present.
inline std::optional<double> number(const boost::json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  if (!v || !v->is_number()) return std::nullopt;
  const double d = v->to_number<double>();
  return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

// A token count: non-negative integers only (anything else reads as 0).
inline int64_t tokens(const boost::json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return std::max<int64_t>(0, v->get_int64());
  if (v->is_uint64()) return v->get_uint64() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v->get_uint64());
  if (v->is_double() && std::isfinite(v->get_double()) && v->get_double() >= 0 && v->get_double() < 9e18)
    return static_cast<int64_t>(v->get_double());
  return 0;
}

// Milliseconds since the epoch as nanoseconds (negative or absurd values read as 0).
inline uint64_t ms_to_ns(double ms) {
  if (!std::isfinite(ms) || ms <= 0 || ms > 1.8e13) return 0;
  return static_cast<uint64_t>(ms * 1e6);
}

// "2026-11-27T12:40:46.691Z" (UTC, optional fraction) as ns since the epoch; 0 if not that.
inline uint64_t iso_to_ns(std::string_view s) {
  auto digits = [&](size_t at, size_t n, int64_t& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int64_t y, mo, d, h, mi, sec;
  if (!digits(0, 4, y) || !digits(5, 2, mo) || !digits(8, 2, d) || !digits(11, 2, h) || !digits(14, 2, mi) ||
      !digits(17, 2, sec) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970) return 0;
  int64_t frac_ns = 0;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    int64_t scale = 100000000;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) frac_ns += (s[i] - '0') * scale;
  }
  if (i >= s.size() || s[i] != 'Z') return 0;
  // Days from civil (Howard Hinnant's algorithm).
  const int64_t yy = y - (mo <= 2);
  const int64_t era = yy / 400;
  const int64_t yoe = yy - era * 400;
  const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  const int64_t secs = ((days * 24 + h) * 60 + mi) * 60 + sec;
  return static_cast<uint64_t>(secs) * 1000000000ULL + static_cast<uint64_t>(std::max<int64_t>(frac_ns, 0));
}

// A value as text: strings as they are, anything else as its JSON.
inline std::string as_text(const boost::json::value* v) {
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  return boost::json::serialize(*v);
}

}  // namespace clawtrace::interop
