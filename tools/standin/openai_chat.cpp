// OpenAI Chat Completions: POST …/chat/completions, JSON or SSE chunks ending in [DONE].
#include "formats.h"

namespace clawtrace::standin {

namespace {

std::string call_id(const Resolved& res, std::size_t i) { return serial_id("call_", res.tool_serials[i]); }

// prompt_tokens includes cached tokens; completion_tokens includes reasoning.
json::object usage_object(const Usage& u) {
  std::int64_t prompt = u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h;
  std::int64_t completion = u.output + u.reasoning;
  json::object prompt_details{{"cached_tokens", u.cache_read}, {"audio_tokens", 0}};
  if (u.cache_write_5m + u.cache_write_1h > 0)
    prompt_details["cache_write_tokens"] = u.cache_write_5m + u.cache_write_1h;
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", std::move(prompt_details)},
          {"completion_tokens_details",
           {{"reasoning_tokens", u.reasoning},
            {"audio_tokens", 0},
            {"accepted_prediction_tokens", 0},
            {"rejected_prediction_tokens", 0}}}};
}

std::string finish_reason(const Reply& r) {
  if (!r.stop_reason.empty()) return r.stop_reason;
  return r.tool_calls.empty() ? "stop" : "tool_calls";
}

json::array tool_calls_json(const Reply& r, const Resolved& res) {
  json::array calls;
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i)
    calls.push_back(json::object{{"id", call_id(res, i)},
                                 {"type", "function"},
                                 {"function", {{"name", r.tool_calls[i].name}, {"arguments", r.tool_calls[i].arguments}}}});
  return calls;
}

json::array tool_log(const Reply& r, const Resolved& res) {
  json::array calls;
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i)
    calls.push_back(json::object{
        {"id", call_id(res, i)}, {"name", r.tool_calls[i].name}, {"arguments", r.tool_calls[i].arguments}});
  return calls;
}

// Reasoning text is not part of OpenAI's own API; compatible servers send reasoning_content.
json::object message_json(const Reply& r, const Resolved& res) {
  json::object message{{"role", "assistant"},
                       {"content", r.text.empty() && !r.tool_calls.empty() ? json::value(nullptr) : json::value(r.text)},
                       {"refusal", nullptr},
                       {"annotations", json::array{}}};
  if (!r.thinking.empty()) message["reasoning_content"] = r.thinking;
  if (!r.tool_calls.empty()) message["tool_calls"] = tool_calls_json(r, res);
  return message;
}

json::object log_fields(const Reply& r, const Resolved& res, json::value usage) {
  return {{"model_returned", res.model}, {"text", r.text}, {"thinking", r.thinking},
          {"tool_calls", tool_log(r, res)}, {"usage", std::move(usage)}, {"stop_reason", finish_reason(r)}};
}

Rendered base(std::string_view content_type, const Resolved& res) {
  Rendered out;
  out.content_type = std::string(content_type);
  out.headers.emplace_back("x-request-id", serial_id("req_", res.serial));
  return out;
}

Rendered render_json(const Reply& r, const Resolved& res) {
  Rendered out = base(kJsonType, res);
  json::object usage = usage_object(res.usage);
  json::object body{{"id", serial_id("chatcmpl-", res.serial)},
                    {"object", "chat.completion"},
                    {"created", res.created},
                    {"model", res.model},
                    {"choices", json::array{json::object{{"index", 0},
                                                         {"message", message_json(r, res)},
                                                         {"logprobs", nullptr},
                                                         {"finish_reason", finish_reason(r)}}}},
                    {"usage", usage},
                    {"service_tier", "default"},
                    {"system_fingerprint", "fp_standin"}};
  out.pieces.push_back(json::serialize(body));
  out.log = log_fields(r, res, std::move(usage));
  return out;
}

class ChunkWriter {
 public:
  ChunkWriter(const RequestInfo& info, const Resolved& res) : info_(info), res_(res) {}

