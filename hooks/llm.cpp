// Dispatch over the provider formats and the helpers they share.
#include "llm.h"
#include "text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>

#include "llm_detail.h"

namespace clawtrace::llm {
namespace detail {

// Deeper than any real request (tool schemas nest a dozen levels), shallow enough that
// recursive destruction of a hostile document stays cheap.
constexpr std::size_t kMaxJsonDepth = 256;

std::optional<json::value> parse_json(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return std::nullopt;
  return v;
}

const json::value* member(const json::object& o, std::string_view key) {
  return o.if_contains(json::string_view(key.data(), key.size()));
}

const json::value* member(const json::object& o, std::string_view key, std::string_view alt) {
  const json::value* v = member(o, key);
  return v ? v : member(o, alt);
}

std::string_view str(const json::value* v) {
  if (!v || !v->is_string()) return {};
  const json::string& s = v->get_string();
  return {s.data(), s.size()};
}

std::string_view str(const json::object& o, std::string_view key) { return str(member(o, key)); }

const json::object* obj(const json::value* v) { return v ? v->if_object() : nullptr; }
const json::object* obj(const json::object& o, std::string_view key) { return obj(member(o, key)); }
const json::array* arr(const json::value* v) { return v ? v->if_array() : nullptr; }
const json::array* arr(const json::object& o, std::string_view key) { return arr(member(o, key)); }

std::optional<int64_t> integer(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    uint64_t u = v->get_uint64();
    return u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(u);
  }
  if (v->is_double()) {
    double d = v->get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

int64_t count(const json::value* v) {
  constexpr int64_t kMaxCount = int64_t{1} << 50;
  return std::clamp<int64_t>(integer(v).value_or(0), 0, kMaxCount);
}

int64_t count(const json::object& o, std::string_view key) { return count(member(o, key)); }

std::optional<bool> boolean(const json::value* v) {
  if (v && v->is_bool()) return v->get_bool();
  return std::nullopt;
}

std::string to_text(const json::value& v) { return json::serialize(v); }

json::object text_block(std::string_view text) {
  return {{"type", "text"}, {"text", json::string_view(text.data(), text.size())}};
}

json::object thinking_block(std::string_view text) {
  return {{"type", "thinking"}, {"text", json::string_view(text.data(), text.size())}};
}

json::object tool_use_block(std::string_view id, std::string_view name, std::string_view args) {
  return {{"type", "tool_use"},
          {"id", json::string_view(id.data(), id.size())},
          {"name", json::string_view(name.data(), name.size())},
          {"arguments", json::string_view(args.data(), args.size())}};
}

json::object tool_result_block(std::string_view tool_use_id, std::string_view name,
                               std::string_view content, bool is_error) {
  json::object b{{"type", "tool_result"},
                 {"tool_use_id", json::string_view(tool_use_id.data(), tool_use_id.size())}};
  if (!name.empty()) b["name"] = json::string_view(name.data(), name.size());
  b["content"] = json::string_view(content.data(), content.size());
  b["is_error"] = is_error;
  return b;
}

json::object payload_block(std::string_view type, const json::value& original,
                           std::string_view kind) {
  json::object b{{"type", json::string_view(type.data(), type.size())},
                 {"bytes", static_cast<uint64_t>(json::serialize(original).size())}};
  if (!kind.empty()) b["kind"] = json::string_view(kind.data(), kind.size());
  return b;
}

json::object message(std::string_view role, json::array content) {
  return {{"role", json::string_view(role.data(), role.size())}, {"content", std::move(content)}};
}

std::string_view payload_type_for_mime(std::string_view mime) {
  if (mime.starts_with("image/")) return "image";
  if (mime.starts_with("audio/")) return "audio";
  if (mime.starts_with("application/") || mime.starts_with("text/")) return "document";
  return "other";
}

std::string arguments_text(const json::value* v) {
  if (!v || v->is_null()) return "{}";
  if (v->is_string()) return std::string(str(v));
  return to_text(*v);
}

char first_significant(std::string_view s) {
  size_t i = s.find_first_not_of(" \t\r\n");
  return i == std::string_view::npos ? '\0' : s[i];
}

BodyShape body_shape(std::string_view body) {
  switch (first_significant(body)) {
    case '\0': return BodyShape::empty;
    case '{': return BodyShape::json_object;
    case '[': return BodyShape::json_array;
    default: return BodyShape::event_stream;
  }
}

std::optional<json::object> parse_body_object(std::string_view body, ResponseInfo& out) {
  std::optional<json::value> v = parse_json(body);
  if (!v) {
    add_error(out, "response body is not valid JSON");
    return std::nullopt;
  }
  if (!v->is_object()) {
    add_error(out, "response body is not a JSON object");
    return std::nullopt;
  }
  return std::move(v->get_object());
}

void note_bad_records(ResponseInfo& out, size_t bad) {
  if (bad > 0) add_error(out, std::to_string(bad) + " stream record(s) were not valid JSON");
}

uint64_t body_end_time(const http::Response& resp) {
  return resp.body.empty() ? resp.t_end_ns : resp.body.back().t_ns;
}

uint64_t OffsetClock::at(size_t offset) {
  while (piece_ < body_.size() && offset >= piece_start_ + body_[piece_].bytes.size())
    piece_start_ += body_[piece_++].bytes.size();
  if (piece_ < body_.size()) return body_[piece_].t_ns;
  return body_.empty() ? 0 : body_.back().t_ns;
}

void mark_first_token(ResponseInfo& out, uint64_t t_ns) {
  if (!out.t_first_token_ns) out.t_first_token_ns = t_ns;
}

std::string cap_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  // Back off continuation bytes so a multi-byte character is not cut in half.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

void add_error(ResponseInfo& out, std::string_view message) {
  if (!out.error.empty()) out.error += "; ";
  out.error += message;
}

std::vector<ArrayElement> split_json_array(std::string_view text, bool& closed) {
  closed = false;
  std::vector<ArrayElement> out;
  size_t i = text.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos || text[i] != '[') return out;
  size_t depth = 0, start = 0;
  bool in_string = false, escaped = false;
  for (++i; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth++ == 0) start = i;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {
        closed = c == ']';
        return out;
      }
      if (--depth == 0) out.push_back({text.substr(start, i + 1 - start), i + 1});
    }
  }
  return out;
}

}  // namespace detail

