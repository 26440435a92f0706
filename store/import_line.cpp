#include "import_line.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "json_fields.h"
#include "store.h"

namespace json = boost::json;
using clawtrace::json_fields::all_strings;

namespace clawtrace {
namespace {

constexpr size_t kMaxStoredDepth = 32;   // what the store's reader parses (Boost.JSON's default)
constexpr size_t kMaxParseDepth = 64;    // deeper lines are rejected while parsing
constexpr size_t kShownValue = 60;       // a bad value is quoted up to this many bytes

// ---- checking one line ------------------------------------------------------------------

// A value quoted in a message: its JSON, cut (on a UTF-8 boundary) when long.
std::string shown(const json::value& v) {
  std::string s = json::serialize(v);
  if (s.size() <= kShownValue) return s;
  size_t cut = kShownValue;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

// "FIELD" quoted (built by append: GCC 12 warns falsely on "literal" + std::string).
std::string quoted(std::string_view field) {
  std::string q(1, '"');
  q.append(field);
  q += '"';
  return q;
}

Error not_a(std::string_view field, const json::value& v, std::string_view what) {
  return fail(quoted(field) + ": " + shown(v) + " is not " + std::string(what));
}

Error missing(std::string_view field) { return fail(quoted(field) + " is missing"); }

bool is_uint(const json::value& v) { return v.is_uint64() || (v.is_int64() && v.get_int64() >= 0); }

uint64_t as_uint(const json::value& v) {
  return v.is_uint64() ? v.get_uint64() : static_cast<uint64_t>(v.get_int64());
}

bool is_int_in(const json::value& v, int64_t lo, int64_t hi) {
  if (v.is_int64()) return v.get_int64() >= lo && v.get_int64() <= hi;
  return v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(hi);
}



bool string_values(const json::object& o) {
  return std::all_of(o.begin(), o.end(), [](const auto& kv) { return kv.value().is_string(); });
}

// How deep the store's copy nests: long strings become {"$blob": …} objects, objects with
// a "$blob" or "$lit" key are wrapped in {"$lit": …}.
size_t stored_depth(const json::value& v) {
  if (const auto* s = v.if_string()) return s->size() >= StoreOptions{}.blob_threshold ? 1 : 0;
  size_t inner = 0;
  if (const auto* a = v.if_array()) {
    for (const auto& x : *a) inner = std::max(inner, stored_depth(x));
    return inner + 1;
  }
  const auto* o = v.if_object();
  if (!o) return 0;
  for (const auto& kv : *o) inner = std::max(inner, stored_depth(kv.value()));
  return inner + 1 + (o->contains("$blob") || o->contains("$lit") ? 1 : 0);
}

// The data fields a session record is built from must have the types ingestion writes
// (null reads as absent).
Result<void> check_session_fields(EventType type, const json::object& d) {
  auto check = [&](std::string_view key, auto ok, std::string_view what) -> Result<void> {
    const json::value* v = d.if_contains(key);
    if (!v || v->is_null() || ok(*v)) return {};
    return not_a("data." + std::string(key), *v, what);
  };
  auto is_str = [](const json::value& v) { return v.is_string(); };
  auto is_i64 = [](const json::value& v) {
    return is_int_in(v, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  };
  auto is_i32 = [](const json::value& v) {
    return is_int_in(v, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  };
  std::vector<Result<void>> checks;
  if (type == EventType::session_start) {
    checks = {check("pid", is_i64, "an integer"), check("ppid", is_i64, "an integer"),
              check("argv", [](const json::value& v) { return v.is_array() && all_strings(v.get_array()); },
                    "an array of strings"),
              check("tags", [](const json::value& v) { return v.is_object() && string_values(v.get_object()); },
                    "an object of strings"),
              check("cwd", is_str, "a string"), check("name", is_str, "a string"),
              check("trace", is_str, "a string"), check("parent_session", is_str, "a string"),
              check("parent_span", is_str, "a string")};
  } else if (type == EventType::session_end) {
    checks = {check("exit_code", is_i32, "an integer"), check("signal", is_i32, "an integer"),
              check("status", [](const json::value& v) {
                return v.is_string() && parse_session_status(v.get_string()).has_value();
              }, "a session status (running, ok, failed, truncated)")};
  }
  for (auto& c : checks)
    if (!c) return c;
  return {};
}

Result<std::string> string_field(const json::object& o, std::string_view key, bool nonempty) {
  const json::value* v = o.if_contains(key);
  if (!v) return missing(key);
  if (!v->is_string()) return not_a(key, *v, "a string");
  if (nonempty && v->get_string().empty()) return not_a(key, *v, "a session id");
  return std::string(v->get_string());
}

// A key as JSON writes it, without the quotes: messages stay one line whatever the key.
std::string escaped(std::string_view key) {
  const std::string quoted = json::serialize(json::string(key));
  return quoted.substr(1, quoted.size() - 2);
}

// Where a number too large for a double (1e999 parses as infinity, which JSON cannot
// print back) sits, as a field path; empty if nowhere.
std::string non_finite(const json::value& v, const std::string& path) {
  if (v.is_double()) return std::isfinite(v.get_double()) ? "" : path;
  if (const auto* a = v.if_array()) {
    for (size_t i = 0; i < a->size(); ++i)
      if (auto p = non_finite((*a)[i], path + "[" + std::to_string(i) + "]"); !p.empty()) return p;
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o)
      if (auto p = non_finite(kv.value(), path.empty() ? escaped(kv.key()) : path + "." + escaped(kv.key())); !p.empty())
        return p;
  }
  return "";
}

}  // namespace

Result<Event> import_line(std::string_view line) {
  json::parse_options po;
  po.max_depth = kMaxParseDepth;
  boost::system::error_code ec;
  json::value v = json::parse(line, ec, {}, po);
  if (ec) return fail("not JSON (" + ec.message() + ")");
  const json::object* o = v.if_object();
  if (!o) return fail("not a JSON object");
  if (std::string where = non_finite(v, ""); !where.empty())
    return fail("\"" + where + "\": a number out of range (JSON cannot hold infinity)");
  Event e;
  const json::value* type = o->if_contains("type");
  if (!type) return missing("type");
  if (!type->is_string()) return not_a("type", *type, "a string");
  auto t = parse_event_type(type->get_string());
  if (!t) return not_a("type", *type, "an event type");
  e.type = *t;
  const json::value* t_ns = o->if_contains("t_ns");
  if (!t_ns) return missing("t_ns");
  if (!is_uint(*t_ns)) return not_a("t_ns", *t_ns, "a non-negative integer");
  e.t_ns = as_uint(*t_ns);
  if (const json::value* seq = o->if_contains("seq"); seq && !is_uint(*seq))
    return not_a("seq", *seq, "a non-negative integer");
  auto session = string_field(*o, "session", true);
  if (!session) return Error{session.error()};
  e.session = std::move(*session);
  auto span = string_field(*o, "span", false);
  if (!span) return Error{span.error()};
  e.span = std::move(*span);
  if (const json::value* parent = o->if_contains("parent"); parent && !parent->is_null()) {
    if (!parent->is_string()) return not_a("parent", *parent, "a string or null");
    e.parent = std::string(parent->get_string());
  }
  if (const json::value* data = o->if_contains("data"); data) {
    if (!data->is_object()) return not_a("data", *data, "an object");
    if (auto c = check_session_fields(e.type, data->get_object()); !c) return Error{c.error()};
    if (size_t depth = stored_depth(v); depth > kMaxStoredDepth)
      return fail("\"data\" nests " + std::to_string(depth) + " levels deep in the store, which keeps at most " +
                  std::to_string(kMaxStoredDepth));
    e.data = data->get_object();
  }
  return e;
}


}  // namespace clawtrace
