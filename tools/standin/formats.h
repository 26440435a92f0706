// Provider formats: which API a request is for, what it asks, and how replies and errors
// look on the wire. One file per format family implements the entry points below.
#pragma once

#include "exchange.h"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace clawtrace::standin {

inline constexpr std::string_view kAnthropic = "anthropic.messages";
inline constexpr std::string_view kOpenAIChat = "openai.chat";
inline constexpr std::string_view kOpenAIResponses = "openai.responses";
inline constexpr std::string_view kGemini = "gemini.generate_content";
inline constexpr std::string_view kOllama = "ollama.chat";
inline constexpr std::string_view kOther = "other";

bool is_api_name(std::string_view name);
// The API of a request by method and path (query excluded); kOther when none.
std::string_view detect_api(std::string_view method, std::string_view path);

struct Format {
  std::string_view api;
  RequestInfo (*inspect)(const json::value& body, std::string_view target);
  Rendered (*render)(const RequestInfo& info, const Reply& reply, const Resolved& resolved);
  Rendered (*error)(int status, std::string_view message, const Resolved& resolved);
};
const Format* format_for(std::string_view api);

RequestInfo inspect_anthropic(const json::value& body, std::string_view target);
Rendered render_anthropic(const RequestInfo& info, const Reply& reply, const Resolved& resolved);
Rendered anthropic_error(int status, std::string_view message, const Resolved& resolved);

RequestInfo inspect_openai_chat(const json::value& body, std::string_view target);
Rendered render_openai_chat(const RequestInfo& info, const Reply& reply, const Resolved& resolved);
Rendered openai_error(int status, std::string_view message, const Resolved& resolved);

RequestInfo inspect_openai_responses(const json::value& body, std::string_view target);
Rendered render_openai_responses(const RequestInfo& info, const Reply& reply, const Resolved& resolved);

RequestInfo inspect_gemini(const json::value& body, std::string_view target);
Rendered render_gemini(const RequestInfo& info, const Reply& reply, const Resolved& resolved);
Rendered gemini_error(int status, std::string_view message, const Resolved& resolved);

RequestInfo inspect_ollama(const json::value& body, std::string_view target);
Rendered render_ollama(const RequestInfo& info, const Reply& reply, const Resolved& resolved);
Rendered ollama_error(int status, std::string_view message, const Resolved& resolved);

// --- helpers shared by the formats ---

inline constexpr std::string_view kSseType = "text/event-stream; charset=utf-8";
inline constexpr std::string_view kJsonType = "application/json";

std::string sse_event(std::string_view name, const json::value& data);
std::string sse_data(const json::value& data);

// The model name returned when the script names none: the requested name with the
// provider's snapshot suffix (Anthropic, OpenAI), or as requested (Gemini, Ollama).
std::string default_model(std::string_view api, std::string_view requested);
// prefix + "standin" + a zero-padded serial: deterministic ids per stand-in process.
std::string serial_id(std::string_view prefix, std::uint64_t serial);

// Text deltas of the reply's delta_size (default 16 bytes), whole UTF-8 characters each.
std::vector<std::string> text_deltas(std::string_view text, const Reply& reply);
// Tool-call argument text split into about three fragments.
std::vector<std::string> argument_deltas(std::string_view arguments);

// Token counts from byte sizes when the script gives none.
Usage derive_usage(std::size_t request_body_bytes, const Reply& reply);

// Parses a request body; deeper nesting than Boost.JSON's default (32) is allowed, since
// tool schemas nest.
json::value parse_json(std::string_view text, boost::system::error_code& ec);

// Safe accessors on untrusted JSON: a missing field or a wrong type gives the fallback.
const json::value* field(const json::value& v, std::string_view key);
std::string string_field(const json::value& v, std::string_view key);
bool bool_field(const json::value& v, std::string_view key, bool fallback);
const json::array* array_field(const json::value& v, std::string_view key);
// A message content: a string, or the concatenated "text" of array parts whose "type" is
// one of `types` (any part with a string "text" when `types` is empty).
std::string content_text(const json::value* content, std::initializer_list<std::string_view> types);
// Records the text of one user message (in order); empty texts are skipped.
void add_user_text(RequestInfo& info, std::string text);
// Whether an array content has a part of this "type".
bool has_part_type(const json::value* content, std::string_view type);

}  // namespace clawtrace::standin
