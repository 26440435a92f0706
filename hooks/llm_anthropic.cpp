// Anthropic Messages API: POST /v1/messages, JSON or SSE responses.
#include <map>

#include "llm_detail.h"
#include "sse.h"

namespace clawtrace::llm::detail {
namespace {

// Text of a tool_result's content: a string, or the text blocks it holds.
std::string result_text(const json::value* content) {
  if (!content) return {};
  if (content->is_string()) return std::string(str(content));
  std::string out;
  if (const json::array* blocks = arr(content)) {
    for (const auto& b : *blocks) {
      const json::object* o = b.if_object();
      if (!o || str(*o, "type") != "text") continue;
      if (!out.empty()) out += '\n';
      out += str(*o, "text");
    }
  }
  return out;
}

json::object request_block(const json::value& v) {
  const json::object* b = v.if_object();
  if (!b) return payload_block("other", v);
  std::string_view type = str(*b, "type");
  if (type == "text") return text_block(str(*b, "text"));
  if (type == "thinking") return thinking_block(str(*b, "thinking"));
  if (type == "redacted_thinking") {
    json::object t = thinking_block("");
    t["redacted"] = true;
    return t;
  }
  if (type == "tool_use")
    return tool_use_block(str(*b, "id"), str(*b, "name"), arguments_text(member(*b, "input")));
  if (type == "tool_result")
    return tool_result_block(str(*b, "tool_use_id"), "", result_text(member(*b, "content")),
                             boolean(member(*b, "is_error")).value_or(false));
  if (type == "image" || type == "document") return payload_block(type, v);
  return payload_block("other", v, type);
}

json::array request_content(const json::value* content) {
  json::array blocks;
  if (!content) return blocks;
  if (content->is_string()) {
    blocks.push_back(text_block(str(content)));
  } else if (const json::array* a = arr(content)) {
    for (const auto& b : *a) blocks.push_back(request_block(b));
  }
  return blocks;
}

Usage usage_from(const json::object& u) {
  Usage r;
  r.raw = u;
  r.input = count(u, "input_tokens");
  r.output = count(u, "output_tokens");
  r.cache_read = count(u, "cache_read_input_tokens");
  const json::object* split = obj(u, "cache_creation");
  int64_t w5 = split ? count(*split, "ephemeral_5m_input_tokens") : 0;
  int64_t w1 = split ? count(*split, "ephemeral_1h_input_tokens") : 0;
  if (w5 + w1 == 0) w5 = count(u, "cache_creation_input_tokens");  // no split: all 5-minute
  r.cache_write_5m = w5;
  r.cache_write_1h = w1;
  r.cache_write = w5 + w1;
  return r;
}

// message_delta usage is cumulative: each field present replaces the earlier value.
void merge_usage(json::object& into, const json::object& delta) {
  for (const auto& kv : delta)
    if (!kv.value().is_null()) into[kv.key()] = kv.value();
}

void take_error(const json::object& body, ResponseInfo& out) {
  const json::value* e = member(body, "error");
  add_error(out, e ? to_text(*e) : to_text(body));
}

void parse_json_body(const http::Response& resp, std::string_view body, ResponseInfo& out) {
  std::optional<json::object> doc = parse_body_object(body, out);
  if (!doc) return;
  const json::object* m = &*doc;
  if (str(*m, "type") == "error") take_error(*m, out);
  out.model = str(*m, "model");
  out.stop_reason = str(*m, "stop_reason");
  if (const json::object* u = obj(*m, "usage")) out.usage = usage_from(*u);
  if (const json::array* content = arr(*m, "content")) {
    for (const auto& v2 : *content) {
      const json::object* b = v2.if_object();
      if (!b) continue;
      std::string_view type = str(*b, "type");
      if (type == "text") out.text += str(*b, "text");
      else if (type == "thinking") out.thinking += str(*b, "thinking");
      else if (type == "tool_use")
        out.tool_calls.push_back({std::string(str(*b, "id")), std::string(str(*b, "name")),
                                  arguments_text(member(*b, "input"))});
    }
  }
  if (!out.text.empty() || !out.thinking.empty() || !out.tool_calls.empty())
    mark_first_token(out, body_end_time(resp));
}

struct StreamBlock {
  std::string type, id, name;
  std::string start_input;  // `input` of content_block_start (used when no delta follows)
  std::string partial;      // input_json_delta fragments, concatenated
};

struct StreamState {
  std::map<int64_t, StreamBlock> blocks;  // by content block index
  json::object usage;
  bool have_usage = false;
  bool stopped = false;
  bool failed = false;
  size_t bad = 0;
};

void on_block_start(const json::object& ev, uint64_t t, StreamState& st, ResponseInfo& out) {
  const json::object* cb = obj(ev, "content_block");
  if (!cb) return;
  StreamBlock& b = st.blocks[integer(member(ev, "index")).value_or(-1)];
  b.type = str(*cb, "type");
  if (b.type == "tool_use") {
    b.id = str(*cb, "id");
    b.name = str(*cb, "name");
    b.start_input = arguments_text(member(*cb, "input"));
    mark_first_token(out, t);
  } else if (b.type == "text" && !str(*cb, "text").empty()) {
    out.text += str(*cb, "text");
    mark_first_token(out, t);
  }
}

void on_block_delta(const json::object& ev, uint64_t t, StreamState& st, ResponseInfo& out) {
  const json::object* d = obj(ev, "delta");
  if (!d) return;
  std::string_view type = str(*d, "type");
  if (type == "text_delta") {
    out.text += str(*d, "text");
  } else if (type == "thinking_delta") {
    out.thinking += str(*d, "thinking");
  } else if (type == "input_json_delta") {
    st.blocks[integer(member(ev, "index")).value_or(-1)].partial += str(*d, "partial_json");
  } else {
    return;  // signature_delta, citations_delta: no content of ours
  }
  mark_first_token(out, t);
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
  if (type == "message_start") {
    if (const json::object* m = obj(*ev, "message")) {
      out.model = str(*m, "model");
      if (const json::object* u = obj(*m, "usage")) {
        merge_usage(st.usage, *u);
        st.have_usage = true;
      }
    }
  } else if (type == "content_block_start") {
    on_block_start(*ev, e.t_ns, st, out);
  } else if (type == "content_block_delta") {
    on_block_delta(*ev, e.t_ns, st, out);
  } else if (type == "message_delta") {
    if (const json::object* d = obj(*ev, "delta"); d && !str(*d, "stop_reason").empty())
      out.stop_reason = str(*d, "stop_reason");
    if (const json::object* u = obj(*ev, "usage")) {
      merge_usage(st.usage, *u);
      st.have_usage = true;
    }
  } else if (type == "message_stop") {
    st.stopped = true;
  } else if (type == "error") {
    take_error(*ev, out);
    st.failed = true;
  }
}

void parse_stream_body(const http::Response& resp, ResponseInfo& out) {
  StreamState st;
  for (const sse::Event& e : sse::parse(resp.body))
    if (!e.data.empty()) on_event(e, st, out);
  for (const auto& [index, b] : st.blocks)
    if (b.type == "tool_use")
      out.tool_calls.push_back({b.id, b.name, b.partial.empty() ? b.start_input : b.partial});
  if (st.have_usage) out.usage = usage_from(st.usage);
  note_bad_records(out, st.bad);
  if (!st.stopped && !st.failed) add_error(out, "stream truncated: no message_stop");
}

}  // namespace

void parse_anthropic_request(const json::object& body, RequestInfo& out) {
  out.model = str(body, "model");
  out.stream = boolean(member(body, "stream")).value_or(false);
  const json::value* system = member(body, "system");
  if (system && system->is_string()) {
    out.system.push_back(text_block(str(system)));
  } else if (const json::array* blocks = arr(system)) {
    for (const auto& b : *blocks)
      if (const json::object* o = b.if_object(); o && str(*o, "type") == "text")
        out.system.push_back(text_block(str(*o, "text")));
  }
  if (const json::array* messages = arr(body, "messages")) {
    for (const auto& m : *messages) {
      const json::object* o = m.if_object();
      if (!o) continue;
      std::string_view role = str(*o, "role");
      out.messages.push_back(message(role.empty() ? "user" : role,
                                     request_content(member(*o, "content"))));
    }
  }
  if (const json::array* tools = arr(body, "tools")) {
    for (const auto& t : *tools) {
      const json::object* o = t.if_object();
      if (!o) continue;
      std::string_view name = str(*o, "name");
      out.tools.emplace_back(name.empty() ? str(*o, "type") : name);
    }
  }
}

void parse_anthropic_response(const http::Response& resp, std::string_view body,
                              ResponseInfo& out) {
  switch (body_shape(body)) {
    case BodyShape::empty: add_error(out, "empty response body"); break;
    case BodyShape::json_object:
    case BodyShape::json_array: parse_json_body(resp, body, out); break;
    case BodyShape::event_stream: parse_stream_body(resp, out); break;
  }
}

}  // namespace clawtrace::llm::detail
