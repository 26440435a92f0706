#include "yaml_text.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace clawtrace::yaml {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool equals_lower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if ((is_alpha(s[i]) ? static_cast<char>(s[i] | 0x20) : s[i]) != lower[i]) return false;
  return true;
}

// YAML 1.1 booleans and nulls (a superset of YAML 1.2's), any letter case.
bool is_keyword(std::string_view s) {
  static constexpr std::array<std::string_view, 10> kWords = {"null", "true", "false", "yes", "no",
                                                               "on",   "off",  "y",     "n",   "~"};
  for (auto w : kWords)
    if (equals_lower(s, w)) return true;
  return false;
}

// Integers and floats of YAML 1.1 and 1.2 (including 1_000 and 0x/0o/0b), and 1.1 dates.
bool is_number_like(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'b')) {
    for (char c : s.substr(2))
      if (!is_hex(c) && c != '_') return false;
    return true;
  }
  if (s.size() >= 5 && is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '-')
    return true;  // 2026-11-27: a timestamp in YAML 1.1
  size_t i = 0, digits = 0;
  for (; i < s.size() && (is_digit(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == ':'); ++i) digits += is_digit(s[i]);
  if (digits == 0) return false;
  if (i == s.size()) return true;
  if (s[i] != 'e' && s[i] != 'E') return false;
  if (++i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (!is_digit(s[i])) return false;
  return true;
}

// The code point at s[i] and its length in bytes; length 0 for invalid UTF-8 (overlong
// forms, surrogates, beyond U+10FFFF, truncated sequences).
std::pair<uint32_t, size_t> decode_utf8(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return {0, 0};
  if (n == 1) return {c, 1};
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {cp, n};
}

// Not in YAML's printable set, or read as a line break by YAML 1.1, or a byte order mark.
bool needs_escape(uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF ||
         cp == 0xFFFE || cp == 0xFFFF;
}

void append_escape(std::string& out, uint32_t cp) {
  switch (cp) {
    case '\n': out += "\\n"; return;
    case '\t': out += "\\t"; return;
    case '\r': out += "\\r"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    default: break;
  }
  char buf[12];
  const int n = cp <= 0xFF ? std::snprintf(buf, sizeof buf, "\\x%02x", cp) : std::snprintf(buf, sizeof buf, "\\u%04x", cp);
  out.append(buf, static_cast<size_t>(n));
}

}  // namespace

bool is_plain_safe(std::string_view s) {
  if (s.empty()) return false;
  const char first = s[0];
  if (!is_alpha(first) && !is_digit(first) && first != '_' && first != '/') return false;
  for (char c : s)
    if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.' && c != '/' && c != '@' && c != '+') return false;
  return !is_keyword(s) && !is_number_like(s);
}

void append_string(std::string& out, std::string_view s) {
  if (is_plain_safe(s)) out += s;
  else append_quoted(out, s);
}

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  size_t run = 0;  // start of the bytes copied as they are
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(s, run, i - run);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (auto [cp, n] = decode_utf8(s, i); n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      ++i;
    } else {
      if (needs_escape(cp)) append_escape(out, cp);
      else out.append(s, i, n);
      i += n;
    }
    run = i;
  }
  out.append(s, run, s.size() - run);
  out += '"';
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += ".nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-.inf" : ".inf";
    return;
  }
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%.15g", v);
  // 15 digits can round past the largest double (-1.79769313486232e+308 overflows when read
  // back); such a value gets the 17 digits that always read back exactly.
  if (std::isinf(std::strtod(buf, nullptr))) n = std::snprintf(buf, sizeof buf, "%.17g", v);
  const std::string_view text(buf, static_cast<size_t>(n));
  const size_t e = text.find('e');
  if (e != std::string_view::npos && text.find('.') == std::string_view::npos) {
    out.append(text.substr(0, e));
    out += ".0";
    out.append(text.substr(e));
  } else {
    out.append(text);
  }
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace clawtrace::yaml
