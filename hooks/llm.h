// Provider adapters: recognise an HTTP exchange as an LLM API call and normalise it.
// Requests become the full, normalised message list (the synthesiser works out which
// messages are new); responses become usage in billing classes (SPEC §5), stop reason,
// text, tool calls and timing. Streaming and non-streaming bodies of every format.
// Pure functions of http::Request / http::Response: no I/O, never throw on bad input.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http.h"
#include "result.h"

namespace clawtrace::llm {

// The wire format spoken (not who serves it: an OpenAI-compatible server speaks openai_chat).
enum class Api { anthropic_messages, openai_chat, openai_responses, gemini, ollama_chat };
std::string_view to_string(Api a);  // "anthropic.messages", "openai.chat", "openai.responses",
                                    // "gemini.generate_content", "ollama.chat"

// Normalised message: {"role": "system"|"user"|"assistant"|"tool", "content": [block…]}.
// Blocks: {"type":"text","text"}, {"type":"thinking","text","redacted"?(true)},
//         {"type":"tool_use","id","name","arguments"(JSON text as the model produced it)},
//         {"type":"tool_result","tool_use_id","name"?,"content"(text),"is_error"(bool)},
//         {"type":"image"|"document"|"audio"|"other","bytes"(size of the elided payload's
//          JSON text),"kind"?(the provider's type, for "other")}.
// One normalised message per provider message (Responses: per input item), so tool
// results sit where the provider put them: in "tool" messages (OpenAI, Responses, Ollama)
// or in "user" messages (Anthropic, Gemini). A tool_result without a name takes the name
// of the tool_use with its id earlier in the same request.
// Ids are the provider's (Anthropic toolu_…, OpenAI call_…); Gemini and Ollama without
// ids use "".

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text
};

struct RequestInfo {
  Api api = Api::openai_chat;
  std::string provider;  // vendor from the host (anthropic, openai, google, ollama,
                         // openrouter, …) or "openai_compatible"/"unknown"
  std::string host;      // Host header (port included if given)
  std::string endpoint;  // path without the query string
  std::string model;     // as requested ("" if absent)
  bool stream = false;
  bool include_usage = false;        // OpenAI chat stream_options.include_usage
  boost::json::array system;         // system prompt as text blocks (Anthropic system,
                                     // OpenAI system/developer messages, Gemini systemInstruction)
  boost::json::array messages;       // normalised, in request order, system excluded
  std::vector<std::string> tools;    // names of the tools offered
  std::string continues;             // the earlier response this one continues on the
                                     // server's side (Responses previous_response_id)
  uint64_t request_bytes = 0;        // body size as sent (decoded)
};

// Token counts in billing classes (SPEC §5). `input` is what is billed at the base input
// rate: Anthropic input_tokens; OpenAI prompt − cached (− cache_write when reported);
// Gemini prompt − cached + toolUsePrompt; Ollama prompt_eval_count. `output` includes
// reasoning (Gemini: candidates + thoughts). Anthropic does not report reasoning apart (0).
struct Usage {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;     // = cache_write_5m + cache_write_1h when split is known
  int64_t cache_write_5m = 0;
  int64_t cache_write_1h = 0;
  int64_t reasoning = 0;
  boost::json::object raw;     // the provider's usage object(s) as received (last value)
};

struct ResponseInfo {
  int status = 0;
  std::string model;                // as returned
  std::string id;                   // the provider's response id, when it is referable
                                    // later (Responses resp_…)
  std::optional<Usage> usage;       // nullopt: the response carried none
  bool usage_missing = false;       // a successful response without usage (e.g. an OpenAI
                                    // stream without include_usage, or an interrupted one)
  std::string stop_reason;          // normalised to the provider's own word
  std::string text;                 // assistant text, concatenated
  std::string thinking;             // reasoning text when the provider returns it
  std::vector<ToolCall> tool_calls; // in order
  std::optional<uint64_t> t_first_token_ns;  // first content (text/thinking/tool) event
  uint64_t response_bytes = 0;      // decoded body size
  std::string error;                // error body (status >= 400), or what could not be parsed
};

// Recognises an LLM API request by path (and body shape for ambiguous paths).
std::optional<Api> detect(const http::Request& req);
[[nodiscard]] Result<RequestInfo> parse_request(Api api, const http::Request& req);
// Never fails: what cannot be parsed lands in `error`.
ResponseInfo parse_response(const RequestInfo& req, const http::Response& resp);

// JSON for event data: {input, output, cache_read, cache_write, cache_write_5m,
// cache_write_1h, reasoning, raw} and {id, name, arguments}.
boost::json::object to_json(const Usage& u);
boost::json::object to_json(const ToolCall& c);

}  // namespace clawtrace::llm
