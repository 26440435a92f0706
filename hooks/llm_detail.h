// Shared helpers of the provider adapters (llm_*.cpp). Private to hooks/.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http.h"
#include "llm.h"

namespace clawtrace::llm::detail {

namespace json = boost::json;

// --- JSON access (absent or mistyped members read as empty, never throw) ---

// Parses without exceptions; nullopt when `text` is not one complete JSON value.
std::optional<json::value> parse_json(std::string_view text);
const json::value* member(const json::object& o, std::string_view key);
// The first of two spellings present (Gemini accepts camelCase and snake_case).
const json::value* member(const json::object& o, std::string_view key, std::string_view alt);
std::string_view str(const json::value* v);
std::string_view str(const json::object& o, std::string_view key);
const json::object* obj(const json::value* v);
const json::object* obj(const json::object& o, std::string_view key);
const json::array* arr(const json::value* v);
const json::array* arr(const json::object& o, std::string_view key);
std::optional<int64_t> integer(const json::value* v);  // integral numbers (and whole doubles)
// A token count: integral, clamped to [0, 2^50] so that sums and differences never overflow.
int64_t count(const json::value* v);
int64_t count(const json::object& o, std::string_view key);
std::optional<bool> boolean(const json::value* v);
// Compact JSON text of a value (tool arguments, unknown payloads).
std::string to_text(const json::value& v);

// --- normalised message blocks (see llm.h) ---

json::object text_block(std::string_view text);
json::object thinking_block(std::string_view text);
json::object tool_use_block(std::string_view id, std::string_view name, std::string_view args);
json::object tool_result_block(std::string_view tool_use_id, std::string_view name,
                               std::string_view content, bool is_error);
// An elided payload: `type` image|document|audio|other, `bytes` = size of its JSON text;
// `kind` names the provider's own type for "other".
json::object payload_block(std::string_view type, const json::value& original,
                           std::string_view kind = {});
json::object message(std::string_view role, json::array content);
// "image"/"audio"/"document"/"other" from a MIME type.
std::string_view payload_type_for_mime(std::string_view mime);
// Tool arguments as JSON text: strings are taken as already-encoded JSON text.
std::string arguments_text(const json::value* v);

// --- responses ---

// First byte that is not JSON whitespace ('\0' when none).
char first_significant(std::string_view s);
// What a response body is, judged by its first byte: a JSON document or an event stream.
enum class BodyShape { empty, json_object, json_array, event_stream };
BodyShape body_shape(std::string_view body);
// Whole-body JSON object; otherwise notes the error in `out` and returns nullopt.
std::optional<json::object> parse_body_object(std::string_view body, ResponseInfo& out);
// Notes how many stream records were not JSON, if any.
void note_bad_records(ResponseInfo& out, size_t bad);
// Time of the last body piece (when a whole-body JSON document became complete).
uint64_t body_end_time(const http::Response& resp);
// Times of body offsets, asked in increasing order (linear over a whole body).
class OffsetClock {
 public:
  explicit OffsetClock(const std::vector<http::BodyPiece>& body) : body_(body) {}
  // Time of the piece holding byte `offset` of the concatenated body.
  uint64_t at(size_t offset);

 private:
  const std::vector<http::BodyPiece>& body_;
  size_t piece_ = 0, piece_start_ = 0;
};
void mark_first_token(ResponseInfo& out, uint64_t t_ns);
// Text capped at `max` bytes, cut back to a UTF-8 character boundary.
std::string cap_utf8(std::string_view s, size_t max);
// Appends a sentence to `out.error` ("; " between several).
void add_error(ResponseInfo& out, std::string_view message);

// One element of a top-level JSON array, located without parsing it.
struct ArrayElement {
  std::string_view text;
  size_t end = 0;  // offset just past the element in the scanned text
};
// Elements of `[ {...}, {...} ... ]`, tolerant of a missing tail; `closed` reports the `]`.
std::vector<ArrayElement> split_json_array(std::string_view text, bool& closed);

// --- per-format entry points ---

void parse_anthropic_request(const json::object& body, RequestInfo& out);
void parse_anthropic_response(const http::Response& resp, std::string_view body,
                              ResponseInfo& out);
void parse_openai_chat_request(const json::object& body, RequestInfo& out);
void parse_openai_chat_response(const http::Response& resp, std::string_view body,
                              ResponseInfo& out);
void parse_openai_responses_request(const json::object& body, RequestInfo& out);
void parse_openai_responses_response(const http::Response& resp, std::string_view body,
                              ResponseInfo& out);
void parse_gemini_request(const json::object& body, RequestInfo& out);
void parse_gemini_response(const http::Response& resp, std::string_view body,
                              ResponseInfo& out);
void parse_ollama_request(const json::object& body, RequestInfo& out);
void parse_ollama_response(const http::Response& resp, std::string_view body,
                              ResponseInfo& out);

}  // namespace clawtrace::llm::detail
