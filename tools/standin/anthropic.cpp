// Anthropic Messages: POST /v1/messages, JSON or SSE.
#include "formats.h"

#include <algorithm>

namespace clawtrace::standin {

namespace {

// Not a real signature; clients only hand it back.
constexpr std::string_view kSignature = "c3RhbmQtaW4gdGhpbmtpbmcgc2lnbmF0dXJl";

std::string tool_id(const Resolved& res, std::size_t i) { return serial_id("toolu_01", res.tool_serials[i]); }

std::int64_t output_tokens(const Usage& u) { return u.output + u.reasoning; }

// The input side is additive: input_tokens excludes cache reads and writes.
json::object input_usage(const Usage& u) {
  return {{"input_tokens", u.input},
          {"cache_creation_input_tokens", u.cache_write_5m + u.cache_write_1h},
          {"cache_read_input_tokens", u.cache_read}};
}

json::object full_usage(const Usage& u, std::int64_t output) {
  json::object usage = input_usage(u);
  usage["cache_creation"] = {{"ephemeral_5m_input_tokens", u.cache_write_5m},
                             {"ephemeral_1h_input_tokens", u.cache_write_1h}};
  usage["output_tokens"] = output;
  usage["service_tier"] = "standard";
  return usage;
}

std::string stop_reason(const Reply& r) {
  if (!r.stop_reason.empty()) return r.stop_reason;
  return r.tool_calls.empty() ? "end_turn" : "tool_use";
}

json::array content_blocks(const Reply& r, const Resolved& res) {
  json::array content;
  if (!r.thinking.empty())
    content.push_back(json::object{{"type", "thinking"}, {"thinking", r.thinking}, {"signature", kSignature}});
  if (!r.text.empty()) content.push_back(json::object{{"type", "text"}, {"text", r.text}});
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i)
    content.push_back(json::object{{"type", "tool_use"},
                                   {"id", tool_id(res, i)},
                                   {"name", r.tool_calls[i].name},
                                   {"input", r.tool_calls[i].args}});
  return content;
}

json::object message(const Resolved& res, json::array content, json::value stop, json::object usage) {
  return {{"id", serial_id("msg_01", res.serial)},
          {"type", "message"},
          {"role", "assistant"},
          {"model", res.model},
          {"content", std::move(content)},
          {"stop_reason", std::move(stop)},
          {"stop_sequence", nullptr},
          {"usage", std::move(usage)}};
}

// Streamed arguments are the script's text verbatim; a JSON body carries the object.
json::array tool_log(const Reply& r, const Resolved& res, bool streamed) {
  json::array calls;
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i)
    calls.push_back(json::object{
        {"id", tool_id(res, i)},
        {"name", r.tool_calls[i].name},
        {"arguments", streamed ? r.tool_calls[i].arguments : json::serialize(r.tool_calls[i].args)}});
  return calls;
}

json::object common_log(const Reply& r, const Resolved& res, bool streamed) {
  return {{"model_returned", res.model}, {"text", r.text},           {"thinking", r.thinking},
          {"tool_calls", tool_log(r, res, streamed)}, {"stop_reason", stop_reason(r)}};
}

Rendered base(std::string_view content_type, const Resolved& res) {
  Rendered out;
  out.content_type = std::string(content_type);
  out.headers.emplace_back("request-id", serial_id("req_01", res.serial));
  return out;
}

Rendered render_json(const Reply& r, const Resolved& res) {
  Rendered out = base(kJsonType, res);
  json::object usage = full_usage(res.usage, output_tokens(res.usage));
  out.pieces.push_back(json::serialize(message(res, content_blocks(r, res), json::value(stop_reason(r)), usage)));
  out.log = common_log(r, res, false);
  out.log["usage"] = std::move(usage);
  return out;
}

