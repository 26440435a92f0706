// The event model: the eight hook events and the envelope of SPEC §3, plus the session
// record the store keeps for each traced process.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace clawtrace {

enum class EventType {
  session_start,
  session_end,
  llm_input,
  llm_output,
  before_tool_call,
  after_tool_call,
  subagent_spawned,
  subagent_ended,
};

std::string_view to_string(EventType t);
std::optional<EventType> parse_event_type(std::string_view s);

// Ids are 64-bit, printed as 16 lower-case hex digits.
std::string hex_id(uint64_t id);
std::optional<uint64_t> parse_hex_id(std::string_view s);

struct Event {
  uint64_t seq = 0;   // 1-based, per session, assigned by the store
  uint64_t t_ns = 0;  // wall clock, ns since the epoch
  EventType type = EventType::session_start;
  std::string session;
  std::string span;
  std::optional<std::string> parent;
  boost::json::object data;
};

// The envelope as one JSON object (key order: seq, t_ns, type, session, span, parent, data).
boost::json::object to_json(const Event& e);
std::string to_json_line(const Event& e);
Result<Event> event_from_json(const boost::json::value& v);
Result<Event> event_from_json_line(std::string_view line);

enum class SessionStatus { running, ok, failed, truncated };
std::string_view to_string(SessionStatus s);
std::optional<SessionStatus> parse_session_status(std::string_view s);

struct SessionInfo {
  std::string id;
  std::string trace;
  std::string name;
  int64_t pid = 0;
  int64_t ppid = 0;
  std::vector<std::string> argv;
  std::string cwd;
  std::map<std::string, std::string> tags;
  uint64_t start_ns = 0;
  std::optional<uint64_t> end_ns;
  SessionStatus status = SessionStatus::running;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<std::string> parent_session;
  std::optional<std::string> parent_span;
  uint64_t events = 0;
  uint64_t llm_calls = 0;
  uint64_t tool_calls = 0;
  std::optional<double> cost_usd;
  std::optional<double> quality;     // the oracle's grade in [0,1] (`clawtrace score`)
  std::optional<std::string> note;    // the oracle's note with it (its evidence)
};

boost::json::object to_json(const SessionInfo& s);
Result<SessionInfo> session_from_json(const boost::json::value& v);

// "k=v,k2=v2" (CLAWTRACE_TAGS syntax) -> map; malformed pairs are skipped.
std::map<std::string, std::string> parse_tags(std::string_view s);

}  // namespace clawtrace
