// An in-memory SynthBook for tests of the synthesiser: sessions in a map, events in a
// vector, and the JSON round trip of every session's state that ingestion does between
// passes (the store keeps the state as JSON).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "synth.h"

namespace clawtrace::test {

class MemoryBook : public SynthBook {
 public:
  SessionState* find(const std::string& id) override {
    auto it = sessions.find(id);
    return it == sessions.end() ? nullptr : &it->second;
  }
  SessionState& create(const std::string& id) override { return sessions[id]; }
  std::optional<std::string> session_by_pid(const std::string& trace, int64_t pid, uint64_t at) override {
    std::optional<std::string> best;
    uint64_t best_start = 0;
    for (auto& [id, s] : sessions)
      if (s.info.trace == trace && s.info.pid == pid && s.info.start_ns <= at && (!best || s.info.start_ns >= best_start)) {
        best = id;
        best_start = s.info.start_ns;
      }
    return best;
  }
  void emit(Event e) override { events.push_back(std::move(e)); }

  // Saves every session's state to JSON text and restores it; false if one does not restore.
  bool round_trip() {
    for (auto& [id, s] : sessions) {
      auto back = session_state_from_json(boost::json::parse(boost::json::serialize(to_json(s))));
      if (!back) return false;
      s = std::move(back.value());
    }
    return true;
  }

  std::vector<const Event*> of(const std::string& session, EventType type) const {
    std::vector<const Event*> out;
    for (auto& e : events)
      if (e.session == session && e.type == type) out.push_back(&e);
    return out;
  }

  std::map<std::string, SessionState> sessions;
  std::vector<Event> events;
};

}  // namespace clawtrace::test
