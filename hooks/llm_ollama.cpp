// Ollama native chat: POST /api/chat. Streams (the default) are newline-delimited JSON.
#include "llm_detail.h"
#include "sse.h"

namespace clawtrace::llm::detail {
namespace {

std::string tool_call_name(const json::object& call) {
  const json::object* fn = obj(call, "function");
  return std::string(fn ? str(*fn, "name") : std::string_view{});
}

std::string tool_call_args(const json::object& call) {
  const json::object* fn = obj(call, "function");
  return arguments_text(fn ? member(*fn, "arguments") : nullptr);
}

json::array message_blocks(const json::object& m) {
  json::array blocks;
  if (std::string_view thinking = str(m, "thinking"); !thinking.empty())
    blocks.push_back(thinking_block(thinking));
  if (std::string_view content = str(m, "content"); !content.empty())
    blocks.push_back(text_block(content));
  if (const json::array* images = arr(m, "images"))
    for (const auto& img : *images) blocks.push_back(payload_block("image", img));
  if (const json::array* calls = arr(m, "tool_calls")) {
    for (const auto& c : *calls) {
      const json::object* call = c.if_object();
      if (call) blocks.push_back(tool_use_block(str(*call, "id"), tool_call_name(*call),
                                                tool_call_args(*call)));
    }
  }
  return blocks;
}

void add_message(const json::object& m, RequestInfo& out) {
  std::string_view role = str(m, "role");
  if (role == "system") {
    out.system.push_back(text_block(str(m, "content")));
  } else if (role == "tool") {
    std::string_view name = str(m, "tool_name");
    json::array blocks;
    blocks.push_back(tool_result_block(str(m, "tool_call_id"), name.empty() ? str(m, "name") : name,
                                       str(m, "content"), false));
    out.messages.push_back(message("tool", std::move(blocks)));
  } else {
    out.messages.push_back(message(role == "assistant" ? "assistant" : "user", message_blocks(m)));
  }
}

// The final object's counters and durations (ns) are the usage; Ollama has no cache classes.
void take_usage(const json::object& done, ResponseInfo& out) {
  if (!member(done, "prompt_eval_count") && !member(done, "eval_count")) return;
  Usage u;
  for (std::string_view key : {"prompt_eval_count", "eval_count", "total_duration",
                               "load_duration", "prompt_eval_duration", "eval_duration"})
    if (const json::value* v = member(done, key)) u.raw[json::string_view(key.data(), key.size())] = *v;
  u.input = count(done, "prompt_eval_count");
  u.output = count(done, "eval_count");
  out.usage = std::move(u);
}

struct StreamState {
  bool done = false;
  bool failed = false;
  size_t bad = 0;
};

void take_object(const json::object& o, uint64_t t, StreamState& st, ResponseInfo& out) {
  if (const json::value* e = member(o, "error"); e && !e->is_null()) {
    add_error(out, e->is_string() ? std::string(str(e)) : to_text(*e));
    st.failed = true;
  }
  if (std::string_view model = str(o, "model"); !model.empty()) out.model = model;
  if (const json::object* m = obj(o, "message")) {
    std::string_view text = str(*m, "content"), thinking = str(*m, "thinking");
    out.text += text;
    out.thinking += thinking;
    const json::array* calls = arr(*m, "tool_calls");
    if (calls)
      for (const auto& c : *calls)
        if (const json::object* call = c.if_object())
          out.tool_calls.push_back({std::string(str(*call, "id")), tool_call_name(*call),
                                    tool_call_args(*call)});
    if (!text.empty() || !thinking.empty() || (calls && !calls->empty())) mark_first_token(out, t);
  }
  if (boolean(member(o, "done")).value_or(false)) {
    st.done = true;
    out.stop_reason = str(o, "done_reason");
    take_usage(o, out);
  }
}

}  // namespace

void parse_ollama_request(const json::object& body, RequestInfo& out) {
  out.model = str(body, "model");
  out.stream = boolean(member(body, "stream")).value_or(true);  // Ollama streams by default
  if (const json::array* messages = arr(body, "messages"))
    for (const auto& m : *messages)
      if (const json::object* o = m.if_object()) add_message(*o, out);
  if (const json::array* tools = arr(body, "tools")) {
    for (const auto& t : *tools) {
      const json::object* o = t.if_object();
      const json::object* fn = o ? obj(*o, "function") : nullptr;
      if (fn) out.tools.emplace_back(str(*fn, "name"));
    }
  }
}

void parse_ollama_response(const http::Response& resp, std::string_view body, ResponseInfo& out) {
  if (body_shape(body) == BodyShape::empty) {
    add_error(out, "empty response body");
    return;
  }
  StreamState st;
  // One object (stream: false, or an error) parses whole; a stream is one object a line.
  if (std::optional<json::value> whole = parse_json(body); whole && whole->is_object()) {
    take_object(whole->get_object(), body_end_time(resp), st, out);
  } else {
    for (const sse::Line& line : sse::split_lines(resp.body)) {
      std::optional<json::value> v = parse_json(line.text);
      if (v && v->is_object()) take_object(v->get_object(), line.t_ns, st, out);
      else ++st.bad;
    }
  }
  note_bad_records(out, st.bad);
  if (!st.done && !st.failed) add_error(out, "stream truncated: no object with done: true");
}

}  // namespace clawtrace::llm::detail
