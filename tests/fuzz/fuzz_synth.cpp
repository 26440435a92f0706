// Drives the synthesiser (hooks/synth.*, hooks/llm_synth.*) with a process whose captured
// LLM traffic and spawns come from the input, and checks: saving and restoring the state
// between every step changes no event; every span opened (LLM call, tool call, sub-agent)
// is closed exactly once, after it opened, by the end of the session; no event is left
// held; nothing crashes or loops.
//
// Input: lines `<op><conn digit> <payload>`:
//   Q  a request on connection conn: POST /v1/messages (or /v1/responses if the payload
//      has "input"), the payload as the JSON body
//   A  its response: 200 with the payload as the JSON body
//   P  a process spawned (span from the line number)      W  the last one reaped
//   T  time passes (11 s)
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "memory_book.h"
#include "synth.h"

using namespace clawtrace;

namespace {

using Book = clawtrace::test::MemoryBook;

constexpr uint64_t kSession = 0x42;

std::vector<SpoolRecord> records(const uint8_t* data, size_t size) {
  std::vector<SpoolRecord> out;
  uint64_t t = 1'000'000'000;
  auto rec = [&](wire::RecordType type) {
    SpoolRecord r;
    r.type = type;
    r.t_ns = t += 1000;
    r.pid = 7;
    return r;
  };
  SpoolRecord start = rec(wire::RecordType::proc_start);
  start.session = kSession;
  start.trace_hi = start.trace_lo = 1;
  start.argv = std::vector<std::string>{"agent"};
  out.push_back(start);
  std::map<uint64_t, uint64_t> offset[2];
  std::set<uint64_t> open;
  uint64_t spans = 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (size_t at = 0; at < text.size() && out.size() < 4096;) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.size() < 2) continue;
    const uint64_t conn = 1 + static_cast<uint64_t>(line[1] & 7);
    const std::string body = line.size() > 3 ? line.substr(3) : "";
    if (line[0] == 'Q' || line[0] == 'A') {
      if (open.insert(conn).second) {
        SpoolRecord o = rec(wire::RecordType::conn_open);
        o.conn = conn;
        o.layer = static_cast<uint64_t>(wire::Layer::socket);
        out.push_back(o);
      }
      const int dir = line[0] == 'Q' ? 0 : 1;
      std::string bytes = dir == 0 ? "POST " + std::string(body.find("\"input\"") != std::string::npos ? "/v1/responses" : "/v1/messages") +
                                         " HTTP/1.1\r\nHost: h\r\ncontent-type: application/json\r\ncontent-length: "
                                   : "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ";
      bytes += std::to_string(body.size()) + "\r\n\r\n" + body;
      SpoolRecord d = rec(wire::RecordType::conn_data);
      d.conn = conn;
      d.direction = static_cast<uint64_t>(dir);
      d.stream_offset = offset[dir][conn];
      offset[dir][conn] += bytes.size();
      d.payload = std::move(bytes);
      out.push_back(d);
    } else if (line[0] == 'P') {
      SpoolRecord s = rec(wire::RecordType::spawn);
      s.span = ++spans;
      s.kind = static_cast<uint64_t>(wire::SpawnKind::posix_spawn);
      s.child_pid = 100 + spans;
      out.push_back(s);
    } else if (line[0] == 'W' && spans) {
      SpoolRecord w = rec(wire::RecordType::reap);
      w.child_pid = 100 + spans;
      w.wait_status = 0;
      out.push_back(w);
    } else if (line[0] == 'T') {
      t += 11'000'000'000;
    }
  }
  SpoolRecord exit = rec(wire::RecordType::proc_exit);
  exit.exit_code = 0;
  out.push_back(exit);
  return out;
}

std::vector<std::string> run(const std::vector<SpoolRecord>& rs, bool round_trip, Book& book) {
  Synthesizer synth(book);
  for (const auto& r : rs) {
    synth.apply(hex_id(kSession), r);
    if (round_trip) fuzz::check(book.round_trip(), "state restores");
  }
  std::vector<std::string> lines;
  for (const auto& e : book.events) lines.push_back(to_json_line(e));
  return lines;
}

EventType opener(EventType t) {
  switch (t) {
    case EventType::llm_output: return EventType::llm_input;
    case EventType::after_tool_call: return EventType::before_tool_call;
    case EventType::subagent_ended: return EventType::subagent_spawned;
    default: return t;
  }
}

// Each span: opened once, closed once, the close after the open.
void check_spans(const std::vector<std::string>& lines) {
  std::map<std::string, int> state;  // 1 open, 2 closed
  for (const auto& line : lines) {
    auto e = event_from_json_line(line);
    fuzz::check(e.ok(), "events parse back");
    if (e->type == EventType::session_start || e->type == EventType::session_end) continue;
    const bool opens = opener(e->type) == e->type;
    int& s = state[std::string(to_string(opener(e->type))) + "/" + e->span];
    fuzz::check(opens ? s == 0 : s == 1, opens ? "a span opens once" : "a span closes once, after it opened");
    s = opens ? 1 : 2;
  }
  for (const auto& [span, s] : state) fuzz::check(s == 2, "every span is closed by the end");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto rs = records(data, size);
  Book straight, passes;
  const auto a = run(rs, false, straight);
  const auto b = run(rs, true, passes);
  std::string ja, jb;
  for (const auto& l : a) ja += l + "\n";
  for (const auto& l : b) jb += l + "\n";
  fuzz::check_equal(ja, jb, "state saved and restored between records changes no event");
  for (const auto& [id, s] : straight.sessions) fuzz::check(s.llm.held.empty(), "nothing left held");
  check_spans(a);
  return 0;
}