  void choice(json::object delta, json::value finish = nullptr) {
    json::object chunk = head();
    chunk["choices"] = json::array{json::object{
        {"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}};
    if (info_.include_usage) chunk["usage"] = nullptr;
    pieces.push_back(sse_data(chunk));
  }

  void usage(json::object usage) {
    json::object chunk = head();
    chunk["choices"] = json::array{};
    chunk["usage"] = std::move(usage);
    pieces.push_back(sse_data(chunk));
  }

  std::vector<std::string> pieces;

 private:
  json::object head() const {
    return {{"id", serial_id("chatcmpl-", res_.serial)},
            {"object", "chat.completion.chunk"},
            {"created", res_.created},
            {"model", res_.model},
            {"system_fingerprint", "fp_standin"}};
  }
  const RequestInfo& info_;
  const Resolved& res_;
};

// The id, type and name only in a call's first fragment; then arguments by index.
void stream_tool_call(ChunkWriter& w, std::size_t index, const std::string& id, const ToolCallSpec& call) {
  json::object first{{"index", index}, {"id", id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", ""}}}};
  w.choice({{"tool_calls", json::array{std::move(first)}}});
  for (const std::string& d : argument_deltas(call.arguments))
    w.choice({{"tool_calls", json::array{json::object{{"index", index}, {"function", {{"arguments", d}}}}}}});
}

Rendered render_stream(const RequestInfo& info, const Reply& r, const Resolved& res) {
  Rendered out = base(kSseType, res);
  ChunkWriter w(info, res);
  w.choice({{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}});
  for (const std::string& d : text_deltas(r.thinking, r)) w.choice({{"reasoning_content", d}});
  for (const std::string& d : text_deltas(r.text, r)) w.choice({{"content", d}});
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i) stream_tool_call(w, i, call_id(res, i), r.tool_calls[i]);
  w.choice(json::object{}, json::value(finish_reason(r)));
  json::value usage = nullptr;  // nothing is sent without stream_options.include_usage
  if (info.include_usage) {
    usage = usage_object(res.usage);
    w.usage(usage.as_object());
  }
  w.pieces.push_back("data: [DONE]\n\n");
  out.pieces = std::move(w.pieces);
  out.log = log_fields(r, res, std::move(usage));
  return out;
}

struct ErrorShape {
  const char* type;
  const char* code;  // nullptr: JSON null
};

ErrorShape error_shape(int status) {
  switch (status) {
    case 401: return {"invalid_request_error", "invalid_api_key"};
    case 403: return {"invalid_request_error", "unsupported_country_region_territory"};
    case 404: return {"invalid_request_error", "model_not_found"};
    case 429: return {"requests", "rate_limit_exceeded"};
    default: return {status >= 500 ? "server_error" : "invalid_request_error", nullptr};
  }
}

}  // namespace

RequestInfo inspect_openai_chat(const json::value& body, std::string_view) {
  RequestInfo info;
  info.api = std::string(kOpenAIChat);
  info.model = string_field(body, "model");
  info.stream = bool_field(body, "stream", false);
  if (const json::value* options = field(body, "stream_options"))
    info.include_usage = bool_field(*options, "include_usage", false);
  if (const json::array* tools = array_field(body, "tools"))
    for (const json::value& tool : *tools)
      if (const json::value* fn = field(tool, "function"))
        if (std::string name = string_field(*fn, "name"); !name.empty()) info.tools.push_back(name);
  if (const json::array* functions = array_field(body, "functions"))  // the legacy form
    for (const json::value& fn : *functions)
      if (std::string name = string_field(fn, "name"); !name.empty()) info.tools.push_back(name);
  const json::array* messages = array_field(body, "messages");
  if (!messages || messages->empty()) return info;
  std::string last_role = string_field(messages->back(), "role");
  info.last_is_tool_result = last_role == "tool" || last_role == "function";
  for (const json::value& m : *messages)
    if (string_field(m, "role") == "user") add_user_text(info, content_text(field(m, "content"), {"text"}));
  return info;
}

Rendered render_openai_chat(const RequestInfo& info, const Reply& reply, const Resolved& resolved) {
  return info.stream ? render_stream(info, reply, resolved) : render_json(reply, resolved);
}

Rendered openai_error(int status, std::string_view message, const Resolved& resolved) {
  Rendered out = base(kJsonType, resolved);
  out.status = status;
  ErrorShape shape = error_shape(status);
  json::value code = shape.code ? json::value(shape.code) : json::value(nullptr);
  out.pieces.push_back(json::serialize(json::object{
      {"error", {{"message", message}, {"type", shape.type}, {"param", nullptr}, {"code", code}}}}));
  out.log["error_type"] = shape.type;
  return out;
}

}  // namespace clawtrace::standin
