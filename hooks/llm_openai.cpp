// OpenAI Chat Completions (and every OpenAI-compatible server): POST …/chat/completions.
// OpenAI Responses: POST …/responses.
#include <algorithm>
#include <limits>
#include <map>

#include "llm_detail.h"
#include "sse.h"

namespace clawtrace::llm::detail {
namespace {

// Concatenated text of a content value: a string or an array of parts with `text`.
std::string content_text(const json::value* content) {
  if (!content) return {};
  if (content->is_string()) return std::string(str(content));
  std::string out;
  if (const json::array* parts = arr(content)) {
    for (const auto& p : *parts) {
      const json::object* o = p.if_object();
      if (!o) continue;
      std::string_view text = str(*o, "text");
      if (text.empty()) text = str(*o, "refusal");
      if (text.empty()) continue;
      if (!out.empty()) out += '\n';
      out += text;
    }
  }
  return out;
}

namespace chat {

json::object part_block(const json::value& v) {
  const json::object* p = v.if_object();
  if (!p) return payload_block("other", v);
  std::string_view type = str(*p, "type");
  if (type == "text") return text_block(str(*p, "text"));
  if (type == "refusal") return text_block(str(*p, "refusal"));
  if (type == "image_url") return payload_block("image", v);
  if (type == "input_audio") return payload_block("audio", v);
  if (type == "file") return payload_block("document", v);
  return payload_block("other", v, type);
}

void append_content(const json::value* content, json::array& blocks) {
  if (!content) return;
  if (content->is_string()) {
    if (!str(content).empty()) blocks.push_back(text_block(str(content)));
  } else if (const json::array* parts = arr(content)) {
    for (const auto& p : *parts) blocks.push_back(part_block(p));
  }
}

std::string_view reasoning_of(const json::object& m) {
  std::string_view r = str(m, "reasoning_content");
  return r.empty() ? str(m, "reasoning") : r;
}

json::array assistant_blocks(const json::object& m) {
  json::array blocks;
  if (std::string_view r = reasoning_of(m); !r.empty()) blocks.push_back(thinking_block(r));
  append_content(member(m, "content"), blocks);
  if (std::string_view refusal = str(m, "refusal"); !refusal.empty())
    blocks.push_back(text_block(refusal));
  if (const json::array* calls = arr(m, "tool_calls")) {
    for (const auto& c : *calls) {
      const json::object* call = c.if_object();
      if (!call) continue;
      const json::object* fn = obj(*call, "function");
      if (!fn) fn = obj(*call, "custom");  // custom tools carry `input`, not `arguments`
      if (!fn) continue;
      const json::value* args = member(*fn, "arguments");
      if (!args) args = member(*fn, "input");
      blocks.push_back(tool_use_block(str(*call, "id"), str(*fn, "name"), arguments_text(args)));
    }
  }
  if (const json::object* fc = obj(m, "function_call"))  // pre-tools API
    blocks.push_back(tool_use_block("", str(*fc, "name"), arguments_text(member(*fc, "arguments"))));
  return blocks;
}

void add_message(const json::object& m, RequestInfo& out) {
  std::string_view role = str(m, "role");
  if (role == "system" || role == "developer") {
    if (std::string text = content_text(member(m, "content")); !text.empty())
      out.system.push_back(text_block(text));
  } else if (role == "assistant") {
    out.messages.push_back(message("assistant", assistant_blocks(m)));
  } else if (role == "tool" || role == "function") {
    json::array blocks;
    blocks.push_back(tool_result_block(str(m, "tool_call_id"), role == "function" ? str(m, "name") : "",
                                       content_text(member(m, "content")), false));
    out.messages.push_back(message("tool", std::move(blocks)));
  } else {
    json::array blocks;
    append_content(member(m, "content"), blocks);
    out.messages.push_back(message("user", std::move(blocks)));
  }
}

void add_tool_name(const json::value& t, std::vector<std::string>& tools) {
  const json::object* o = t.if_object();
  if (!o) return;
  std::string_view type = str(*o, "type");
  const json::object* def = obj(*o, type.empty() ? std::string_view("function") : type);
  std::string_view name = def ? str(*def, "name") : str(*o, "name");
  tools.emplace_back(name.empty() ? type : name);
}

Usage usage_from(const json::object& u) {
  Usage r;
  r.raw = u;
  int64_t prompt = count(u, "prompt_tokens");
  const json::object* pd = obj(u, "prompt_tokens_details");
  int64_t cached = pd ? count(*pd, "cached_tokens") : 0;
  if (!pd || !member(*pd, "cached_tokens")) cached = count(u, "prompt_cache_hit_tokens");  // DeepSeek
  int64_t write = pd ? count(*pd, "cache_write_tokens") : 0;
  r.input = std::max<int64_t>(0, prompt - cached - write);
  r.cache_read = cached;
  r.cache_write = r.cache_write_5m = write;  // no TTL split reported: count it as 5-minute
  r.output = count(u, "completion_tokens");
  if (const json::object* cd = obj(u, "completion_tokens_details"))
    r.reasoning = count(*cd, "reasoning_tokens");
  return r;
}

// The choice we report: index 0 (n > 1 is rare in agents).
const json::object* first_choice(const json::object& body) {
  if (const json::array* choices = arr(body, "choices"))
    for (const auto& c : *choices)
      if (const json::object* o = c.if_object(); o && integer(member(*o, "index")).value_or(0) == 0)
        return o;
  return nullptr;
}

void take_error(const json::value& e, ResponseInfo& out) { add_error(out, to_text(e)); }

void parse_json_body(const http::Response& resp, std::string_view body, ResponseInfo& out) {
  std::optional<json::object> doc = parse_body_object(body, out);
  if (!doc) return;
  if (const json::value* e = member(*doc, "error"); e && !e->is_null()) take_error(*e, out);
  out.model = str(*doc, "model");
  if (const json::object* u = obj(*doc, "usage")) out.usage = usage_from(*u);
  const json::object* choice = first_choice(*doc);
  if (!choice) return;
  out.stop_reason = str(*choice, "finish_reason");
  if (const json::object* m = obj(*choice, "message")) {
    out.thinking = reasoning_of(*m);
    for (const auto& b : assistant_blocks(*m)) {
      const json::object& block = b.get_object();
      std::string_view type = str(block, "type");
      if (type == "text") out.text += str(block, "text");
      else if (type == "tool_use")
        out.tool_calls.push_back({std::string(str(block, "id")), std::string(str(block, "name")),
                                  std::string(str(block, "arguments"))});
    }
  }
  if (!out.text.empty() || !out.thinking.empty() || !out.tool_calls.empty())
    mark_first_token(out, body_end_time(resp));
}

struct StreamState {
  std::map<int64_t, ToolCall> calls;                        // by tool call index
  std::map<std::string, int64_t, std::less<>> index_of_id;  // for calls sent without index
  bool done = false;                                        // data: [DONE]
  bool failed = false;
  size_t bad = 0;
};

// Some compatible servers omit `index` and send each call whole: a new id is a new call,
// no id continues the last one.
int64_t index_by_id(const StreamState& st, std::string_view id) {
  if (st.calls.empty()) return 0;
  int64_t last = st.calls.rbegin()->first;
  if (id.empty()) return last;
  if (auto it = st.index_of_id.find(id); it != st.index_of_id.end()) return it->second;
  return last < std::numeric_limits<int64_t>::max() ? last + 1 : last;
}

// Tool call fragments: the id and name arrive with the first fragment of an index only.
void merge_tool_call(const json::object& frag, StreamState& st) {
  std::optional<int64_t> index = integer(member(frag, "index"));
  std::string_view id = str(frag, "id");
  if (!index) index = index_by_id(st, id);
  ToolCall& call = st.calls[*index];
  if (call.id.empty() && !id.empty()) {
    call.id = id;
    st.index_of_id.emplace(call.id, *index);
  }
  if (const json::object* fn = obj(frag, "function")) {
    if (call.name.empty()) call.name = str(*fn, "name");
    call.arguments += str(*fn, "arguments");
  }
}

void on_delta(const json::object& d, uint64_t t, StreamState& st, ResponseInfo& out) {
  std::string_view text = str(d, "content");
  std::string_view reasoning = reasoning_of(d);
  const json::array* calls = arr(d, "tool_calls");
  out.text += text;
  out.thinking += reasoning;
  if (calls)
    for (const auto& c : *calls)
      if (const json::object* frag = c.if_object()) merge_tool_call(*frag, st);
  if (!text.empty() || !reasoning.empty() || (calls && !calls->empty())) mark_first_token(out, t);
}

void on_chunk(const sse::Event& e, StreamState& st, ResponseInfo& out) {
  if (e.data == "[DONE]") {
    st.done = true;
    return;
  }
  std::optional<json::value> v = parse_json(e.data);
  const json::object* chunk = v ? v->if_object() : nullptr;
  if (!chunk) {
    ++st.bad;
    return;
  }
  if (const json::value* err = member(*chunk, "error"); err && !err->is_null()) {
    take_error(*err, out);
    st.failed = true;
  }
  if (std::string_view model = str(*chunk, "model"); !model.empty()) out.model = model;
  if (const json::object* u = obj(*chunk, "usage")) out.usage = usage_from(*u);
  const json::object* choice = first_choice(*chunk);
  if (!choice) return;
  if (std::string_view reason = str(*choice, "finish_reason"); !reason.empty())
    out.stop_reason = reason;
  if (const json::object* d = obj(*choice, "delta")) on_delta(*d, e.t_ns, st, out);
}

void parse_stream_body(const http::Response& resp, ResponseInfo& out) {
  StreamState st;
  for (const sse::Event& e : sse::parse(resp.body))
    if (!e.data.empty()) on_chunk(e, st, out);
  for (auto& [index, call] : st.calls) out.tool_calls.push_back(std::move(call));
  note_bad_records(out, st.bad);
  if (!st.done && !st.failed && out.stop_reason.empty())
    add_error(out, "stream truncated: no finish_reason or [DONE]");
}

}  // namespace chat
}  // namespace

void parse_openai_chat_request(const json::object& body, RequestInfo& out) {
  using namespace chat;
  out.model = str(body, "model");
  out.stream = boolean(member(body, "stream")).value_or(false);
  if (const json::object* so = obj(body, "stream_options"))
    out.include_usage = boolean(member(*so, "include_usage")).value_or(false);
  if (const json::array* messages = arr(body, "messages"))
    for (const auto& m : *messages)
      if (const json::object* o = m.if_object()) add_message(*o, out);
  if (const json::array* tools = arr(body, "tools"))
    for (const auto& t : *tools) add_tool_name(t, out.tools);
  if (const json::array* functions = arr(body, "functions"))  // pre-tools API
    for (const auto& f : *functions)
      if (const json::object* o = f.if_object()) out.tools.emplace_back(str(*o, "name"));
}

void parse_openai_chat_response(const http::Response& resp, std::string_view body,
                                ResponseInfo& out) {
  using namespace chat;
  switch (body_shape(body)) {
    case BodyShape::empty: add_error(out, "empty response body"); break;
    case BodyShape::json_object:
    case BodyShape::json_array: parse_json_body(resp, body, out); break;
    case BodyShape::event_stream: parse_stream_body(resp, out); break;
  }
}


// ---------------------------------------------------------------- OpenAI Responses

namespace {
namespace responses {

json::object input_part_block(const json::value& v) {
  const json::object* p = v.if_object();
  if (!p) return payload_block("other", v);
  std::string_view type = str(*p, "type");
  if (type == "input_text" || type == "output_text" || type == "text")
    return text_block(str(*p, "text"));
  if (type == "refusal") return text_block(str(*p, "refusal"));
  if (type == "input_image") return payload_block("image", v);
  if (type == "input_file") return payload_block("document", v);
  if (type == "input_audio") return payload_block("audio", v);
  return payload_block("other", v, type);
}

std::string reasoning_text(const json::object& item) {
  std::string out;
  for (std::string_view key : {"summary", "content"}) {
    const json::array* parts = arr(item, key);
    if (!parts) continue;
    for (const auto& p : *parts) {
      const json::object* o = p.if_object();
      if (!o || str(*o, "text").empty()) continue;
      if (!out.empty()) out += "\n\n";
      out += str(*o, "text");
    }
  }
  return out;
}

void add_message_item(const json::object& item, RequestInfo& out) {
  std::string_view role = str(item, "role");
  const json::value* content = member(item, "content");
  if (role == "system" || role == "developer") {
    if (std::string text = content_text(content); !text.empty())
      out.system.push_back(text_block(text));
    return;
  }
  json::array blocks;
  if (content && content->is_string()) {
    blocks.push_back(text_block(str(content)));
  } else if (const json::array* parts = arr(content)) {
    for (const auto& p : *parts) blocks.push_back(input_part_block(p));
  }
  out.messages.push_back(message(role == "assistant" ? "assistant" : "user", std::move(blocks)));
}

void add_item(const json::value& v, RequestInfo& out) {
  const json::object* item = v.if_object();
  if (!item) return;
  std::string_view type = str(*item, "type");
  json::array blocks;
  if (type == "message" || (type.empty() && member(*item, "role"))) {
    add_message_item(*item, out);
    return;
  }
  if (type == "function_call" || type == "custom_tool_call") {
    const json::value* args = member(*item, type == "function_call" ? "arguments" : "input");
    blocks.push_back(tool_use_block(str(*item, "call_id"), str(*item, "name"), arguments_text(args)));
    out.messages.push_back(message("assistant", std::move(blocks)));
  } else if (type == "function_call_output" || type == "custom_tool_call_output") {
    blocks.push_back(tool_result_block(str(*item, "call_id"), "",
                                       content_text(member(*item, "output")), false));
    out.messages.push_back(message("tool", std::move(blocks)));
  } else if (type == "reasoning") {
    blocks.push_back(thinking_block(reasoning_text(*item)));
    out.messages.push_back(message("assistant", std::move(blocks)));
  } else {  // built-in tool calls and their outputs, item references
    blocks.push_back(payload_block("other", v, type));
    out.messages.push_back(message(type.ends_with("_output") ? "tool" : "assistant", std::move(blocks)));
  }
}

Usage usage_from(const json::object& u) {
  Usage r;
  r.raw = u;
  int64_t input = count(u, "input_tokens");
  const json::object* in = obj(u, "input_tokens_details");
  r.cache_read = in ? count(*in, "cached_tokens") : 0;
  r.input = std::max<int64_t>(0, input - r.cache_read);
  r.output = count(u, "output_tokens");
  if (const json::object* od = obj(u, "output_tokens_details"))
    r.reasoning = count(*od, "reasoning_tokens");
  return r;
}

// One finished output item into text, thinking or a tool call.
void take_item(const json::object& item, ResponseInfo& out) {
  std::string_view type = str(item, "type");
  if (type == "message") {
    if (const json::array* parts = arr(item, "content")) {
      for (const auto& p : *parts) {
        const json::object* o = p.if_object();
        if (!o) continue;
        out.text += str(*o, "type") == "refusal" ? str(*o, "refusal") : str(*o, "text");
      }
    }
  } else if (type == "reasoning") {
    out.thinking += reasoning_text(item);
  } else if (type == "function_call" || type == "custom_tool_call") {
    const json::value* args = member(item, type == "function_call" ? "arguments" : "input");
    out.tool_calls.push_back({std::string(str(item, "call_id")), std::string(str(item, "name")),
                              arguments_text(args)});
  }
}

// Model, status, usage and errors of a response object (whole body or final stream event).
void take_response_fields(const json::object& r, ResponseInfo& out) {
  if (std::string_view model = str(r, "model"); !model.empty()) out.model = model;
  if (std::string_view id = str(r, "id"); !id.empty()) out.id = id;
  std::string_view reason;
  if (const json::object* inc = obj(r, "incomplete_details")) reason = str(*inc, "reason");
  out.stop_reason = reason.empty() ? str(r, "status") : reason;
  if (const json::object* u = obj(r, "usage")) out.usage = usage_from(*u);
  if (const json::value* e = member(r, "error"); e && !e->is_null()) add_error(out, to_text(*e));
}

void take_output(const json::object& r, ResponseInfo& out) {
  if (const json::array* output = arr(r, "output"))
    for (const auto& item : *output)
      if (const json::object* o = item.if_object()) take_item(*o, out);
}

void parse_json_body(const http::Response& resp, std::string_view body, ResponseInfo& out) {
  std::optional<json::object> doc = parse_body_object(body, out);
  if (!doc) return;
  take_response_fields(*doc, out);
  take_output(*doc, out);
  if (!out.text.empty() || !out.thinking.empty() || !out.tool_calls.empty())
    mark_first_token(out, body_end_time(resp));
}

struct StreamItem {
  json::object item;  // as added, replaced by the finished item on output_item.done
  bool done = false;
  std::string text, thinking, arguments;  // deltas until then
};

struct StreamState {
  std::map<int64_t, StreamItem> items;  // by output_index
  std::optional<json::object> final_response;
  bool failed = false;
  size_t bad = 0;
};

void on_delta(std::string_view type, const json::object& ev, uint64_t t, StreamState& st,
              ResponseInfo& out) {
  std::string_view delta = str(ev, "delta");
  StreamItem& it = st.items[integer(member(ev, "output_index")).value_or(-1)];
  if (type == "response.output_text.delta" || type == "response.refusal.delta") it.text += delta;
  else if (type.starts_with("response.reasoning")) it.thinking += delta;
  else it.arguments += delta;
  if (!delta.empty()) mark_first_token(out, t);
}

bool is_delta(std::string_view type) {
  return type == "response.output_text.delta" || type == "response.refusal.delta" ||
         type == "response.reasoning_summary_text.delta" ||
         type == "response.reasoning_text.delta" ||
         type == "response.function_call_arguments.delta" ||
         type == "response.custom_tool_call_input.delta";
}

void on_event(const sse::Event& e, StreamState& st, ResponseInfo& out) {
  std::optional<json::value> v = parse_json(e.data);
  const json::object* ev = v ? v->if_object() : nullptr;
  if (!ev) {
    ++st.bad;
    return;
  }
  std::string_view type = str(*ev, "type");
  if (type.empty()) type = e.event;
  if (is_delta(type)) {
    on_delta(type, *ev, e.t_ns, st, out);
  } else if (type == "response.output_item.added" || type == "response.output_item.done") {
    const json::object* item = obj(*ev, "item");
    if (!item) return;
    StreamItem& it = st.items[integer(member(*ev, "output_index")).value_or(-1)];
    it.item = *item;
    it.done = type == "response.output_item.done";
    std::string_view item_type = str(*item, "type");
    if (item_type == "function_call" || item_type == "custom_tool_call")
      mark_first_token(out, e.t_ns);
  } else if (type == "response.completed" || type == "response.incomplete" ||
             type == "response.failed") {
    if (const json::object* r = obj(*ev, "response")) st.final_response = *r;
  } else if (type == "response.created" || type == "response.in_progress") {
    if (const json::object* r = obj(*ev, "response")) {
      out.model = str(*r, "model");
      out.id = str(*r, "id");
    }
  } else if (type == "error") {
    add_error(out, to_text(*ev));
    st.failed = true;
  }
}

// Items cut off before output_item.done keep what their deltas brought.
void take_partial_item(const StreamItem& it, ResponseInfo& out) {
  std::string_view type = str(it.item, "type");
  if (type == "function_call" || type == "custom_tool_call") {
    out.tool_calls.push_back(
        {std::string(str(it.item, "call_id")), std::string(str(it.item, "name")), it.arguments});
  } else {
    out.text += it.text;
    out.thinking += it.thinking;
  }
}

void parse_stream_body(const http::Response& resp, ResponseInfo& out) {
  StreamState st;
  for (const sse::Event& e : sse::parse(resp.body))
    if (!e.data.empty()) on_event(e, st, out);
  const json::array* final_output = st.final_response ? arr(*st.final_response, "output") : nullptr;
  if (final_output && !final_output->empty()) {
    take_output(*st.final_response, out);
  } else {
    for (const auto& [index, it] : st.items) {
      if (it.done) take_item(it.item, out);
      else take_partial_item(it, out);
    }
  }
  if (st.final_response) take_response_fields(*st.final_response, out);
  note_bad_records(out, st.bad);
  if (!st.final_response && !st.failed)
    add_error(out, "stream truncated: no response.completed");
}

}  // namespace responses
}  // namespace

void parse_openai_responses_request(const json::object& body, RequestInfo& out) {
  using namespace responses;
  out.model = str(body, "model");
  out.stream = boolean(member(body, "stream")).value_or(false);
  out.continues = str(body, "previous_response_id");
  if (std::string_view instructions = str(body, "instructions"); !instructions.empty())
    out.system.push_back(text_block(instructions));
  const json::value* input = member(body, "input");
  if (input && input->is_string()) {
    json::array blocks;
    blocks.push_back(text_block(str(input)));
    out.messages.push_back(message("user", std::move(blocks)));
  } else if (const json::array* items = arr(input)) {
    for (const auto& item : *items) add_item(item, out);
  }
  if (const json::array* tools = arr(body, "tools")) {
    for (const auto& t : *tools) {
      const json::object* o = t.if_object();
      if (!o) continue;
      std::string_view name = str(*o, "name");
      if (name.empty()) name = str(*o, "server_label");  // MCP servers
      out.tools.emplace_back(name.empty() ? str(*o, "type") : name);
    }
  }
}

void parse_openai_responses_response(const http::Response& resp, std::string_view body,
                                     ResponseInfo& out) {
  using namespace responses;
  switch (body_shape(body)) {
    case BodyShape::empty: add_error(out, "empty response body"); break;
    case BodyShape::json_object:
    case BodyShape::json_array: parse_json_body(resp, body, out); break;
    case BodyShape::event_stream: parse_stream_body(resp, out); break;
  }
}

}  // namespace clawtrace::llm::detail
