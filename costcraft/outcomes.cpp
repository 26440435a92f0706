// Outcome files (outcomes.h): JSON or simple lines, every entry checked before use.
#include "outcomes.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>

namespace json = boost::json;

namespace clawtrace::costcraft {
namespace {

constexpr size_t kShown = 40;  // bytes of an offending value quoted back

std::string shown(std::string_view s) {
  std::string out(s.substr(0, kShown));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s.size() > kShown ? out + "…" : out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Result<double> quality_of(const json::value& v) {
  if (!v.is_number()) return fail("Q must be a number in [0,1], not " + shown(json::serialize(v)));
  const double q = v.to_number<double>();
  if (!std::isfinite(q) || q < 0 || q > 1) return fail("Q must be in [0,1], not " + shown(json::serialize(v)));
  return q;
}

Result<OutcomeEntry> entry_of(std::string selector, const json::value& v) {
  OutcomeEntry e;
  e.selector = std::move(selector);
  if (e.selector.empty()) return fail("an empty session or tag");
  const json::value* q = &v;
  if (const json::object* o = v.if_object()) {
    q = o->if_contains("q") ? o->if_contains("q") : o->if_contains("quality");
    if (!q) return fail("no \"q\" for " + shown(e.selector));
    if (const json::value* note = o->if_contains("note")) {
      if (!note->is_string()) return fail("\"note\" must be a string");
      e.note = std::string(note->get_string());
    }
  }
  auto quality = quality_of(*q);
  if (!quality) return Error{quality.error()};
  e.quality = *quality;
  return e;
}

Result<std::string> selector_of(const json::object& o) {
  for (const char* key : {"session", "task", "tag"}) {
    const json::value* v = o.if_contains(key);
    if (!v) continue;
    if (!v->is_string()) return fail(std::string("\"") + key + "\" must be a string");
    const std::string s(v->get_string());
    return std::string(key) == "task" ? "task=" + s : s;
  }
  return fail("an entry needs \"session\", \"task\" or \"tag\"");
}

Result<std::vector<OutcomeEntry>> parse_json(std::string_view text, const std::string& source) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return fail(source + ": not valid JSON: " + ec.message());
  std::vector<OutcomeEntry> out;
  auto add = [&](size_t n, Result<OutcomeEntry> e) -> Result<void> {
    const std::string where = source + ": entry " + std::to_string(n);
    if (!e) return fail(where + ": " + e.error());
    e->where = where;
    out.push_back(std::move(e.value()));
    return {};
  };
  if (const json::object* o = v.if_object()) {
    size_t n = 0;
    for (const auto& kv : *o)
      if (auto r = add(++n, entry_of(std::string(kv.key()), kv.value())); !r) return Error{r.error()};
  } else if (const json::array* a = v.if_array()) {
    for (size_t n = 0; n < a->size(); ++n) {
      const json::object* item = (*a)[n].if_object();
      if (!item) return fail(source + ": entry " + std::to_string(n + 1) + ": must be an object");
      auto sel = selector_of(*item);
      if (!sel) return fail(source + ": entry " + std::to_string(n + 1) + ": " + sel.error());
      if (auto r = add(n + 1, entry_of(std::move(sel.value()), (*a)[n])); !r) return Error{r.error()};
    }
  } else {
    return fail(source + ": JSON outcomes must be an object or an array");
  }
  return out;
}

Result<std::vector<OutcomeEntry>> parse_lines(std::string_view text, const std::string& source) {
  std::vector<OutcomeEntry> out;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = source + ":" + std::to_string(line_no);
    const size_t gap = line.find_first_of(" \t");
    if (gap == std::string_view::npos) return fail(where + ": expected SESSION Q [NOTE]");
    std::string_view rest = trim(line.substr(gap));
    const size_t gap2 = rest.find_first_of(" \t");
    auto q = parse_quality(rest.substr(0, gap2));
    if (!q) return fail(where + ": " + q.error());
    OutcomeEntry e{std::string(line.substr(0, gap)), *q, "", where};
    if (gap2 != std::string_view::npos) e.note = std::string(trim(rest.substr(gap2)));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

bool is_tag_selector(std::string_view selector) {
  const size_t eq = selector.find('=');
  return eq != std::string_view::npos && eq > 0;
}

Result<double> parse_quality(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double q = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || *end || !std::isfinite(q) || q < 0 || q > 1)
    return fail("Q must be a number in [0,1], not '" + shown(s) + "'");
  return q;
}

Result<std::vector<OutcomeEntry>> parse_outcomes(std::string_view text, const std::string& source) {
  const std::string_view body = trim(text);
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return fail(source + ": no outcomes in the file");
  auto entries = body[first] == '{' || body[first] == '[' ? parse_json(body, source) : parse_lines(text, source);
  if (entries && entries->empty()) return fail(source + ": no outcomes in the file");
  return entries;
}

}  // namespace clawtrace::costcraft
