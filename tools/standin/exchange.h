// Types shared by one scripted exchange: what the request asked for, what the script
// replies, and what a provider format rendered for the wire (plus its log fields).
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace clawtrace::standin {

namespace json = boost::json;

// Token counts in provider-neutral classes; each format maps them to its own fields.
// `output` excludes reasoning; `input` excludes cache reads and writes.
struct Usage {
  std::int64_t input = 0;
  std::int64_t output = 0;
  std::int64_t cache_read = 0;
  std::int64_t cache_write_5m = 0;
  std::int64_t cache_write_1h = 0;
  std::int64_t reasoning = 0;
};

struct ToolCallSpec {
  std::string name;
  std::string arguments;  // exact JSON text, as sent by formats that carry a string
  json::object args;      // the same value, for formats that carry an object
};

// A reply as the script describes it (every field optional in the script file).
struct Reply {
  std::string text;
  std::string thinking;
  std::vector<ToolCallSpec> tool_calls;
  std::optional<Usage> usage;
  int status = 200;
  std::string error_message;
  bool gzip = false;
  std::size_t chunk_size = 0;  // 0: one write per event
  std::size_t delta_size = 0;  // 0: the format's default text delta size
  int delay_ms = 0;
  std::string stop_reason;
  std::string model;
  std::string transfer;  // "", "chunked", "length" or "close"
  bool incomplete = false;
  bool double_message_delta = false;
  std::optional<std::size_t> drop_after_bytes;
  std::optional<int> retry_after;
  std::optional<bool> should_retry;
};

// What the stand-in understood of a request; fills the script's `when` conditions.
struct RequestInfo {
  std::string api;
  std::string model;
  bool stream = false;
  bool include_usage = false;  // OpenAI Chat: stream_options.include_usage
  bool sse = false;            // Gemini streamGenerateContent with alt=sse
  std::vector<std::string> tools;
  bool last_is_tool_result = false;
  std::string last_user_text;           // of the last user message that has text
  std::vector<std::string> user_texts;  // of every user message that has text, in order
};

// Values fixed before rendering so the wire and the log agree.
struct Resolved {
  std::string model;  // the model name returned
  Usage usage;
  std::uint64_t serial = 0;                 // this exchange's number, for response ids
  std::vector<std::uint64_t> tool_serials;  // one per tool call, for tool ids
  std::int64_t created = 0;                 // unix seconds
};

struct Rendered {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> pieces;  // the body, one piece per event (or the whole JSON)
  json::object log;                 // format-specific log fields
};

}  // namespace clawtrace::standin
