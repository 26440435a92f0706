// Gemini: POST …/models/{model}:generateContent and :streamGenerateContent (SSE with
// alt=sse, else one JSON array whose elements are whole responses).
#include "formats.h"

#include "codec.h"

#include <algorithm>

namespace clawtrace::standin {

namespace {

std::int64_t prompt_tokens(const Usage& u) { return u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h; }

// promptTokenCount includes cached tokens; thoughts are counted outside candidates.
json::object usage_metadata(const Usage& u) {
  json::object usage{{"promptTokenCount", prompt_tokens(u)},
                     {"candidatesTokenCount", u.output},
                     {"totalTokenCount", prompt_tokens(u) + u.output + u.reasoning}};
  if (u.cache_read > 0) usage["cachedContentTokenCount"] = u.cache_read;
  if (u.reasoning > 0) usage["thoughtsTokenCount"] = u.reasoning;
  return usage;
}

// What a stream chunk before the last reports: candidates generated so far.
json::object partial_usage(const Usage& u, std::int64_t candidates) {
  return {{"promptTokenCount", prompt_tokens(u)},
          {"candidatesTokenCount", candidates},
          {"totalTokenCount", prompt_tokens(u) + candidates}};
}

std::string finish_reason(const Reply& r) { return r.stop_reason.empty() ? "STOP" : r.stop_reason; }

json::object text_part(std::string_view text) { return {{"text", text}}; }
json::object thought_part(std::string_view text) { return {{"text", text}, {"thought", true}}; }
json::object call_part(const ToolCallSpec& call) { return {{"functionCall", {{"name", call.name}, {"args", call.args}}}}; }

json::array all_parts(const Reply& r) {
  json::array parts;
  if (!r.thinking.empty()) parts.push_back(thought_part(r.thinking));
  if (!r.text.empty()) parts.push_back(text_part(r.text));
  for (const ToolCallSpec& call : r.tool_calls) parts.push_back(call_part(call));
  if (parts.empty()) parts.push_back(text_part(""));
  return parts;
}

json::object response(const Resolved& res, json::array parts, const std::string* finish, json::object usage) {
  json::object candidate{{"content", {{"parts", std::move(parts)}, {"role", "model"}}}};
  if (finish) candidate["finishReason"] = *finish;
  candidate["index"] = 0;
  return {{"candidates", json::array{std::move(candidate)}},
          {"usageMetadata", std::move(usage)},
          {"modelVersion", res.model},
          {"responseId", serial_id("", res.serial)}};
}

// Gemini carries no tool-call id; arguments are the args object as serialised.
json::object log_fields(const Reply& r, const Resolved& res) {
  json::array calls;
  for (const ToolCallSpec& call : r.tool_calls)
    calls.push_back(json::object{{"id", nullptr}, {"name", call.name}, {"arguments", json::serialize(call.args)}});
  return {{"model_returned", res.model}, {"text", r.text},     {"thinking", r.thinking},
          {"tool_calls", std::move(calls)}, {"usage", usage_metadata(res.usage)}, {"stop_reason", finish_reason(r)}};
}

// Stream chunks' parts: thought deltas, text deltas, then all function calls at once.
std::vector<json::array> chunk_parts(const Reply& r) {
  std::vector<json::array> chunks;
  for (const std::string& d : text_deltas(r.thinking, r)) chunks.push_back({thought_part(d)});
  for (const std::string& d : text_deltas(r.text, r)) chunks.push_back({text_part(d)});
  json::array calls;
  for (const ToolCallSpec& call : r.tool_calls) calls.push_back(call_part(call));
  if (!calls.empty() || chunks.empty()) chunks.push_back(calls.empty() ? json::array{text_part("")} : calls);
  return chunks;
}

std::vector<json::object> stream_chunks(const Reply& r, const Resolved& res, json::array& usage_events) {
  std::vector<json::array> parts = chunk_parts(r);
  std::vector<json::object> chunks;
  std::string finish = finish_reason(r);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    std::int64_t so_far = res.usage.output * static_cast<std::int64_t>(i + 1) / static_cast<std::int64_t>(parts.size());
    json::object usage = last ? usage_metadata(res.usage) : partial_usage(res.usage, so_far);
    usage_events.push_back(usage);
    chunks.push_back(response(res, std::move(parts[i]), last ? &finish : nullptr, std::move(usage)));
  }
  return chunks;
}

Rendered render_stream(const RequestInfo& info, const Reply& r, const Resolved& res) {
  Rendered out;
  json::array usage_events;
  std::vector<json::object> chunks = stream_chunks(r, res, usage_events);
  out.content_type = info.sse ? std::string(kSseType) : "application/json; charset=UTF-8";
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    if (info.sse) {
      out.pieces.push_back(sse_data(chunks[i]));
    } else {
      out.pieces.push_back((i == 0 ? "[" : ",\r\n") + json::serialize(chunks[i]) + (i + 1 == chunks.size() ? "]" : ""));
    }
  }
  out.log = log_fields(r, res);
  out.log["usage_events"] = std::move(usage_events);
  return out;
}

