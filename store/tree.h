// The span tree of a session and of every session below it (SPEC §3): the session, its
// LLM calls, the tool calls the model asked for, the processes started (under the tool
// call that was open), sub-agents (under the call that started them) and, under those,
// the sub-agents' own sessions or conversations — one tree across linked sessions. What
// `clawtrace events --tree` prints and what the compiler attributes cost over.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "event.h"
#include "result.h"
#include "store.h"

namespace clawtrace {

struct SpanNode {
  enum class Kind { session, llm, tool, process, subagent };
  Kind kind = Kind::session;
  std::string session;          // whose events describe it
  std::string span;             // its id (a session node: the session id)
  std::optional<Event> open;    // session_start, llm_input, before_tool_call, subagent_spawned
  std::optional<Event> close;   // session_end, llm_output, after_tool_call, subagent_ended
  size_t parent = 0;            // index in SpanTree::nodes (the root: itself)
  std::vector<size_t> children; // in start order
  uint64_t t_start() const;
};

struct SpanTree {
  std::vector<SpanNode> nodes;                  // nodes[0] is the root session
  std::map<std::string, SessionInfo> sessions;  // every session in the tree
};

// From sessions and their events (seq order). Spans whose parent is unknown hang under
// their session; a session under the sub-agent node that announced it, else under the
// span of its parent session that started it. The nodes take the events (pass an rvalue
// to move them instead of copying).
SpanTree build_span_tree(const std::string& root, const std::vector<SessionInfo>& sessions,
                         std::map<std::string, std::vector<Event>> events);

// The tree of `root` and the sessions below it, read from one store.
[[nodiscard]] Result<SpanTree> load_span_tree(Store& store, const std::string& root);

// Trees of many roots from one listing of the store's sessions (load_span_tree lists and
// parses every session record each time: quadratic over a store's roots).
class SpanTreeLoader {
 public:
  [[nodiscard]] static Result<SpanTreeLoader> open(Store& store);
  [[nodiscard]] Result<SpanTree> load(const std::string& root);
  const std::map<std::string, SessionInfo>& sessions() const { return sessions_; }

 private:
  explicit SpanTreeLoader(Store& store) : store_(&store) {}
  Store* store_;
  std::map<std::string, SessionInfo> sessions_;
  std::map<std::string, std::vector<std::string>> children_;
};

}  // namespace clawtrace
