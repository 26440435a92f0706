// Event synthesis: turns spool records (what processes did) into hook events (what the
// trace means): sessions, process tool spans, and the links between a child session and
// the span of its parent that started it. Pure logic over a SynthBook, which the ingester
// backs with the store; unit-tested with an in-memory book.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "event.h"
#include "llm_synth.h"
#include "spool_reader.h"

namespace clawtrace {

// A child process started by a session: one before/after_tool_call pair.
struct ProcSpan {
  std::string span;
  std::string how;  // fork, vfork, posix_spawn, system, popen, ...
  int64_t child_pid = 0;
  uint64_t t_start = 0;
  uint64_t t_end = 0;
  bool closed = false;
  std::vector<std::string> argv;
  std::optional<std::string> child_session;
  std::string parent;  // the span it nests under: a model tool call, or the session
};

// Where a session that turned out to be a sub-agent was announced: the agent session
// above it (subagent_spawned there) and the span it hangs under.
struct SubagentLink {
  std::string session;
  std::string parent;
  uint64_t t_start = 0;
};

// Everything ingestion remembers about a session between passes.
struct SessionState {
  SessionInfo info;
  std::vector<ProcSpan> spans;           // open ones, plus the most recent closed ones
  std::vector<std::string> argv_before_exec;
  std::optional<int> observed_status;    // raw wait status seen by a parent or `clawtrace run`
  uint64_t observed_end_ns = 0;          // when that was seen
  uint64_t last_record_ns = 0;           // its latest record: it was alive then
  bool ended = false;
  LlmState llm;                          // captured connections, conversations, model tool calls
  std::optional<SubagentLink> subagent_of;
  TokenTotals nested_usage;              // of the process sub-agents that ended under it
  uint64_t nested_calls = 0;
};

boost::json::object to_json(const SessionState& s);
Result<SessionState> session_state_from_json(const boost::json::value& v);

class SynthBook {
 public:
  virtual ~SynthBook() = default;
  virtual SessionState* find(const std::string& id) = 0;
  virtual SessionState& create(const std::string& id) = 0;
  // Most recent session of the trace with this pid that started at or before at_ns.
  virtual std::optional<std::string> session_by_pid(const std::string& trace, int64_t pid,
                                                    uint64_t at_ns) = 0;
  virtual void emit(Event e) = 0;
};

class Synthesizer {
 public:
  explicit Synthesizer(SynthBook& book) : book_(book) {}
  // Applies one record from the spool of `session`.
  void apply(const std::string& session, const SpoolRecord& r);
  // The process is gone and its spool fully read, but it never wrote proc_exit.
  void finish_truncated(const std::string& session, uint64_t t_ns);
  // `clawtrace run` saw the root exit with this wait status.
  void observed_exit(const std::string& session, int wait_status, uint64_t t_ns);

 private:
  void on_start(const std::string& id, const SpoolRecord& r);
  void on_spawn(SessionState& s, const SpoolRecord& r);
  void on_span_end(SessionState& s, ProcSpan& span, uint64_t t_ns, std::optional<int> status,
                   std::optional<int> error);
  void on_exit(SessionState& s, const SpoolRecord& r);
  void end_session(SessionState& s, uint64_t t_ns, boost::json::object data, SessionStatus status);
  void link_child(SessionState& child);
  void on_first_llm_call(SessionState& s, uint64_t t_ns, const boost::json::object& input);
  void end_subagent(SessionState& s, uint64_t t_ns, SessionStatus status);
  LlmSynth llm_synth(SessionState& s);
  void emit(SessionState& s, EventType type, uint64_t t_ns, std::string span,
            std::optional<std::string> parent, boost::json::object data);
  SynthBook& book_;
};

// Exit code / signal from a raw wait status, as JSON fields.
void put_wait_status(boost::json::object& o, int status);

}  // namespace clawtrace
