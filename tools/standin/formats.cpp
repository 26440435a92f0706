#include "formats.h"

#include "codec.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace clawtrace::standin {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "-20250929"
bool has_compact_date(std::string_view model) {
  return model.size() > 9 && model[model.size() - 9] == '-' && all_digits(model.substr(model.size() - 8));
}

// "-2025-08-07"
bool has_dashed_date(std::string_view model) {
  if (model.size() <= 11) return false;
  std::string_view tail = model.substr(model.size() - 11);
  return tail[0] == '-' && tail[5] == '-' && tail[8] == '-' && all_digits(tail.substr(1, 4)) &&
         all_digits(tail.substr(6, 2)) && all_digits(tail.substr(9, 2));
}

std::string without_latest(std::string_view model) {
  if (model.ends_with("-latest")) model.remove_suffix(7);
  return std::string(model);
}

constexpr Format kFormats[] = {
    {kAnthropic, inspect_anthropic, render_anthropic, anthropic_error},
    {kOpenAIChat, inspect_openai_chat, render_openai_chat, openai_error},
    {kOpenAIResponses, inspect_openai_responses, render_openai_responses, openai_error},
    {kGemini, inspect_gemini, render_gemini, gemini_error},
    {kOllama, inspect_ollama, render_ollama, ollama_error},
};

}  // namespace

bool is_api_name(std::string_view name) { return name == kOther || format_for(name) != nullptr; }

std::string_view detect_api(std::string_view method, std::string_view path) {
  if (method != "POST") return kOther;
  if (ends_with(path, "/messages")) return kAnthropic;
  if (ends_with(path, "/chat/completions")) return kOpenAIChat;
  if (ends_with(path, "/responses")) return kOpenAIResponses;
  if (path.find(":generateContent") != std::string_view::npos ||
      path.find(":streamGenerateContent") != std::string_view::npos)
    return kGemini;
  if (ends_with(path, "/api/chat")) return kOllama;
  return kOther;
}

const Format* format_for(std::string_view api) {
  for (const Format& f : kFormats)
    if (f.api == api) return &f;
  return nullptr;
}

std::string sse_event(std::string_view name, const json::value& data) {
  return "event: " + std::string(name) + "\ndata: " + json::serialize(data) + "\n\n";
}

std::string sse_data(const json::value& data) { return "data: " + json::serialize(data) + "\n\n"; }

std::string default_model(std::string_view api, std::string_view requested) {
  if (api == kAnthropic) {
    if (requested.empty()) return "claude-sonnet-4-5-20250929";
    return has_compact_date(requested) ? std::string(requested) : without_latest(requested) + "-20250929";
  }
  if (api == kOpenAIChat || api == kOpenAIResponses) {
    if (requested.empty()) return "gpt-4o-mini-2024-07-18";
    return has_dashed_date(requested) ? std::string(requested) : without_latest(requested) + "-2025-08-07";
  }
  if (requested.empty()) return api == kGemini ? "gemini-2.5-flash" : "llama3.2";
  return std::string(requested);
}

std::string serial_id(std::string_view prefix, std::uint64_t serial) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%010llu", static_cast<unsigned long long>(serial));
  return std::string(prefix) + "standin" + digits;
}

std::vector<std::string> text_deltas(std::string_view text, const Reply& reply) {
  return split_utf8(text, reply.delta_size ? reply.delta_size : 16);
}

std::vector<std::string> argument_deltas(std::string_view arguments) {
  return split_utf8(arguments, std::max<std::size_t>(1, (arguments.size() + 2) / 3));
}

Usage derive_usage(std::size_t request_body_bytes, const Reply& reply) {
  std::size_t out_bytes = reply.text.size();
  for (const ToolCallSpec& call : reply.tool_calls) out_bytes += call.name.size() + call.arguments.size();
  Usage u;
  u.input = static_cast<std::int64_t>(std::max<std::size_t>(1, request_body_bytes / 4));
  u.output = static_cast<std::int64_t>(std::max<std::size_t>(1, out_bytes / 4));
  if (!reply.thinking.empty())
    u.reasoning = static_cast<std::int64_t>(std::max<std::size_t>(1, reply.thinking.size() / 4));
  return u;
}

json::value parse_json(std::string_view text, boost::system::error_code& ec) {
  json::parse_options options;
  options.max_depth = 512;
  return json::parse(text, ec, {}, options);
}

const json::value* field(const json::value& v, std::string_view key) {
  const json::object* obj = v.if_object();
  return obj ? obj->if_contains(key) : nullptr;
}

std::string string_field(const json::value& v, std::string_view key) {
  const json::value* f = field(v, key);
  return f && f->is_string() ? std::string(f->get_string()) : std::string();
}

bool bool_field(const json::value& v, std::string_view key, bool fallback) {
  const json::value* f = field(v, key);
  return f && f->is_bool() ? f->get_bool() : fallback;
}

const json::array* array_field(const json::value& v, std::string_view key) {
  const json::value* f = field(v, key);
  return f ? f->if_array() : nullptr;
}

std::string content_text(const json::value* content, std::initializer_list<std::string_view> types) {
  if (!content) return {};
  if (content->is_string()) return std::string(content->get_string());
  std::string text;
  const json::array* parts = content->if_array();
  if (!parts) return text;
  for (const json::value& part : *parts) {
    std::string type = string_field(part, "type");
    bool wanted = types.size() == 0 || std::find(types.begin(), types.end(), type) != types.end();
    if (wanted) text += string_field(part, "text");
  }
  return text;
}

void add_user_text(RequestInfo& info, std::string text) {
  if (text.empty()) return;
  info.last_user_text = text;
  info.user_texts.push_back(std::move(text));
}

bool has_part_type(const json::value* content, std::string_view type) {
  const json::array* parts = content ? content->if_array() : nullptr;
  if (!parts) return false;
  return std::any_of(parts->begin(), parts->end(),
                     [&](const json::value& part) { return string_field(part, "type") == type; });
}

}  // namespace clawtrace::standin
