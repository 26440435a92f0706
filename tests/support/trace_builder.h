// Synthetic agent sessions for CostCraft's tests and bench: a conversation of turns, each an
// LLM call that asks for tool calls whose results the next call carries, as the synthesiser
// emits them; then the session's events, span tree, TraceCard or JSON lines.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "card.h"
#include "pricing.h"

namespace clawtrace::test {

struct ToolUse {
  std::string name, args, result;
  bool error = false;
};

class TraceBuilder {
 public:
  // `t0` spaces sessions apart in time; quality is the oracle's grade (nullopt: unscored).
  explicit TraceBuilder(std::string id, std::optional<double> quality = 1.0, std::string note = "",
                        uint64_t t0 = 1'700'000'000'000'000'000)
      : id_(std::move(id)), t_(t0) {
    info.id = id_;
    info.name = "agent";
    info.argv = {"agent", "--task", "x"};
    info.start_ns = t_;
    info.quality = quality;
    if (!note.empty()) info.note = note;
    push(EventType::session_start, id_, std::nullopt, {{"pid", 1}, {"argv", boost::json::array{"agent", "--task", "x"}}});
  }

  // One LLM call asking for `tools` (run at once, results carried by the next call).
  // Returns the tool steps' ids.
  std::vector<std::string> turn(const std::vector<ToolUse>& tools, int64_t input_tokens = 1000, int64_t output = 100) {
    const std::string llm = "l" + std::to_string(++n_);
    boost::json::array calls;
    std::vector<std::string> ids, spans;
    for (const auto& t : tools) {
      ids.push_back("u" + std::to_string(++n_));
      calls.push_back(boost::json::object{{"id", ids.back()}, {"name", t.name}, {"arguments", t.args}});
    }
    call(llm, input_tokens, output, "", calls);
    pending_.clear();
    for (size_t i = 0; i < tools.size(); ++i) {
      const std::string span = "t" + std::to_string(++n_);
      boost::json::object open{{"source", "model"}, {"id", ids[i]}, {"name", tools[i].name}, {"arguments", tools[i].args}};
      boost::json::object close{{"source", "model"}, {"id", ids[i]}, {"name", tools[i].name}, {"result", tools[i].result}};
      if (tools[i].error) close["is_error"] = true;
      push(EventType::before_tool_call, span, llm, open);
      push(EventType::after_tool_call, span, llm, close);
      pending_.push_back({ids[i], tools[i].result});
      spans.push_back(span);
    }
    return spans;
  }

  // The final answer; returns its step id.
  std::string answer(const std::string& text, int64_t input_tokens = 1000) {
    const std::string llm = "l" + std::to_string(++n_);
    call(llm, input_tokens, 50, text, {});
    return llm;
  }

  void end(int exit_code = 0) {
    push(EventType::session_end, id_, std::nullopt, {{"status", "ok"}, {"exit_code", exit_code}});
    info.end_ns = t_;
    info.status = SessionStatus::ok;
    info.exit_code = exit_code;
  }

  SpanTree tree() const {
    const std::map<std::string, std::vector<Event>> by_session{{id_, events}};
    return build_span_tree(id_, {info}, by_session);
  }

  card::Card card(const pricing::PriceTable& prices) const { return card::compile(tree(), prices); }

  // The events as `clawtrace import` reads them (tags and all on session_start).
  std::string jsonl(const std::map<std::string, std::string>& tags = {}) const {
    std::string out;
    for (Event e : events) {
      if (e.type == EventType::session_start) {
        boost::json::object t;
        for (const auto& [k, v] : tags) t[k] = v;
        e.data["tags"] = t;
      }
      out += to_json_line(e) + "\n";
    }
    return out;
  }

  SessionInfo info;
  std::vector<Event> events;
  std::string model = "small";  // the model every call uses

 private:
  static boost::json::object usage(int64_t in, int64_t out) {
    return {{"input", in}, {"output", out}, {"cache_read", 0}, {"cache_write", 0}, {"cache_write_5m", 0},
            {"cache_write_1h", 0}, {"reasoning", 0}};
  }

  void call(const std::string& llm, int64_t in, int64_t out, const std::string& text, const boost::json::array& calls) {
    boost::json::array added;
    if (messages_ == 0) {
      added.push_back(message("user", "do the task"));
    } else {
      added.push_back(message("assistant", "working"));
      for (const auto& [id, result] : pending_)
        added.push_back(boost::json::object{
            {"role", "user"},
            {"content", boost::json::array{boost::json::object{{"type", "tool_result"}, {"tool_use_id", id}, {"content", result}}}}});
    }
    uint64_t bytes = 200 + 100 * messages_;
    for (const auto& m : added) bytes += boost::json::serialize(m).size();
    push(EventType::llm_input, llm, id_,
         {{"model", model}, {"thread", "t"}, {"thread_role", "main"}, {"messages_added_from", messages_},
          {"messages_added", added}, {"request_bytes", bytes}});
    messages_ += added.size();
    push(EventType::llm_output, llm, id_, {{"model_returned", model}, {"usage", usage(in, out)}, {"text", text}, {"tool_calls", calls}});
  }

  static boost::json::value message(const std::string& role, const std::string& text) {
    return boost::json::object{{"role", role},
                               {"content", boost::json::array{boost::json::object{{"type", "text"}, {"text", text}}}}};
  }

  void push(EventType type, const std::string& span, std::optional<std::string> parent, boost::json::object data) {
    Event e;
    e.seq = events.size() + 1;
    e.t_ns = t_ += 1'000'000;
    e.type = type;
    e.session = id_;
    e.span = span;
    e.parent = std::move(parent);
    e.data = std::move(data);
    events.push_back(std::move(e));
  }

  std::string id_;
  uint64_t t_;
  int n_ = 0;
  size_t messages_ = 0;
  std::vector<std::pair<std::string, std::string>> pending_;  // tool-use id, result
};

// Round prices per million tokens for the model "small": in 1, out 10.
inline pricing::PriceTable small_prices(const std::filesystem::path& dir) {
  const auto file = dir / "prices.json";
  std::ofstream(file) << R"({"version": "test", "models": {
    "small": {"provider": "test", "input": 1, "output": 10, "cache_read": 0.1, "cache_write_5m": 1.25, "cache_write_1h": 2, "checked": "2026-11-27"}}})";
  auto t = pricing::PriceTable::load(file);
  return t ? std::move(t.value()) : pricing::PriceTable{};
}

}  // namespace clawtrace::test