namespace {

using namespace detail;

constexpr size_t kMaxErrorBody = 64 * 1024;

// Host without the port; IPv6 literals keep their brackets.
std::string_view host_name(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || host.find(']', colon) != std::string_view::npos)
    return host;
  return host.substr(0, colon);
}

std::string_view host_port(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos || host.find(']', colon) != std::string_view::npos)
    return {};
  return host.substr(colon + 1);
}

bool is_openai_format(Api api) { return api == Api::openai_chat || api == Api::openai_responses; }

std::string provider_for(Api api, std::string_view host_header) {
  std::string host = text::lower(host_header);
  std::string_view name = host_name(host);
  struct Known {
    std::string_view host, provider;
  };
  static constexpr Known kKnown[] = {
      {"api.anthropic.com", "anthropic"},   {"api.openai.com", "openai"},
      {"generativelanguage.googleapis.com", "google"}, {"openrouter.ai", "openrouter"},
      {"api.deepseek.com", "deepseek"},     {"api.groq.com", "groq"},
      {"api.mistral.ai", "mistral"},        {"api.x.ai", "xai"},
      {"api.together.xyz", "together"},     {"api.fireworks.ai", "fireworks"},
  };
  for (const auto& k : kKnown)
    if (name == k.host) return std::string(k.provider);
  if (name.ends_with("aiplatform.googleapis.com")) return "vertex_ai";
  if (name.ends_with(".openai.azure.com")) return "azure";
  if (host_port(host) == "11434" || api == Api::ollama_chat) return "ollama";
  if (is_openai_format(api)) return "openai_compatible";
  if (api == Api::anthropic_messages) return "anthropic";
  return "google";
}

// Tool results name their call by id only (OpenAI, Anthropic): take the name from the call.
void fill_tool_result_names(json::array& messages) {
  std::map<std::string, std::string, std::less<>> names;  // tool_use id -> name
  for (auto& m : messages) {
    json::array* blocks = m.get_object()["content"].if_array();
    if (!blocks) continue;
    for (auto& b : *blocks) {
      json::object& block = b.get_object();
      std::string_view type = str(block, "type"), id = str(block, "tool_use_id");
      if (type == "tool_use" && !str(block, "id").empty())
        names.emplace(str(block, "id"), str(block, "name"));
      else if (type == "tool_result" && !id.empty() && !member(block, "name"))
        if (auto it = names.find(id); it != names.end()) block["name"] = it->second;
    }
  }
}

