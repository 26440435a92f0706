// Ollama: POST /api/chat; streams newline-delimited JSON objects unless "stream": false.
#include "formats.h"

#include <ctime>

namespace clawtrace::standin {

namespace {

constexpr std::string_view kNdjsonType = "application/x-ndjson";

std::int64_t prompt_count(const Usage& u) { return u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h; }
std::int64_t eval_count(const Usage& u) { return u.output + u.reasoning; }

std::string created_at(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000000Z", &tm);
  return buf;
}

std::string done_reason(const Reply& r) { return r.stop_reason.empty() ? "stop" : r.stop_reason; }

json::array tool_calls_json(const Reply& r) {
  json::array calls;
  for (const ToolCallSpec& call : r.tool_calls)
    calls.push_back(json::object{{"function", {{"name", call.name}, {"arguments", call.args}}}});
  return calls;
}

json::object message(std::string_view content) { return {{"role", "assistant"}, {"content", content}}; }

json::object head(const Resolved& res, json::object msg) {
  return {{"model", res.model}, {"created_at", created_at(res.created)}, {"message", std::move(msg)}};
}

// Durations (ns) are made up but deterministic: they follow the token counts.
void add_final_fields(json::object& obj, const Reply& r, const Usage& u) {
  std::int64_t prompt_ns = prompt_count(u) * 100'000;
  std::int64_t eval_ns = eval_count(u) * 2'000'000;
  std::int64_t load_ns = 1'000'000;
  obj["done_reason"] = done_reason(r);
  obj["done"] = true;
  obj["total_duration"] = load_ns + prompt_ns + eval_ns;
  obj["load_duration"] = load_ns;
  obj["prompt_eval_count"] = prompt_count(u);
  obj["prompt_eval_duration"] = prompt_ns;
  obj["eval_count"] = eval_count(u);
  obj["eval_duration"] = eval_ns;
}

std::string line(const json::object& obj) { return json::serialize(obj) + "\n"; }

json::object log_fields(const Reply& r, const Resolved& res) {
  json::array calls;
  for (const ToolCallSpec& call : r.tool_calls)
    calls.push_back(json::object{{"id", nullptr}, {"name", call.name}, {"arguments", json::serialize(call.args)}});
  return {{"model_returned", res.model},
          {"text", r.text},
          {"thinking", r.thinking},
          {"tool_calls", std::move(calls)},
          {"usage", {{"prompt_eval_count", prompt_count(res.usage)}, {"eval_count", eval_count(res.usage)}}},
          {"stop_reason", done_reason(r)}};
}

Rendered render_json(const Reply& r, const Resolved& res) {
  json::object msg = message(r.text);
  if (!r.thinking.empty()) msg["thinking"] = r.thinking;
  if (!r.tool_calls.empty()) msg["tool_calls"] = tool_calls_json(r);
  json::object obj = head(res, std::move(msg));
  add_final_fields(obj, r, res.usage);
  Rendered out;
  out.content_type = std::string(kJsonType) + "; charset=utf-8";
  out.pieces.push_back(json::serialize(obj));
  out.log = log_fields(r, res);
  return out;
}

Rendered render_stream(const Reply& r, const Resolved& res) {
  Rendered out;
  out.content_type = std::string(kNdjsonType);
  auto partial = [&](json::object msg) {
    json::object obj = head(res, std::move(msg));
    obj["done"] = false;
    out.pieces.push_back(line(obj));
  };
  for (const std::string& d : text_deltas(r.thinking, r)) {
    json::object msg = message("");
    msg["thinking"] = d;
    partial(std::move(msg));
  }
  for (const std::string& d : text_deltas(r.text, r)) partial(message(d));
  if (!r.tool_calls.empty()) {
    json::object msg = message("");
    msg["tool_calls"] = tool_calls_json(r);
    partial(std::move(msg));
  }
  json::object last = head(res, message(""));
  add_final_fields(last, r, res.usage);
  out.pieces.push_back(line(last));
  out.log = log_fields(r, res);
  return out;
}

}  // namespace

RequestInfo inspect_ollama(const json::value& body, std::string_view) {
  RequestInfo info;
  info.api = std::string(kOllama);
  info.model = string_field(body, "model");
  info.stream = bool_field(body, "stream", true);
  if (const json::array* tools = array_field(body, "tools"))
    for (const json::value& tool : *tools)
      if (const json::value* fn = field(tool, "function"))
        if (std::string name = string_field(*fn, "name"); !name.empty()) info.tools.push_back(name);
  const json::array* messages = array_field(body, "messages");
  if (!messages || messages->empty()) return info;
  info.last_is_tool_result = string_field(messages->back(), "role") == "tool";
  for (const json::value& m : *messages)
    if (string_field(m, "role") == "user") add_user_text(info, string_field(m, "content"));
  return info;
}

Rendered render_ollama(const RequestInfo& info, const Reply& reply, const Resolved& resolved) {
  return info.stream ? render_stream(reply, resolved) : render_json(reply, resolved);
}

Rendered ollama_error(int status, std::string_view message_text, const Resolved&) {
  Rendered out;
  out.status = status;
  out.content_type = std::string(kJsonType) + "; charset=utf-8";
  out.pieces.push_back(json::serialize(json::object{{"error", message_text}}));
  return out;
}

}  // namespace clawtrace::standin
