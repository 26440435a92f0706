#include "script.h"

#include "formats.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace clawtrace::standin {

namespace {

constexpr std::string_view kBuiltinCommand = "echo hello from the stand-in";

bool get_uint(const json::value& v, std::uint64_t max, std::uint64_t& out) {
  if (v.is_uint64()) out = v.get_uint64();
  else if (v.is_int64() && v.get_int64() >= 0) out = static_cast<std::uint64_t>(v.get_int64());
  else return false;
  return out <= max;
}

std::string where(std::string_view context, std::string_view key) {
  return std::string(context) + "." + std::string(key);
}

Result<ToolCallSpec> parse_tool_call(const json::value& v, const std::string& context) {
  const json::object* obj = v.if_object();
  if (!obj) return fail(context + ": expected an object");
  ToolCallSpec call;
  for (const auto& kv : *obj) {
    if (kv.key() == "name" && kv.value().is_string()) {
      call.name = std::string(kv.value().get_string());
    } else if (kv.key() == "arguments" && kv.value().is_object()) {
      call.args = kv.value().get_object();
      call.arguments = json::serialize(call.args);
    } else if (kv.key() == "arguments" && kv.value().is_string()) {
      // Raw text is sent verbatim where a format carries text (spacing included).
      boost::system::error_code ec;
      json::value parsed = parse_json(kv.value().get_string(), ec);
      if (ec || !parsed.is_object()) return fail(context + ".arguments: not a JSON object text");
      call.args = parsed.get_object();
      call.arguments = std::string(kv.value().get_string());
    } else {
      return fail(where(context, kv.key()) + ": unknown field or wrong type");
    }
  }
  if (call.name.empty()) return fail(context + ".name: required");
  if (call.arguments.empty()) call.arguments = "{}";
  return call;
}

Result<Usage> parse_usage(const json::value& v, const std::string& context) {
  const json::object* obj = v.if_object();
  if (!obj) return fail(context + ": expected an object");
  Usage u;
  std::pair<std::string_view, std::int64_t*> fields[] = {
      {"input", &u.input},           {"output", &u.output},
      {"cache_read", &u.cache_read}, {"cache_write_5m", &u.cache_write_5m},
      {"cache_write_1h", &u.cache_write_1h}, {"reasoning", &u.reasoning}};
  for (const auto& kv : *obj) {
    auto it = std::find_if(std::begin(fields), std::end(fields), [&](const auto& f) { return f.first == kv.key(); });
    std::uint64_t n = 0;
    if (it == std::end(fields) || !get_uint(kv.value(), 1ull << 40, n))
      return fail(where(context, kv.key()) + ": unknown field or not a count");
    *it->second = static_cast<std::int64_t>(n);
  }
  return u;
}

Result<void> set_string(const json::value& v, std::string& out) {
  if (!v.is_string()) return fail("expected a string");
  out = std::string(v.get_string());
  return {};
}

Result<void> set_bool(const json::value& v, bool& out) {
  if (!v.is_bool()) return fail("expected true or false");
  out = v.get_bool();
  return {};
}

template <class T>
Result<void> set_count(const json::value& v, std::uint64_t max, T& out) {
  std::uint64_t n = 0;
  if (!get_uint(v, max, n)) return fail("expected a count up to " + std::to_string(max));
  out = static_cast<T>(n);
  return {};
}

Result<void> set_transfer(const json::value& v, std::string& out) {
  if (auto r = set_string(v, out); !r) return r;
  if (out != "chunked" && out != "length" && out != "close") return fail("expected chunked, length or close");
  return {};
}

Result<void> set_tool_calls(const json::value& v, const std::string& context, std::vector<ToolCallSpec>& out) {
  const json::array* calls = v.if_array();
  if (!calls) return fail("expected an array");
  for (std::size_t i = 0; i < calls->size(); ++i) {
    Result<ToolCallSpec> call = parse_tool_call((*calls)[i], context + "[" + std::to_string(i) + "]");
    if (!call) return fail(call.error());
    out.push_back(std::move(*call));
  }
  return {};
}

// One reply field; an unknown name is an error so that typos do not pass silently.
Result<void> set_reply_field(std::string_view key, const json::value& v, const std::string& context, Reply& r) {
  if (key == "text") return set_string(v, r.text);
  if (key == "thinking") return set_string(v, r.thinking);
  if (key == "tool_calls") return set_tool_calls(v, context, r.tool_calls);
  if (key == "usage") {
    Result<Usage> u = parse_usage(v, context);
    if (!u) return fail(u.error());
    r.usage = *u;
    return {};
  }
  if (key == "status") return set_count(v, 599, r.status);
  if (key == "error_message") return set_string(v, r.error_message);
  if (key == "gzip") return set_bool(v, r.gzip);
  if (key == "chunk_size") return set_count(v, 1u << 20, r.chunk_size);
  if (key == "delta_size") return set_count(v, 1u << 20, r.delta_size);
  if (key == "delay_ms") return set_count(v, 60'000, r.delay_ms);
  if (key == "stop_reason") return set_string(v, r.stop_reason);
  if (key == "model") return set_string(v, r.model);
  if (key == "transfer") return set_transfer(v, r.transfer);
  if (key == "incomplete") return set_bool(v, r.incomplete);
  if (key == "double_message_delta") return set_bool(v, r.double_message_delta);
  if (key == "drop_connection_after_bytes") {
    r.drop_after_bytes.emplace();
    return set_count(v, 1ull << 40, *r.drop_after_bytes);
  }
  if (key == "retry_after") {
    r.retry_after.emplace();
    return set_count(v, 3600, *r.retry_after);
  }
  if (key == "should_retry") {
    r.should_retry.emplace();
    return set_bool(v, *r.should_retry);
  }
  return fail("unknown reply field");
}

Result<Reply> parse_reply(const json::value& v, const std::string& context) {
  const json::object* obj = v.if_object();
  if (!obj) return fail(context + ": expected an object");
  Reply r;
  for (const auto& kv : *obj) {
    std::string at = where(context, kv.key());
    if (auto set = set_reply_field(kv.key(), kv.value(), at, r); !set) return fail(at + ": " + set.error());
  }
  if (r.status < 100) return fail(context + ".status: expected an HTTP status");
  return r;
}

Result<void> set_condition_field(std::string_view key, const json::value& v, Condition& c) {
  auto text = [&](std::optional<std::string>& out) -> Result<void> {
    out.emplace();
    return set_string(v, *out);
  };
  auto flag = [&](std::optional<bool>& out) -> Result<void> {
    out.emplace();
    return set_bool(v, *out);
  };
  if (key == "api") {
    if (auto r = text(c.api); !r) return r;
    return is_api_name(*c.api) ? Result<void>() : fail("unknown api name");
  }
  if (key == "path_contains") return text(c.path_contains);
  if (key == "has_tools") return flag(c.has_tools);
  if (key == "tool_offered") return text(c.tool_offered);
  if (key == "last_is_tool_result") return flag(c.last_is_tool_result);
  if (key == "user_contains") return text(c.user_contains);
  if (key == "any_user_contains") return text(c.any_user_contains);
  if (key == "nth") {
    c.nth.emplace();
    if (auto r = set_count(v, 1ull << 40, *c.nth); !r) return r;
    return *c.nth >= 1 ? Result<void>() : fail("nth counts from 1");
  }
  return fail("unknown condition");
}

Result<Condition> parse_condition(const json::value& v, const std::string& context) {
  const json::object* obj = v.if_object();
  if (!obj) return fail(context + ": expected an object");
  Condition c;
  for (const auto& kv : *obj) {
    std::string at = where(context, kv.key());
    if (auto set = set_condition_field(kv.key(), kv.value(), c); !set) return fail(at + ": " + set.error());
  }
  return c;
}

Result<Rule> parse_rule(const json::value& v, std::size_t index) {
  std::string context = "rules[" + std::to_string(index) + "]";
  const json::object* obj = v.if_object();
  if (!obj) return fail(context + ": expected an object");
  Rule rule;
  rule.label = context;
  bool has_reply = false;
  for (const auto& kv : *obj) {
    std::string at = where(context, kv.key());
    if (kv.key() == "name" && kv.value().is_string()) {
      rule.label = std::string(kv.value().get_string());
    } else if (kv.key() == "when") {
      Result<Condition> c = parse_condition(kv.value(), at);
      if (!c) return fail(c.error());
      rule.when = std::move(*c);
    } else if (kv.key() == "reply") {
      Result<Reply> r = parse_reply(kv.value(), at);
      if (!r) return fail(r.error());
      rule.reply = std::move(*r);
      has_reply = true;
    } else {
      return fail(at + ": unknown field or wrong type");
    }
  }
  if (!has_reply) return fail(context + ".reply: required");
  return rule;
}

Result<Script> parse_script_object(const json::object& root) {
  Script script;
  for (const auto& kv : root) {
    if (kv.key() == "rules" && kv.value().is_array()) {
      const json::array& rules = kv.value().get_array();
      for (std::size_t i = 0; i < rules.size(); ++i) {
        Result<Rule> rule = parse_rule(rules[i], i);
        if (!rule) return fail(rule.error());
        script.rules.push_back(std::move(*rule));
      }
    } else if (kv.key() == "default") {
      Result<Reply> r = parse_reply(kv.value(), "default");
      if (!r) return fail(r.error());
      script.fallback = std::move(*r);
    } else {
      return fail(std::string(kv.key()) + ": unknown field or wrong type");
    }
  }
  return script;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it != hay.end();
}

// Every condition of `when` except nth.
bool matches(const Condition& when, const RequestInfo& info, std::string_view path) {
  auto has = [](std::string_view hay, const std::string& needle) { return hay.find(needle) != std::string_view::npos; };
  if (when.api && *when.api != info.api) return false;
  if (when.path_contains && !has(path, *when.path_contains)) return false;
  if (when.has_tools && *when.has_tools != !info.tools.empty()) return false;
  if (when.tool_offered &&
      std::find(info.tools.begin(), info.tools.end(), *when.tool_offered) == info.tools.end())
    return false;
  if (when.last_is_tool_result && *when.last_is_tool_result != info.last_is_tool_result) return false;
  if (when.user_contains && !has(info.last_user_text, *when.user_contains)) return false;
  if (when.any_user_contains &&
      std::none_of(info.user_texts.begin(), info.user_texts.end(),
                   [&](const std::string& t) { return has(t, *when.any_user_contains); }))
    return false;
  return true;
}

// A reply that only shapes the transport gets the built-in content.
Reply with_content(Reply reply, const RequestInfo& info) {
  bool has_content = !reply.text.empty() || !reply.thinking.empty() || !reply.tool_calls.empty();
  if (has_content || reply.status >= 300) return reply;
  Reply builtin = builtin_reply(info);
  reply.text = std::move(builtin.text);
  reply.tool_calls = std::move(builtin.tool_calls);
  return reply;
}

}  // namespace

Result<Script> parse_script(std::string_view text) {
  boost::system::error_code ec;
  json::value root = parse_json(text, ec);
  if (ec) return fail("script is not JSON: " + ec.message());
  if (!root.is_object()) return fail("script: expected a JSON object");
  return parse_script_object(root.get_object());
}

Result<Script> load_script(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read script " + path);
  std::ostringstream text;
  text << in.rdbuf();
  Result<Script> script = parse_script(text.str());
  if (!script) return fail(path + ": " + script.error());
  return script;
}

Reply builtin_reply(const RequestInfo& info) {
  Reply reply;
  if (info.tools.empty() || info.last_is_tool_result) {
    reply.text = info.last_is_tool_result ? "The tool ran. Done." : "Hello from the ClawTrace stand-in.";
    return reply;
  }
  auto shell_like = [](const std::string& name) { return contains_ci(name, "bash") || contains_ci(name, "shell"); };
  auto tool = std::find_if(info.tools.begin(), info.tools.end(), shell_like);
  ToolCallSpec call;
  call.name = tool != info.tools.end() ? *tool : info.tools.front();
  if (tool != info.tools.end()) call.args["command"] = kBuiltinCommand;
  call.arguments = json::serialize(call.args);
  reply.tool_calls.push_back(std::move(call));
  return reply;
}

Scripter::Scripter(Script script) : script_(std::move(script)), seen_(script_.rules.size(), 0) {}

// Every rule whose conditions hold counts the request, so `nth` sequences do not depend
// on which earlier rule won.
Choice Scripter::choose(const RequestInfo& info, std::string_view path) {
  std::lock_guard lock(mu_);
  std::vector<bool> holds(script_.rules.size());
  for (std::size_t i = 0; i < script_.rules.size(); ++i) {
    holds[i] = matches(script_.rules[i].when, info, path);
    if (holds[i]) ++seen_[i];
  }
  for (std::size_t i = 0; i < script_.rules.size(); ++i) {
    const Rule& rule = script_.rules[i];
    if (holds[i] && (!rule.when.nth || *rule.when.nth == seen_[i]))
      return {rule.label, with_content(rule.reply, info)};
  }
  if (script_.fallback) return {"default", with_content(*script_.fallback, info)};
  return {"builtin", builtin_reply(info)};
}

}  // namespace clawtrace::standin
