// The reply script: rules matched against each request (first match wins), a default
// reply, and the built-in behaviour used when no script is given.
#pragma once

#include "exchange.h"
#include "result.h"

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clawtrace::standin {

struct Condition {
  std::optional<std::string> api;
  std::optional<std::string> path_contains;
  std::optional<bool> has_tools;
  std::optional<std::string> tool_offered;
  std::optional<bool> last_is_tool_result;
  std::optional<std::string> user_contains;
  std::optional<std::string> any_user_contains;
  std::optional<std::uint64_t> nth;  // the k-th request meeting the other conditions
};

struct Rule {
  std::string label;  // "name" from the script, else "rules[i]"
  Condition when;
  Reply reply;
};

struct Script {
  std::vector<Rule> rules;
  std::optional<Reply> fallback;  // the script's "default"
};

Result<Script> parse_script(std::string_view text);
Result<Script> load_script(const std::string& path);

// Without a script: call a shell-like tool when tools are offered and the last message is
// not a tool result, otherwise answer with a short text.
Reply builtin_reply(const RequestInfo& info);

struct Choice {
  std::string rule;  // a rule's label, "default" or "builtin"
  Reply reply;
};

// Chooses replies; thread-safe, and keeps the per-rule counts that `nth` needs.
class Scripter {
 public:
  explicit Scripter(Script script);
  Choice choose(const RequestInfo& info, std::string_view path);

 private:
  std::mutex mu_;
  Script script_;
  std::vector<std::uint64_t> seen_;
};

}  // namespace clawtrace::standin
