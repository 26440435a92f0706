// LLM events from captured traffic: reassembles each tracked connection (http.h), turns
// exchanges into llm_input/llm_output (llm.h), works out which messages each call added to
// its conversation, and opens/closes model tool calls (before/after_tool_call with
// source: model) from tool-use blocks and the tool results that answer them.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "event.h"
#include "http.h"
#include "llm.h"
#include "spool_reader.h"

namespace clawtrace {

struct CapturedConn {
  http::Connection http;
  std::string host;  // TLS SNI
  std::string peer;  // socket address
  std::string layer; // "tls" or "socket"
};

// A tool call the model asked for, open until its result shows up in a later request.
struct ModelToolCall {
  std::string span;
  std::string id;    // provider id ("" for Gemini/Ollama: matched by name)
  std::string name;
  std::string llm_span;
  uint64_t t_start = 0;
};

// A conversation: the message hashes of its latest request.
struct Thread {
  std::string id;
  std::vector<uint64_t> messages;
  uint64_t system = 0;
  uint64_t last_ns = 0;
};

struct LlmState {
  std::map<uint64_t, CapturedConn> conns;
  std::vector<ModelToolCall> open_calls;
  std::vector<Thread> threads;
  std::vector<std::string> warnings;
  uint64_t calls = 0;
};

boost::json::object to_json(const LlmState& s);
LlmState llm_state_from_json(const boost::json::value* v);

// What LlmSynth needs from the synthesiser: emit an event for the session.
using EmitFn = std::function<void(EventType, uint64_t t_ns, std::string span,
                                  std::optional<std::string> parent, boost::json::object data)>;

class LlmSynth {
 public:
  LlmSynth(LlmState& state, const std::string& session, EmitFn emit)
      : s_(state), session_(session), emit_(std::move(emit)) {}
  // conn_open / conn_data / conn_close / conn_note records.
  void apply(const SpoolRecord& r);
  // The session ended: pending exchanges are reported truncated, open tool calls abandoned.
  void finish(uint64_t t_ns);
  // The model tool call processes spawned now nest under (most recently opened), if any.
  std::optional<std::string> open_tool_span() const;

 private:
  void drain(uint64_t conn_id, CapturedConn& c);
  void on_request(uint64_t conn_id, CapturedConn& c, const http::Exchange& ex);
  void on_exchange(uint64_t conn_id, CapturedConn& c, const http::Exchange& ex);
  void close_answered_calls(const llm::RequestInfo& req, size_t first_new, uint64_t t_ns);
  Thread& thread_for(const std::vector<uint64_t>& hashes, uint64_t system, size_t* first_new);
  LlmState& s_;
  const std::string& session_;
  EmitFn emit_;
};

}  // namespace clawtrace