class EventWriter {
 public:
  void add(std::string_view name, const json::object& data) { pieces.push_back(sse_event(name, data)); }
  void block_start(std::size_t index, json::object block) {
    add("content_block_start", {{"type", "content_block_start"}, {"index", index}, {"content_block", std::move(block)}});
    if (!pinged_) add("ping", {{"type", "ping"}});
    pinged_ = true;
  }
  void block_delta(std::size_t index, json::object delta) {
    add("content_block_delta", {{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(delta)}});
  }
  void block_stop(std::size_t index) { add("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}); }

  std::vector<std::string> pieces;

 private:
  bool pinged_ = false;
};

void stream_thinking(EventWriter& ev, std::size_t index, const Reply& r) {
  ev.block_start(index, {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}});
  for (const std::string& d : text_deltas(r.thinking, r))
    ev.block_delta(index, {{"type", "thinking_delta"}, {"thinking", d}});
  ev.block_delta(index, {{"type", "signature_delta"}, {"signature", kSignature}});
  ev.block_stop(index);
}

void stream_text(EventWriter& ev, std::size_t index, const Reply& r) {
  ev.block_start(index, {{"type", "text"}, {"text", ""}});
  for (const std::string& d : text_deltas(r.text, r)) ev.block_delta(index, {{"type", "text_delta"}, {"text", d}});
  ev.block_stop(index);
}

// Like the real API: an empty partial_json first, then the argument text in fragments.
void stream_tool(EventWriter& ev, std::size_t index, const std::string& id, const ToolCallSpec& call) {
  ev.block_start(index, {{"type", "tool_use"}, {"id", id}, {"name", call.name}, {"input", json::object{}}});
  ev.block_delta(index, {{"type", "input_json_delta"}, {"partial_json", ""}});
  for (const std::string& d : argument_deltas(call.arguments))
    ev.block_delta(index, {{"type", "input_json_delta"}, {"partial_json", d}});
  ev.block_stop(index);
}

void stream_blocks(EventWriter& ev, const Reply& r, const Resolved& res) {
  std::size_t index = 0;
  if (!r.thinking.empty()) stream_thinking(ev, index++, r);
  if (!r.text.empty()) stream_text(ev, index++, r);
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i) stream_tool(ev, index++, tool_id(res, i), r.tool_calls[i]);
}

// message_delta usage is cumulative: each one restates every count so far.
json::object delta_usage(const Usage& u, std::int64_t output) {
  json::object usage = input_usage(u);
  usage["output_tokens"] = output;
  return usage;
}

Rendered render_stream(const Reply& r, const Resolved& res) {
  Rendered out = base(kSseType, res);
  json::array usage_events;
  json::object start_usage = full_usage(res.usage, 1);
  usage_events.push_back(start_usage);
  EventWriter ev;
  ev.add("message_start", {{"type", "message_start"}, {"message", message(res, {}, nullptr, start_usage)}});
  stream_blocks(ev, r, res);
  std::int64_t final_output = output_tokens(res.usage);
  std::vector<std::int64_t> outputs{final_output};
  if (r.double_message_delta) outputs.insert(outputs.begin(), final_output / 2);
  for (std::int64_t output : outputs) {
    json::object usage = delta_usage(res.usage, output);
    usage_events.push_back(usage);
    ev.add("message_delta", {{"type", "message_delta"},
                             {"delta", {{"stop_reason", stop_reason(r)}, {"stop_sequence", nullptr}}},
                             {"usage", std::move(usage)}});
  }
  ev.add("message_stop", {{"type", "message_stop"}});
  out.pieces = std::move(ev.pieces);
  out.log = common_log(r, res, true);
  out.log["usage"] = full_usage(res.usage, final_output);  // what a consumer ends up with
  out.log["usage_events"] = std::move(usage_events);
  return out;
}

std::string error_type(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

}  // namespace

RequestInfo inspect_anthropic(const json::value& body, std::string_view) {
  RequestInfo info;
  info.api = std::string(kAnthropic);
  info.model = string_field(body, "model");
  info.stream = bool_field(body, "stream", false);
  if (const json::array* tools = array_field(body, "tools"))
    for (const json::value& tool : *tools)
      if (std::string name = string_field(tool, "name"); !name.empty()) info.tools.push_back(name);
  const json::array* messages = array_field(body, "messages");
  if (!messages || messages->empty()) return info;
  // Claude Code appends `role: system` messages (mid-conversation system beta) after a tool
  // result; the turn the model answers is still that result.
  auto last = std::find_if(messages->rbegin(), messages->rend(),
                           [](const json::value& m) { return string_field(m, "role") != "system"; });
  info.last_is_tool_result = last != messages->rend() && string_field(*last, "role") == "user" &&
                             has_part_type(field(*last, "content"), "tool_result");
  for (const json::value& m : *messages)
    if (string_field(m, "role") == "user") add_user_text(info, content_text(field(m, "content"), {"text"}));
  return info;
}

Rendered render_anthropic(const RequestInfo& info, const Reply& reply, const Resolved& resolved) {
  return info.stream ? render_stream(reply, resolved) : render_json(reply, resolved);
}

Rendered anthropic_error(int status, std::string_view message_text, const Resolved& resolved) {
  Rendered out = base(kJsonType, resolved);
  out.status = status;
  std::string type = error_type(status);
  out.pieces.push_back(json::serialize(json::object{{"type", "error"},
                                                    {"error", {{"type", type}, {"message", message_text}}},
                                                    {"request_id", serial_id("req_01", resolved.serial)}}));
  out.log["error_type"] = type;
  return out;
}

}  // namespace clawtrace::standin
