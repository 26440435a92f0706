// Wasted work in a TraceCard: tool calls that repeat an earlier one with the same result
// (the same file read again unchanged, the same command re-run, any identical call), and
// large tool results nothing afterwards referred to. Each finding names its steps, the
// dollars the repeat cost (its step's cost: re-reading a result already in context) and
// a one-line reason.
#include <algorithm>
#include <map>

#include "card.h"
#include "json_fields.h"

namespace json = boost::json;

namespace clawtrace::card {
namespace {

using json_fields::str;
constexpr size_t kLargeResult = 8 * 1024;  // bytes: a result worth checking for use
constexpr size_t kQuoteMin = 24;           // a line this long, repeated, is a reference
constexpr size_t kQuotesTried = 64;

bool read_like(std::string_view name, std::string_view args) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n.find("read") != std::string::npos || n.find("view") != std::string::npos) return true;
  for (std::string_view cmd : {"\"cat ", "\"head ", "\"tail ", "\"less ", "\"sed -n"})
    if (args.find(cmd) != std::string_view::npos) return true;
  return false;
}

bool command_like(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return n.find("bash") != std::string::npos || n.find("shell") != std::string::npos ||
         n.find("exec") != std::string::npos || n.find("command") != std::string::npos;
}

struct ToolCall {
  const SpanNode* node;
  std::string name, args, result;
};

std::string one_line(std::string text, size_t max) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  if (text.size() > max) text = text.substr(0, max) + "…";
  return text;
}

// Distinctive lines of a result, to look for in what the model said afterwards.
std::vector<std::string> quotes(const std::string& result) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < result.size() && out.size() < kQuotesTried) {
    size_t end = result.find('\n', at);
    if (end == std::string::npos) end = result.size();
    std::string line = result.substr(at, end - at);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.size() >= kQuoteMin) out.push_back(line.substr(0, 80));
    at = end + 1;
  }
  return out;
}

}  // namespace

std::vector<Finding> find_redundancy(const SpanTree& tree, const Card& card) {
  std::map<std::string, const Step*> steps;
  for (const auto& s : card.steps) steps[s.id] = &s;
  std::vector<ToolCall> calls;
  std::vector<const SpanNode*> outputs;  // LLM answers, in time order
  for (const auto& n : tree.nodes) {
    if (!steps.count(n.span)) continue;
    if (n.kind == SpanNode::Kind::tool && n.open && n.close && !n.close->data.contains("abandoned"))
      calls.push_back({&n, str(n.open->data, "name"), str(n.open->data, "arguments"), str(n.close->data, "result")});
    if (n.kind == SpanNode::Kind::llm && n.close) outputs.push_back(&n);
  }
  auto by_time = [](const ToolCall& a, const ToolCall& b) { return a.node->t_start() < b.node->t_start(); };
  std::stable_sort(calls.begin(), calls.end(), by_time);
  std::stable_sort(outputs.begin(), outputs.end(), [](auto* a, auto* b) { return a->t_start() < b->t_start(); });

  std::vector<Finding> found;
  std::map<std::string, const ToolCall*> first;  // name + args + result -> first such call
  for (const auto& c : calls) {
    const std::string key = c.node->session + '\0' + c.name + '\0' + c.args + '\0' + c.result;
    auto [it, fresh] = first.try_emplace(key, &c);
    if (fresh) continue;
    Finding f;
    f.kind = read_like(c.name, c.args) ? "repeated_read" : command_like(c.name) ? "repeated_command" : "repeated_call";
    f.steps = {it->second->node->span, c.node->span};
    f.wasted_usd = steps[c.node->span]->cost_usd;
    const std::string what = f.kind == "repeated_read" ? "read the same content again, unchanged"
                           : f.kind == "repeated_command" ? "re-ran the same command with the same result"
                                                          : "repeated an identical call with the same result";
    f.reason = c.name + " " + one_line(c.args, 80) + ": " + what + " (first at step " + it->second->node->span + ")";
    found.push_back(std::move(f));
  }
  for (const auto& c : calls) {
    if (c.result.size() < kLargeResult) continue;
    const auto lines = quotes(c.result);
    if (lines.empty()) continue;
    bool used = false;
    for (const SpanNode* out : outputs) {
      if (out->t_start() < c.node->t_start() || out->session != c.node->session) continue;
      std::string said = str(out->close->data, "text");
      if (auto* tc = out->close->data.if_contains("tool_calls")) said += json::serialize(*tc);
      for (const auto& l : lines) used = used || said.find(l) != std::string::npos;
      if (used) break;
    }
    if (used) continue;
    Finding f;
    f.kind = "unused_result";
    f.steps = {c.node->span};
    f.wasted_usd = steps[c.node->span]->cost_usd;
    f.reason = c.name + " returned " + std::to_string(c.result.size() / 1024) +
               " KiB that no later answer or tool call quoted";
    found.push_back(std::move(f));
  }
  return found;
}

}  // namespace clawtrace::card
