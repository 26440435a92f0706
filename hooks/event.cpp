#include "event.h"

#include <limits>

#include <array>
#include <charconv>

namespace json = boost::json;

namespace clawtrace {
namespace {

constexpr std::array<std::string_view, 8> kEventNames = {
    "session_start",    "session_end",     "llm_input",        "llm_output",
    "before_tool_call", "after_tool_call", "subagent_spawned", "subagent_ended"};
constexpr std::array<std::string_view, 4> kStatusNames = {"running", "ok", "failed", "truncated"};

template <class T>
std::optional<T> get_int(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (auto* i = it->value().if_int64()) return static_cast<T>(*i);
  if (auto* u = it->value().if_uint64()) return static_cast<T>(*u);
  if (auto* d = it->value().if_double()) {
    // Out of T's range (or NaN) the conversion is undefined: such a field is absent.
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double past = static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    if (!(*d >= lo && *d < past)) return std::nullopt;
    return static_cast<T>(*d);
  }
  return std::nullopt;
}

std::optional<std::string> get_str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().get_string());
}

template <class T>
json::value opt(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

std::string_view to_string(EventType t) { return kEventNames[static_cast<size_t>(t)]; }

std::optional<EventType> parse_event_type(std::string_view s) {
  for (size_t i = 0; i < kEventNames.size(); ++i)
    if (kEventNames[i] == s) return static_cast<EventType>(i);
  return std::nullopt;
}

std::string_view to_string(SessionStatus s) { return kStatusNames[static_cast<size_t>(s)]; }

std::optional<SessionStatus> parse_session_status(std::string_view s) {
  for (size_t i = 0; i < kStatusNames.size(); ++i)
    if (kStatusNames[i] == s) return static_cast<SessionStatus>(i);
  return std::nullopt;
}

std::string hex_id(uint64_t id) {
  static const char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4) s[static_cast<size_t>(i)] = digits[id & 0xF];
  return s;
}

std::optional<uint64_t> parse_hex_id(std::string_view s) {
  if (s.size() != 16) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

json::object to_json(const Event& e) {
  json::object o;
  o["seq"] = e.seq;
  o["t_ns"] = e.t_ns;
  o["type"] = to_string(e.type);
  o["session"] = e.session;
  o["span"] = e.span;
  o["parent"] = opt(e.parent);
  o["data"] = e.data;
  return o;
}

std::string to_json_line(const Event& e) { return json::serialize(to_json(e)); }

Result<Event> event_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return fail("an event must be a JSON object");
  Event e;
  auto type = get_str(*o, "type");
  if (!type) return fail("event has no \"type\"");
  auto t = parse_event_type(*type);
  if (!t) return fail("unknown event type \"" + *type + "\"");
  e.type = *t;
  e.seq = get_int<uint64_t>(*o, "seq").value_or(0);
  e.t_ns = get_int<uint64_t>(*o, "t_ns").value_or(0);
  e.session = get_str(*o, "session").value_or("");
  e.span = get_str(*o, "span").value_or("");
  e.parent = get_str(*o, "parent");
  if (auto it = o->find("data"); it != o->end()) {
    if (!it->value().is_object()) return fail("event \"data\" must be an object");
    e.data = it->value().get_object();
  }
  return e;
}

Result<Event> event_from_json_line(std::string_view line) {
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return fail("invalid JSON: " + ec.message());
  return event_from_json(v);
}

json::object to_json(const SessionInfo& s) {
  json::object o;
  o["id"] = s.id;
  o["trace"] = s.trace;
  o["name"] = s.name;
  o["pid"] = s.pid;
  o["ppid"] = s.ppid;
  json::array argv;
  for (const auto& a : s.argv) argv.emplace_back(a);
  o["argv"] = std::move(argv);
  o["cwd"] = s.cwd;
  json::object tags;
  for (const auto& [k, v] : s.tags) tags[k] = v;
  o["tags"] = std::move(tags);
  o["start_ns"] = s.start_ns;
  o["end_ns"] = opt(s.end_ns);
  o["status"] = to_string(s.status);
  o["exit_code"] = opt(s.exit_code);
  o["signal"] = opt(s.signal);
  o["parent_session"] = opt(s.parent_session);
  o["parent_span"] = opt(s.parent_span);
  o["events"] = s.events;
  o["llm_calls"] = s.llm_calls;
  o["tool_calls"] = s.tool_calls;
  o["cost_usd"] = opt(s.cost_usd);
  o["quality"] = opt(s.quality);
  if (s.note) o["note"] = *s.note;  // only when scored with one: older records lack it
  return o;
}

Result<SessionInfo> session_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return fail("a session record must be a JSON object");
  SessionInfo s;
  s.id = get_str(*o, "id").value_or("");
  if (s.id.empty()) return fail("session record has no id");
  s.trace = get_str(*o, "trace").value_or("");
  s.name = get_str(*o, "name").value_or("");
  s.pid = get_int<int64_t>(*o, "pid").value_or(0);
  s.ppid = get_int<int64_t>(*o, "ppid").value_or(0);
  if (auto it = o->find("argv"); it != o->end() && it->value().is_array())
    for (const auto& a : it->value().get_array())
      if (a.is_string()) s.argv.emplace_back(a.get_string());
  s.cwd = get_str(*o, "cwd").value_or("");
  if (auto it = o->find("tags"); it != o->end() && it->value().is_object())
    for (const auto& kv : it->value().get_object())
      if (kv.value().is_string()) s.tags[std::string(kv.key())] = std::string(kv.value().get_string());
  s.start_ns = get_int<uint64_t>(*o, "start_ns").value_or(0);
  s.end_ns = get_int<uint64_t>(*o, "end_ns");
  s.status = parse_session_status(get_str(*o, "status").value_or("")).value_or(SessionStatus::running);
  s.exit_code = get_int<int>(*o, "exit_code");
  s.signal = get_int<int>(*o, "signal");
  s.parent_session = get_str(*o, "parent_session");
  s.parent_span = get_str(*o, "parent_span");
  s.events = get_int<uint64_t>(*o, "events").value_or(0);
  s.llm_calls = get_int<uint64_t>(*o, "llm_calls").value_or(0);
  s.tool_calls = get_int<uint64_t>(*o, "tool_calls").value_or(0);
  if (auto it = o->find("cost_usd"); it != o->end() && it->value().is_number())
    s.cost_usd = it->value().to_number<double>();
  if (auto it = o->find("quality"); it != o->end() && it->value().is_number())
    s.quality = it->value().to_number<double>();
  s.note = get_str(*o, "note");
  return s;
}

std::map<std::string, std::string> parse_tags(std::string_view s) {
  std::map<std::string, std::string> tags;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view pair = s.substr(0, comma);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && eq > 0)
      tags[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return tags;
}

}  // namespace clawtrace
