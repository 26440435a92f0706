// Google Gemini: POST …/models/{model}:generateContent and :streamGenerateContent
// (with ?alt=sse an event stream of whole responses, without it one JSON array of them).
// The API accepts camelCase and snake_case field names; SDKs send camelCase.
#include <algorithm>

#include "llm_detail.h"
#include "sse.h"

namespace clawtrace::llm::detail {
namespace {

// A functionResponse's `response` as text: the lone string member if that is all it holds
// (the usual {"result": "…"} / {"output": "…"}), else its JSON text.
std::string response_text(const json::value* response) {
  if (!response) return {};
  if (const json::object* o = obj(response); o && o->size() == 1 && o->begin()->value().is_string())
    return std::string(str(&o->begin()->value()));
  return response->is_string() ? std::string(str(response)) : to_text(*response);
}

json::object part_block(const json::value& v) {
  const json::object* p = v.if_object();
  if (!p) return payload_block("other", v);
  if (const json::object* fc = obj(member(*p, "functionCall", "function_call")))
    return tool_use_block(str(*fc, "id"), str(*fc, "name"), arguments_text(member(*fc, "args")));
  if (const json::object* fr = obj(member(*p, "functionResponse", "function_response")))
    return tool_result_block(str(*fr, "id"), str(*fr, "name"),
                             response_text(member(*fr, "response")), false);
  const json::object* data = obj(member(*p, "inlineData", "inline_data"));
  if (!data) data = obj(member(*p, "fileData", "file_data"));
  if (data) return payload_block(payload_type_for_mime(str(member(*data, "mimeType", "mime_type"))), v);
  if (const json::value* text = member(*p, "text")) {
    bool thought = boolean(member(*p, "thought")).value_or(false);
    return thought ? thinking_block(str(text)) : text_block(str(text));
  }
  // executableCode, codeExecutionResult…: named by their only key
  std::string_view kind = p->empty() ? std::string_view{} : std::string_view(p->begin()->key());
  return payload_block("other", v, kind);
}

json::array parts_blocks(const json::object& content) {
  json::array blocks;
  if (const json::array* parts = arr(content, "parts"))
    for (const auto& p : *parts) blocks.push_back(part_block(p));
  return blocks;
}

std::string_view role_of(std::string_view gemini_role) {
  if (gemini_role == "model") return "assistant";
  if (gemini_role == "function" || gemini_role == "tool") return "tool";
  return "user";
}

void add_system(const json::value* si, RequestInfo& out) {
  if (si && si->is_string()) {
    out.system.push_back(text_block(str(si)));
  } else if (const json::object* content = obj(si)) {
    for (const auto& b : parts_blocks(*content))
      if (str(b.get_object(), "type") == "text") out.system.push_back(b);
  }
}

void add_tools(const json::array& tools, std::vector<std::string>& names) {
  for (const auto& t : tools) {
    const json::object* o = t.if_object();
    if (!o) continue;
    for (const auto& kv : *o) {
      std::string_view key(kv.key().data(), kv.key().size());
      if (key != "functionDeclarations" && key != "function_declarations") {
        names.emplace_back(key);  // built-in: googleSearch, codeExecution, urlContext…
        continue;
      }
      if (const json::array* decls = arr(&kv.value()))
        for (const auto& d : *decls)
          if (const json::object* decl = d.if_object()) names.emplace_back(str(*decl, "name"));
    }
  }
}

// promptTokenCount includes the cached part; thoughts are billed as output but reported
// outside candidatesTokenCount; tool-use prompt tokens are input reported apart.
Usage usage_from(const json::object& u) {
  Usage r;
  r.raw = u;
  int64_t prompt = count(u, "promptTokenCount");
  r.cache_read = count(u, "cachedContentTokenCount");
  r.input = std::max<int64_t>(0, prompt - r.cache_read) + count(u, "toolUsePromptTokenCount");
  r.reasoning = count(u, "thoughtsTokenCount");
  r.output = count(u, "candidatesTokenCount") + r.reasoning;
  return r;
}

struct StreamState {
  bool finished = false;  // a finishReason or blockReason arrived
  bool failed = false;
  size_t bad = 0;
};

void take_candidate(const json::object& cand, uint64_t t, StreamState& st, ResponseInfo& out) {
  if (std::string_view reason = str(cand, "finishReason"); !reason.empty()) {
    out.stop_reason = reason;
    st.finished = true;
  }
  const json::object* content = obj(cand, "content");
  if (!content) return;
  bool any = false;
  for (const auto& v : parts_blocks(*content)) {
    const json::object& b = v.get_object();
    std::string_view type = str(b, "type");
    if (type == "text") out.text += str(b, "text");
    else if (type == "thinking") out.thinking += str(b, "text");
    else if (type == "tool_use")
      out.tool_calls.push_back({std::string(str(b, "id")), std::string(str(b, "name")),
                                std::string(str(b, "arguments"))});
    else continue;
    any = any || type == "tool_use" || !str(b, "text").empty();
  }
  if (any) mark_first_token(out, t);
}

// One GenerateContentResponse (a whole body, an array element or an SSE record).
void take_chunk(std::string_view text, uint64_t t, StreamState& st, ResponseInfo& out) {
  std::optional<json::value> v = parse_json(text);
  const json::object* chunk = v ? v->if_object() : nullptr;
  if (!chunk) {
    ++st.bad;
    return;
  }
  if (const json::value* e = member(*chunk, "error"); e && !e->is_null()) {
    add_error(out, to_text(*e));
    st.failed = true;
  }
  if (std::string_view model = str(*chunk, "modelVersion"); !model.empty()) out.model = model;
  if (const json::object* u = obj(*chunk, "usageMetadata")) out.usage = usage_from(*u);
  if (const json::object* fb = obj(*chunk, "promptFeedback");
      fb && !str(*fb, "blockReason").empty()) {
    out.stop_reason = str(*fb, "blockReason");
    st.finished = true;
  }
  if (const json::array* cands = arr(*chunk, "candidates"))
    for (const auto& c : *cands)
      if (const json::object* o = c.if_object(); o && integer(member(*o, "index")).value_or(0) == 0) {
        take_candidate(*o, t, st, out);
        break;
      }
}

void parse_array_body(const http::Response& resp, std::string_view body, ResponseInfo& out) {
  StreamState st;
  bool closed = false;
  OffsetClock clock(resp.body);
  for (const ArrayElement& el : split_json_array(body, closed))
    take_chunk(el.text, clock.at(el.end - 1), st, out);
  note_bad_records(out, st.bad);
  if (!closed && !st.failed) add_error(out, "stream truncated: JSON array not closed");
}

void parse_stream_body(const http::Response& resp, ResponseInfo& out) {
  StreamState st;
  for (const sse::Event& e : sse::parse(resp.body))
    if (!e.data.empty()) take_chunk(e.data, e.t_ns, st, out);
  note_bad_records(out, st.bad);
  if (!st.finished && !st.failed) add_error(out, "stream truncated: no finishReason");
}

void parse_object_body(const http::Response& resp, std::string_view body, ResponseInfo& out) {
  StreamState st;
  take_chunk(body, body_end_time(resp), st, out);
  if (st.bad > 0) add_error(out, "response body is not valid JSON");
}

}  // namespace

void parse_gemini_request(const json::object& body, RequestInfo& out) {
  std::string_view path = out.endpoint;
  std::string_view last = path.substr(path.rfind('/') + 1);  // "gemini-2.5-pro:generateContent"
  size_t colon = last.rfind(':');
  out.model = colon == std::string_view::npos ? last : last.substr(0, colon);
  out.stream = path.ends_with(":streamGenerateContent");
  add_system(member(body, "systemInstruction", "system_instruction"), out);
  if (const json::array* contents = arr(body, "contents")) {
    for (const auto& c : *contents) {
      const json::object* o = c.if_object();
      if (o) out.messages.push_back(message(role_of(str(*o, "role")), parts_blocks(*o)));
    }
  }
  if (const json::array* tools = arr(body, "tools")) add_tools(*tools, out.tools);
}

void parse_gemini_response(const http::Response& resp, std::string_view body, ResponseInfo& out) {
  switch (body_shape(body)) {
    case BodyShape::empty: add_error(out, "empty response body"); break;
    case BodyShape::json_object: parse_object_body(resp, body, out); break;
    case BodyShape::json_array: parse_array_body(resp, body, out); break;
    case BodyShape::event_stream: parse_stream_body(resp, out); break;
  }
}

}  // namespace clawtrace::llm::detail
