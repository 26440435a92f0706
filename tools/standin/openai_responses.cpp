// OpenAI Responses: POST …/responses, JSON or SSE events with sequence numbers (no [DONE]).
#include "formats.h"

namespace clawtrace::standin {

namespace {

std::string call_id(const Resolved& res, std::size_t i) { return serial_id("call_", res.tool_serials[i]); }
std::string call_item_id(const Resolved& res, std::size_t i) { return serial_id("fc_", res.tool_serials[i]); }
std::string message_id(const Resolved& res) { return serial_id("msg_", res.serial); }
std::string reasoning_id(const Resolved& res) { return serial_id("rs_", res.serial); }

// input_tokens includes cached tokens; output_tokens includes reasoning.
json::object usage_object(const Usage& u) {
  std::int64_t input = u.input + u.cache_read + u.cache_write_5m + u.cache_write_1h;
  std::int64_t output = u.output + u.reasoning;
  return {{"input_tokens", input},
          {"input_tokens_details", {{"cached_tokens", u.cache_read}}},
          {"output_tokens", output},
          {"output_tokens_details", {{"reasoning_tokens", u.reasoning}}},
          {"total_tokens", input + output}};
}

std::string incomplete_reason(const Reply& r) {
  return r.stop_reason.empty() ? "max_output_tokens" : r.stop_reason;
}

json::object text_part(std::string_view text) {
  return {{"type", "output_text"}, {"annotations", json::array{}}, {"logprobs", json::array{}}, {"text", text}};
}

json::object summary_part(std::string_view text) { return {{"type", "summary_text"}, {"text", text}}; }

json::object reasoning_item(const Resolved& res, json::array summary) {
  return {{"id", reasoning_id(res)}, {"type", "reasoning"}, {"summary", std::move(summary)}};
}

json::object message_item(const Resolved& res, std::string_view status, json::array content) {
  return {{"id", message_id(res)}, {"type", "message"}, {"status", status}, {"role", "assistant"}, {"content", std::move(content)}};
}

json::object call_item(const Resolved& res, std::size_t i, std::string_view status, std::string_view arguments,
                       const ToolCallSpec& call) {
  return {{"id", call_item_id(res, i)}, {"type", "function_call"}, {"status", status},
          {"arguments", arguments},     {"call_id", call_id(res, i)},  {"name", call.name}};
}

json::array final_output(const Reply& r, const Resolved& res) {
  json::array output;
  if (!r.thinking.empty()) output.push_back(reasoning_item(res, {summary_part(r.thinking)}));
  if (!r.text.empty())
    output.push_back(message_item(res, r.incomplete ? "incomplete" : "completed", {text_part(r.text)}));
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i)
    output.push_back(call_item(res, i, "completed", r.tool_calls[i].arguments, r.tool_calls[i]));
  return output;
}

json::object response_object(const Resolved& res, std::string_view status, json::array output, json::value usage,
                             json::value incomplete_details) {
  return {{"id", serial_id("resp_", res.serial)},
          {"object", "response"},
          {"created_at", res.created},
          {"status", status},
          {"error", nullptr},
          {"incomplete_details", std::move(incomplete_details)},
          {"instructions", nullptr},
          {"max_output_tokens", nullptr},
          {"model", res.model},
          {"output", std::move(output)},
          {"parallel_tool_calls", true},
          {"previous_response_id", nullptr},
          {"reasoning", {{"effort", nullptr}, {"summary", nullptr}}},
          {"store", true},
          {"temperature", 1.0},
          {"text", {{"format", {{"type", "text"}}}}},
          {"tool_choice", "auto"},
          {"tools", json::array{}},
          {"top_p", 1.0},
          {"truncation", "disabled"},
          {"usage", std::move(usage)},
          {"user", nullptr},
          {"metadata", json::object{}}};
}

json::object finished_response(const Reply& r, const Resolved& res) {
  json::value details = nullptr;
  if (r.incomplete) details = json::object{{"reason", incomplete_reason(r)}};
  return response_object(res, r.incomplete ? "incomplete" : "completed", final_output(r, res),
                         usage_object(res.usage), std::move(details));
}

json::object log_fields(const Reply& r, const Resolved& res) {
  json::array calls;
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i)
    calls.push_back(json::object{{"id", call_id(res, i)},
                                 {"item_id", call_item_id(res, i)},
                                 {"name", r.tool_calls[i].name},
                                 {"arguments", r.tool_calls[i].arguments}});
  json::object log{{"model_returned", res.model}, {"text", r.text}, {"thinking", r.thinking},
                   {"tool_calls", std::move(calls)}, {"usage", usage_object(res.usage)},
                   {"stop_reason", r.incomplete ? "incomplete" : "completed"}};
  if (r.incomplete) log["incomplete_reason"] = incomplete_reason(r);
  return log;
}

Rendered base(std::string_view content_type, const Resolved& res) {
  Rendered out;
  out.content_type = std::string(content_type);
  out.headers.emplace_back("x-request-id", serial_id("req_", res.serial));
  return out;
}

Rendered render_json(const Reply& r, const Resolved& res) {
  Rendered out = base(kJsonType, res);
  out.pieces.push_back(json::serialize(finished_response(r, res)));
  out.log = log_fields(r, res);
  return out;
}