bool looks_like_json_object(const http::Request& req) {
  return first_significant(req.body) == '{';
}

bool body_mentions(const http::Request& req, std::string_view key) {
  return req.body.find(key) != std::string::npos;
}

}  // namespace

std::string_view to_string(Api a) {
  switch (a) {
    case Api::anthropic_messages: return "anthropic.messages";
    case Api::openai_chat: return "openai.chat";
    case Api::openai_responses: return "openai.responses";
    case Api::gemini: return "gemini.generate_content";
    case Api::ollama_chat: return "ollama.chat";
  }
  return "unknown";
}

std::optional<Api> detect(const http::Request& req) {
  if (req.method != "POST" || !looks_like_json_object(req)) return std::nullopt;
  std::string_view path = req.path();
  if (path.ends_with("/v1/messages")) return Api::anthropic_messages;
  if (path.ends_with("/chat/completions")) return Api::openai_chat;
  if (path.find("/models/") != std::string_view::npos &&
      (path.ends_with(":generateContent") || path.ends_with(":streamGenerateContent")))
    return Api::gemini;
  // Generic names: also require the body to look like the API's.
  if (path.ends_with("/api/chat") && body_mentions(req, "\"messages\""))
    return Api::ollama_chat;
  if (path.ends_with("/responses") && body_mentions(req, "\"model\"") &&
      body_mentions(req, "\"input\""))
    return Api::openai_responses;
  return std::nullopt;
}

Result<RequestInfo> parse_request(Api api, const http::Request& req) {
  RequestInfo info;
  info.api = api;
  if (const std::string* host = req.header("host")) info.host = *host;
  info.provider = provider_for(api, info.host);
  info.endpoint = std::string(req.path());
  info.request_bytes = req.body.size();
  std::optional<json::value> body = parse_json(req.body);
  if (!body) return fail("request body is not valid JSON");
  const json::object* o = body->if_object();
  if (!o) return fail("request body is not a JSON object");
  switch (api) {
    case Api::anthropic_messages: parse_anthropic_request(*o, info); break;
    case Api::openai_chat: parse_openai_chat_request(*o, info); break;
    case Api::openai_responses: parse_openai_responses_request(*o, info); break;
    case Api::gemini: parse_gemini_request(*o, info); break;
    case Api::ollama_chat: parse_ollama_request(*o, info); break;
  }
  fill_tool_result_names(info.messages);
  return info;
}

ResponseInfo parse_response(const RequestInfo& req, const http::Response& resp) {
  ResponseInfo out;
  out.status = resp.status;
  const std::string body = resp.body_text();
  out.response_bytes = body.size();
  switch (req.api) {
    case Api::anthropic_messages: parse_anthropic_response(resp, body, out); break;
    case Api::openai_chat: parse_openai_chat_response(resp, body, out); break;
    case Api::openai_responses: parse_openai_responses_response(resp, body, out); break;
    case Api::gemini: parse_gemini_response(resp, body, out); break;
    case Api::ollama_chat: parse_ollama_response(resp, body, out); break;
  }
  if (resp.status >= 400) {
    out.error = body.empty() ? "HTTP " + std::to_string(resp.status) +
                                   (resp.reason.empty() ? "" : " " + resp.reason)
                             : cap_utf8(body, kMaxErrorBody);
  }
  else if (!resp.error.empty()) add_error(out, resp.error);
  out.usage_missing = !out.usage && resp.status < 400;
  return out;
}

boost::json::object to_json(const Usage& u) {
  return {{"input", u.input},
          {"output", u.output},
          {"cache_read", u.cache_read},
          {"cache_write", u.cache_write},
          {"cache_write_5m", u.cache_write_5m},
          {"cache_write_1h", u.cache_write_1h},
          {"reasoning", u.reasoning},
          {"raw", u.raw}};
}

boost::json::object to_json(const ToolCall& c) {
  return {{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}};
}

}  // namespace clawtrace::llm