std::string status_name(int status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 429: return "RESOURCE_EXHAUSTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

// ".../models/NAME:method" → NAME
std::string model_from_path(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  std::size_t at = path.rfind("models/");
  if (at == std::string_view::npos) return {};
  std::string_view rest = path.substr(at + 7);
  return to_valid_utf8(rest.substr(0, rest.find(':')));
}

bool query_has(std::string_view target, std::string_view param) {
  std::size_t q = target.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    if (query.substr(0, amp) == param) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

bool is_function_response(const json::value& part) {
  return field(part, "functionResponse") != nullptr || field(part, "function_response") != nullptr;
}

void inspect_tools(const json::value& body, RequestInfo& info) {
  const json::array* tools = array_field(body, "tools");
  if (!tools) return;
  for (const json::value& tool : *tools) {
    const json::array* decls = array_field(tool, "functionDeclarations");
    if (!decls) decls = array_field(tool, "function_declarations");
    if (!decls) continue;
    for (const json::value& decl : *decls)
      if (std::string name = string_field(decl, "name"); !name.empty()) info.tools.push_back(name);
  }
}

void inspect_contents(const json::value& body, RequestInfo& info) {
  const json::array* contents = array_field(body, "contents");
  if (!contents || contents->empty()) return;
  const json::array* last_parts = array_field(contents->back(), "parts");
  info.last_is_tool_result = last_parts && std::any_of(last_parts->begin(), last_parts->end(), is_function_response);
  for (const json::value& c : *contents) {
    std::string role = string_field(c, "role");
    if (role == "user" || role.empty()) add_user_text(info, content_text(field(c, "parts"), {}));
  }
}

}  // namespace

RequestInfo inspect_gemini(const json::value& body, std::string_view target) {
  RequestInfo info;
  info.api = std::string(kGemini);
  info.model = model_from_path(target);
  info.stream = target.find(":streamGenerateContent") != std::string_view::npos;
  info.sse = info.stream && query_has(target, "alt=sse");
  inspect_tools(body, info);
  inspect_contents(body, info);
  return info;
}

Rendered render_gemini(const RequestInfo& info, const Reply& reply, const Resolved& resolved) {
  if (info.stream) return render_stream(info, reply, resolved);
  Rendered out;
  out.content_type = "application/json; charset=UTF-8";
  std::string finish = finish_reason(reply);
  out.pieces.push_back(json::serialize(response(resolved, all_parts(reply), &finish, usage_metadata(resolved.usage))));
  out.log = log_fields(reply, resolved);
  return out;
}

Rendered gemini_error(int status, std::string_view message, const Resolved&) {
  Rendered out;
  out.status = status;
  out.content_type = "application/json; charset=UTF-8";
  std::string name = status_name(status);
  out.pieces.push_back(json::serialize(json::object{{"error", {{"code", status}, {"message", message}, {"status", name}}}}));
  out.log["error_type"] = name;
  return out;
}

}  // namespace clawtrace::standin
