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

// Token counts summed over calls (a sub-agent's, a session's), in billing classes.
struct TokenTotals {
  int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, reasoning = 0;
  void add(const llm::Usage& u);
  void add(const TokenTotals& t);
};
boost::json::object to_json(const TokenTotals& t);
TokenTotals token_totals_from_json(const boost::json::value* v);

// A tool call the model asked for, open until its result shows up in a later request.
struct ModelToolCall {
  std::string span;
  std::string id;    // provider id ("" for Gemini/Ollama: matched by name)
  std::string name;
  std::string llm_span;
  uint64_t t_start = 0;
  std::string thread;              // the conversation whose response asked for it
  std::vector<std::string> task;   // its longer argument texts: a sub-agent's task is one
};

// A conversation: the message hashes of its latest request.
struct Thread {
  std::string id;
  std::vector<uint64_t> messages;
  uint64_t system = 0;
  uint64_t last_ns = 0;
  std::string role = "main";  // main, subagent, side; pending: see LlmState::held
  std::string parent;         // the span its calls nest under ("" = the session)
  bool tools = false;         // offers tools
  std::string response_id;    // its latest response, if a later request may name it
};

// An in-process sub-agent: a conversation started by a model tool call (Task/Agent-style,
// or a spawn-style call that returns at once while the child runs on).
struct InProcessAgent {
  struct Output {
    std::string span;
    std::string text;
  };
  std::string span;           // = its thread id
  std::string tool_span;      // the tool call that started it
  std::string tool_name;
  std::string parent_thread;  // the conversation that asked for that tool call
  uint64_t t_start = 0;
  bool tool_returned = false; // the call returned before the sub-agent had answered
  bool answered = false;      // its latest response was final (no tool calls)
  std::vector<Output> outputs;  // recent non-empty texts, newest last
  uint64_t calls = 0;
  TokenTotals usage;
};

// An event of a conversation whose role is not known yet: the first conversation without
// tools may be the main one (a plain chat) or a side call made before the agent's tools
// conversation starts (Claude Code asks for a session title first). Held until either
// happens, its own second request, 10 s, or the session's end.
struct HeldEvent {
  std::string thread;
  EventType type = EventType::llm_input;
  uint64_t t_ns = 0;
  std::string span;
  std::string parent;
  boost::json::object data;
};

struct LlmState {
  std::map<uint64_t, CapturedConn> conns;
  std::vector<ModelToolCall> open_calls;
  std::vector<ModelToolCall> recent_calls;  // closed ones with a task, newest last
  std::vector<Thread> threads;
  std::vector<InProcessAgent> agents;       // in-process sub-agents not yet ended
  struct ExchangeContext {
    std::string thread;
    std::string role;
    std::string parent;  // "" = the session
  };
  std::map<std::string, ExchangeContext> exchanges;  // llm span -> its conversation, until answered
  std::vector<HeldEvent> held;
  std::vector<std::string> warnings;
  uint64_t calls = 0;
  std::string final_text;  // the latest assistant text of a main or sub-agent conversation
  std::string final_span;  // the call that answered it
  TokenTotals usage;       // every call of the session
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
  // The session ended: pending exchanges are reported truncated, open tool calls abandoned,
  // in-process sub-agents ended (truncated: the process was killed).
  void finish(uint64_t t_ns, bool truncated);
  // The model tool call processes spawned now nest under (most recently opened), if any.
  std::optional<std::string> open_tool_span() const;
  // Time passes (any record of the session): held events older than the window go out.
  void tick(uint64_t t_ns);
  // The name of an open model tool call, "" if `span` is not one.
  std::string open_tool_name(const std::string& span) const;

 private:
  void drain(uint64_t conn_id, CapturedConn& c);
  void on_request(uint64_t conn_id, CapturedConn& c, const http::Exchange& ex);
  void on_exchange(uint64_t conn_id, CapturedConn& c, const http::Exchange& ex);
  void close_answered_calls(const llm::RequestInfo& req, size_t first_new, uint64_t t_ns);
  void close_call(std::vector<ModelToolCall>::iterator it, const boost::json::object& result, uint64_t t_ns);
  struct Placement {
    Thread* thread = nullptr;
    size_t first_new = 0;
    std::string role;
    std::string parent;
    bool system_changed = false;
  };
  Placement place(const llm::RequestInfo& req, uint64_t t_ns);
  Placement continue_thread(Thread& t, size_t first_new, const std::vector<uint64_t>& hashes, uint64_t system,
                            uint64_t t_ns);
  Thread& new_thread(const llm::RequestInfo& req, uint64_t system, bool spawned);
  Thread* continued(const llm::RequestInfo& req);
  void settle(Thread& t, const std::string& role);
  void settle_pending(const std::string& role);
  void emit_call(EventType type, uint64_t t_ns, const std::string& span, const std::string& parent,
                 boost::json::object data, const std::string& thread, const std::string& role);
  Thread* thread(const std::string& id);
  const ModelToolCall* spawning_call(const llm::RequestInfo& req) const;
  void start_agent(Thread& t, const ModelToolCall& call, const llm::RequestInfo& req, uint64_t t_ns);
  void end_agent(std::vector<InProcessAgent>::iterator it, uint64_t t_ns, std::string status,
                 boost::json::object provenance);
  void end_announced_agents(const llm::RequestInfo& req, size_t first_new, const std::string& thread,
                            const std::string& span, uint64_t t_ns);
  void on_output(const LlmState::ExchangeContext& ctx, const std::string& span, const llm::ResponseInfo& r);
  InProcessAgent* agent(const std::string& span);
  LlmState& s_;
  const std::string& session_;
  EmitFn emit_;
};

// The text of the first user message (what a sub-agent was asked to do).
std::string first_user_text(const boost::json::array& messages);

}  // namespace clawtrace