json::object merged(json::object base, json::object extra) {
  for (auto& kv : extra) base[kv.key()] = std::move(kv.value());
  return base;
}

class EventWriter {
 public:
  void add(std::string_view type, json::object fields) {
    json::object event = merged({{"type", type}, {"sequence_number", next_++}}, std::move(fields));
    pieces.push_back(sse_event(type, event));
  }
  std::vector<std::string> pieces;

 private:
  std::uint64_t next_ = 0;
};

void stream_reasoning(EventWriter& ev, std::size_t index, const Reply& r, const Resolved& res) {
  std::string id = reasoning_id(res);
  ev.add("response.output_item.added", {{"output_index", index}, {"item", reasoning_item(res, {})}});
  json::object at{{"item_id", id}, {"output_index", index}, {"summary_index", 0}};
  ev.add("response.reasoning_summary_part.added", merged(at, {{"part", summary_part("")}}));
  for (const std::string& d : text_deltas(r.thinking, r))
    ev.add("response.reasoning_summary_text.delta", merged(at, {{"delta", d}}));
  ev.add("response.reasoning_summary_text.done", merged(at, {{"text", r.thinking}}));
  ev.add("response.reasoning_summary_part.done", merged(at, {{"part", summary_part(r.thinking)}}));
  ev.add("response.output_item.done", {{"output_index", index}, {"item", reasoning_item(res, {summary_part(r.thinking)})}});
}

void stream_message(EventWriter& ev, std::size_t index, const Reply& r, const Resolved& res) {
  std::string id = message_id(res);
  ev.add("response.output_item.added", {{"output_index", index}, {"item", message_item(res, "in_progress", {})}});
  json::object at{{"item_id", id}, {"output_index", index}, {"content_index", 0}};
  ev.add("response.content_part.added", merged(at, {{"part", text_part("")}}));
  for (const std::string& d : text_deltas(r.text, r))
    ev.add("response.output_text.delta", merged(at, {{"delta", d}, {"logprobs", json::array{}}}));
  ev.add("response.output_text.done", merged(at, {{"text", r.text}, {"logprobs", json::array{}}}));
  ev.add("response.content_part.done", merged(at, {{"part", text_part(r.text)}}));
  ev.add("response.output_item.done",
         {{"output_index", index}, {"item", message_item(res, r.incomplete ? "incomplete" : "completed", {text_part(r.text)})}});
}

void stream_call(EventWriter& ev, std::size_t index, std::size_t i, const Reply& r, const Resolved& res) {
  const ToolCallSpec& call = r.tool_calls[i];
  std::string id = call_item_id(res, i);
  ev.add("response.output_item.added", {{"output_index", index}, {"item", call_item(res, i, "in_progress", "", call)}});
  for (const std::string& d : argument_deltas(call.arguments))
    ev.add("response.function_call_arguments.delta", {{"item_id", id}, {"output_index", index}, {"delta", d}});
  ev.add("response.function_call_arguments.done",
         {{"item_id", id}, {"output_index", index}, {"name", call.name}, {"arguments", call.arguments}});
  ev.add("response.output_item.done", {{"output_index", index}, {"item", call_item(res, i, "completed", call.arguments, call)}});
}

Rendered render_stream(const Reply& r, const Resolved& res) {
  Rendered out = base(kSseType, res);
  EventWriter ev;
  json::object opening = response_object(res, "in_progress", {}, nullptr, nullptr);
  ev.add("response.created", {{"response", opening}});
  ev.add("response.in_progress", {{"response", opening}});
  std::size_t index = 0;
  if (!r.thinking.empty()) stream_reasoning(ev, index++, r, res);
  if (!r.text.empty()) stream_message(ev, index++, r, res);
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i) stream_call(ev, index++, i, r, res);
  ev.add(r.incomplete ? "response.incomplete" : "response.completed", {{"response", finished_response(r, res)}});
  out.pieces = std::move(ev.pieces);
  out.log = log_fields(r, res);
  return out;
}

bool is_tool_output(const json::value& item) {
  std::string type = string_field(item, "type");
  return type == "function_call_output" || type == "custom_tool_call_output";
}

void inspect_input(const json::value& input, RequestInfo& info) {
  if (input.is_string()) {
    add_user_text(info, std::string(input.get_string()));
    return;
  }
  const json::array* items = input.if_array();
  if (!items || items->empty()) return;
  info.last_is_tool_result = is_tool_output(items->back());
  for (const json::value& item : *items)
    if (string_field(item, "role") == "user")
      add_user_text(info, content_text(field(item, "content"), {"input_text", "text"}));
}

}  // namespace

RequestInfo inspect_openai_responses(const json::value& body, std::string_view) {
  RequestInfo info;
  info.api = std::string(kOpenAIResponses);
  info.model = string_field(body, "model");
  info.stream = bool_field(body, "stream", false);
  if (const json::array* tools = array_field(body, "tools"))
    for (const json::value& tool : *tools)
      if (std::string name = string_field(tool, "name"); !name.empty()) info.tools.push_back(name);
  if (const json::value* input = field(body, "input")) inspect_input(*input, info);
  return info;
}

Rendered render_openai_responses(const RequestInfo& info, const Reply& reply, const Resolved& resolved) {
  return info.stream ? render_stream(reply, resolved) : render_json(reply, resolved);
}

}  // namespace clawtrace::standin
