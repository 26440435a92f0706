// YAML scalars for the TraceCard writer: strings, numbers and timestamps written so that
// YAML 1.2 parsers (yaml-cpp, JS yaml) and YAML 1.1 ones (PyYAML) all read back the same
// value. Why not yaml-cpp's emitter: its plain-scalar checks (regexes per character) took
// three times the whole compile of a 10,000-step card; the card's layout is fixed, so only
// scalars need care, and tests parse every golden card back with yaml-cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace clawtrace::yaml {

// A string that every parser reads back as that same string when written unquoted: ASCII
// letters, digits and `_ - . / @ +`, starting with a letter, digit, `_` or `/`, and not a
// boolean, null, number or date in YAML 1.1 or 1.2 ("yes", "null", "1e5", "0x1F",
// "2026-11-27").
[[nodiscard]] bool is_plain_safe(std::string_view s);

// Appends `s` unquoted when is_plain_safe, else double-quoted.
void append_string(std::string& out, std::string_view s);
// Appends `s` double-quoted: `"` and `\` escaped, control and non-printable characters as
// \n, \t, \xXX or \uXXXX, other UTF-8 kept; invalid UTF-8 becomes U+FFFD.
void append_quoted(std::string& out, std::string_view s);
// 15 significant digits; an exponent always comes with a decimal point ("1.0e-05"), which
// YAML 1.1 needs to read it as a float; .inf, -.inf and .nan for the special values.
void append_double(std::string& out, double v);
void append_int(std::string& out, int64_t v);
void append_uint(std::string& out, uint64_t v);

}  // namespace clawtrace::yaml
