// The offline proposer (proposer.h): rule texts are fixed and general; what varies is which
// steps they target and the evidence and counterfactual each patch quotes from the card.
#include <boost/json.hpp>

#include <algorithm>
#include <map>

#include "proposer.h"
#include "wording.h"

namespace json = boost::json;

namespace clawtrace::costcraft {
namespace {

constexpr size_t kQuote = 160;         // bytes of a step quoted as evidence
constexpr double kMinTopShare = 0.05;  // a top-cost step worth a prune costs this share of the session

// ---- rule texts ------------------------------------------------------------------------

namespace rule {
constexpr const char* kRepeatedRead = "Do not re-read a file that has not changed since you last read it; use the content already in context.";
constexpr const char* kRepeatedCommand = "Do not re-run a command whose inputs have not changed since it last ran; reuse its earlier output.";
constexpr const char* kRepeatedCall = "Do not repeat an identical tool call; reuse the result you already have.";
constexpr const char* kUnusedResult = "Ask tools for only the output you need (filter, limit or page it) instead of pulling large results you do not use.";
constexpr const char* kUnusedSubagent = "Do not start a sub-agent whose answer you will not use; decide first what you need from it.";
constexpr const char* kIdleCall = "Do not spend a model call only thinking: each call should call a tool or answer.";
constexpr const char* kFewerTurns = "Make fewer model turns: request independent tool calls together instead of one per turn.";
constexpr const char* kSmallResults = "Keep tool results small: request only the part you need (a line range, a filter, a limit).";

constexpr const char* kMissingPath = "Before reading, editing or running a path, check that it exists (list its directory); if it does not, find the right one instead of guessing.";
constexpr const char* kMissingCommand = "Check that a command is installed (command -v) before relying on it; use an available alternative if it is not.";
constexpr const char* kPermission = "When an action is refused for lack of permission, do not retry it unchanged; work where you have access or report the limit.";
constexpr const char* kTimeout = "Give long-running commands a time limit; when one times out, narrow the work instead of re-running it unchanged.";
constexpr const char* kSyntax = "Check code you write for syntax errors (parse or compile it) before running it.";
constexpr const char* kTests = "Run the tests after each change and do not finish while any of them fails.";
constexpr const char* kApiError = "When a model call fails with a rate-limit or server error, wait and retry it with backoff instead of giving up.";
constexpr const char* kContext = "Keep the context within the model's limit: summarise or drop old tool output before it overflows.";
constexpr const char* kAbandoned = "Do not finish while a tool call is still running; wait for its result.";
constexpr const char* kSubagentFailed = "When a sub-agent fails, handle it (retry once or do the work yourself) instead of relying on its answer.";
constexpr const char* kExitStatus = "Check the exit status of each command; when one fails, fix its cause before you continue.";
constexpr const char* kToolError = "When a tool reports an error, read it and fix its cause before continuing; never finish on an unresolved error.";

constexpr const char* kReadBeforeEdit = "Read a file before you edit it.";
constexpr const char* kSearchFirst = "Locate the relevant files with a search before opening them.";
constexpr const char* kTestAfterEdit = "After your last edit, run the tests (or the program) and check that they pass before you answer.";
constexpr const char* kDelegate = "Hand a self-contained sub-task to a sub-agent and build on its answer.";
}  // namespace rule

// ---- step classification ---------------------------------------------------------------

bool has(const std::string& text, std::initializer_list<const char*> needles) {
  for (const char* n : needles)
    if (text.find(n) != std::string::npos) return true;
  return false;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

// The command a shell-like tool ran: its "command"/"cmd" argument, else the raw arguments.
std::string command_of(const card::Step& s) {
  boost::system::error_code ec;
  const json::value v = json::parse(s.args, ec);
  if (!ec && v.is_object())
    for (const char* key : {"command", "cmd", "script"})
      if (const json::value* c = v.get_object().if_contains(key); c && c->is_string()) return lower(std::string(c->get_string()));
  return lower(s.args);
}

std::string first_word(const std::string& cmd) {
  const size_t start = cmd.find_first_not_of(" \t\"'");
  if (start == std::string::npos) return "";
  std::string w = cmd.substr(start, cmd.find_first_of(" \t\"'", start) - start);
  const size_t slash = w.rfind('/');
  return slash == std::string::npos ? w : w.substr(slash + 1);
}

bool one_of(const std::string& w, std::initializer_list<const char*> words) {
  for (const char* x : words)
    if (w == x) return true;
  return false;
}

std::string action_of_command(const std::string& cmd) {
  const std::string w = first_word(cmd);
  if ((w == "sed" && has(cmd, {" -i"})) || one_of(w, {"tee", "patch", "cp", "mv", "touch", "mkdir"}) ||
      has(cmd, {" > ", " >> ", "apply_patch"}))
    return "edit";
  if (w.find("test") != std::string::npos || one_of(w, {"pytest", "ctest", "tox", "jest", "mocha", "rspec"}) ||
      (one_of(w, {"make", "go", "cargo", "npm", "yarn", "pnpm", "python", "python3", "mvn", "gradle", "dotnet", "bazel"}) &&
       has(cmd, {" test", " check", "unittest", "pytest"})))
    return "test";
  if (one_of(w, {"grep", "rg", "ag", "find", "ls", "fd", "locate", "tree", "git"}) && !has(cmd, {"git commit", "git apply"}))
    return "search";
  if (one_of(w, {"cat", "head", "tail", "less", "more", "sed", "nl", "bat", "view", "awk"})) return "read";
  if (one_of(w, {"curl", "wget"})) return "web";
  return "";
}

// ---- evidence --------------------------------------------------------------------------

std::string first_line(const std::string& text) {
  const size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  const size_t end = text.find_first_of("\r\n", start);
  return wording::excerpt(text.substr(start, end == std::string::npos ? std::string::npos : end - start), kQuote);
}

// What identifies a step: its arguments (or name), quoted.
Evidence quote_call(const card::Step& s) {
  std::string q = first_line(s.args);
  return {s.id, q.empty() ? s.name : q};
}

// A failed tool's own message is its result (its error field only says that it failed).
std::string error_text(const card::Step& s) {
  if (s.kind == "tool" && !first_line(s.result).empty()) return first_line(s.result);
  return first_line(s.error);
}

std::vector<Evidence> quote_error(const card::Step& s) {
  std::vector<Evidence> out{{s.id, error_text(s)}};
  if (s.kind == "subagent")
    if (const std::string o = first_line(s.output); !o.empty()) out.push_back({s.id, o});
  return out;
}

// ---- the proposer's state for one card ------------------------------------------------

class Proposal {
 public:
  explicit Proposal(const ProposerInput& in) : in_(in) {
    for (const auto& s : in.card.steps) steps_[s.id] = &s;
  }

  std::vector<Patch> run() {
    if (in_.outcome == "success") {
      prunes_from_findings();
      prunes_from_top_cost();
      preserves();
    } else {
      repairs();
    }
    for (auto& p : out_)
      if (p.targets.size() > 1) p.root_cause += " (and " + std::to_string(p.targets.size() - 1) + " more like it)";
    return std::move(out_);
  }

 private:
  const card::Step* step(const std::string& id) const {
    auto it = steps_.find(id);
    return it == steps_.end() ? nullptr : it->second;
  }

  // One patch per rule: a rule met again in the same card adds targets and evidence to it.
  Patch& add(const char* type, const char* text, const char* section, std::string action) {
    for (auto& existing : out_)
      if (existing.type == type && existing.rule == text) return existing;
    Patch p;
    p.type = type;
    p.rule = text;
    p.skill_section = section;
    p.action = std::move(action);
    p.proposer = "offline";
    out_.push_back(std::move(p));
    return out_.back();
  }

  void add_savings(Patch& p, double usd) const {
    if (!in_.costs_visible) return;
    p.est_savings_usd = p.est_savings_usd.value_or(0) + usd;
  }

  static void add_counterfactual(Patch& p, const std::string& why) {
    p.counterfactual += (p.counterfactual.empty() ? "" : "; ") + why;
  }

  static void set_root_cause(Patch& p, std::string why) {
    if (p.root_cause.empty()) p.root_cause = std::move(why);
  }

  void prunes_from_findings() {
    for (const auto& f : in_.card.redundancy) {
      const card::Step* wasted = f.steps.empty() ? nullptr : step(f.steps.back());
      const card::Step* earlier = f.steps.size() > 1 ? step(f.steps.front()) : nullptr;
      if (!wasted) continue;
      wasted_.insert(wasted->id);
      const bool unused = f.kind == "unused_result";
      const char* text = unused                        ? rule::kUnusedResult
                         : f.kind == "repeated_read"    ? rule::kRepeatedRead
                         : f.kind == "repeated_command" ? rule::kRepeatedCommand
                                                        : rule::kRepeatedCall;
      Patch& p = add("prune", text, kCostControl, f.kind == "repeated_read" ? "read" : f.kind == "repeated_command" ? "run" : action_of(*wasted));
      p.scope = unused ? "unused" : "repeats";
      p.targets.push_back(wasted->id);
      p.target_role = wasted->role.empty() ? wasted->kind : wasted->role;
      set_root_cause(p, f.kind + ": " + f.reason);
      if (earlier) p.evidence.push_back(quote_call(*earlier));
      p.evidence.push_back(quote_call(*wasted));
      add_counterfactual(p, unused ? "narrowing step " + wasted->id +
                                      "'s output would not have lowered quality: no later answer or tool call quoted its result (" +
                                      f.reason + ")"
                                : "removing step " + wasted->id + " would not have lowered quality: step " +
                                      (earlier ? earlier->id : std::string("?")) +
                                      " had already made the same call and got the identical result, still in context (" +
                                      f.reason + ")");
      add_savings(p, f.wasted_usd);
    }
  }

  void prunes_from_top_cost() {
    for (const auto& id : in_.top_cost) {
      const card::Step* s = step(id);
      if (!s || wasted_.count(id) || s->cost_usd < kMinTopShare * in_.card.cost_usd) continue;
      Patch* p = nullptr;
      if (s->kind == "subagent") {
        if (!s->used_by.empty() || !s->error.empty()) continue;  // its answer was used: essential
        p = &add("prune", rule::kUnusedSubagent, kCostControl, "delegate");
        add_counterfactual(*p, "removing step " + id + " would not have lowered quality: no later model call carried its answer");
      } else if (s->kind == "llm") {
        if (!s->error.empty() || s->role == "final_reply") continue;  // the answer itself
        if (s->role == "thinking_only" || s->role == "other") {
          p = &add("prune", rule::kIdleCall, kCostControl, "model");
          add_counterfactual(*p, "removing step " + id + " would not have lowered quality: it produced neither a tool call nor an answer");
        } else {
          p = &add("prune", rule::kFewerTurns, kCostControl, "model");  // no justification the card can give
        }
      } else {
        p = &add("prune", rule::kSmallResults, kCostControl, action_of(*s));
      }
      p->scope = s->kind == "llm" ? "steps" : "unused";
      p->targets.push_back(id);
      p->target_role = s->role.empty() ? s->kind : s->role;
      set_root_cause(*p, "step " + id + " is one of the " + std::to_string(in_.top_cost.size()) + " costliest steps (" +
                             p->target_role + ")");
      p->evidence.push_back(quote_call(*s));
      add_savings(*p, s->cost_usd);
    }
  }

  // Unrecovered: no later step of the same kind, name and arguments succeeded.
  bool recovered(size_t index) const {
    const card::Step& s = in_.card.steps[index];
    for (size_t j = index + 1; j < in_.card.steps.size(); ++j) {
      const card::Step& t = in_.card.steps[j];
      if (t.error.empty() && t.kind == s.kind && t.name == s.name && t.args == s.args) return true;
    }
    return false;
  }

  static std::pair<const char*, const char*> repair_rule(const card::Step& s) {
    const std::string text = lower(s.error + "\n" + s.result + "\n" + s.output);
    if (s.kind == "llm")
      return {has(text, {"context", "too long", "maximum", "token limit"}) ? rule::kContext : rule::kApiError, kStopRules};
    if (s.kind == "subagent") return {rule::kSubagentFailed, kStopRules};
    if (has(text, {"abandoned"})) return {rule::kAbandoned, kStopRules};
    if (has(text, {"command not found", "not recognized as", "executable file not found"})) return {rule::kMissingCommand, kWorkflow};
    if (has(text, {"no such file", "enoent", "does not exist", "not found", "cannot find", "could not find"}))
      return {rule::kMissingPath, kWorkflow};
    if (has(text, {"permission denied", "eacces", "operation not permitted"})) return {rule::kPermission, kStopRules};
    if (has(text, {"timed out", "timeout", "deadline exceeded"})) return {rule::kTimeout, kStopRules};
    if (has(text, {"syntaxerror", "syntax error", "parse error", "unexpected token", "indentationerror"}))
      return {rule::kSyntax, kWorkflow};
    if (action_of(s) == "test" || has(text, {"assertionerror", "tests failed", "test failed", "failures"}))
      return {rule::kTests, kStopRules};
    if (s.kind == "process" || has(text, {"exit code", "exit status"})) return {rule::kExitStatus, kStopRules};
    return {rule::kToolError, kStopRules};
  }

  void repairs() {
    for (size_t i = 0; i < in_.card.steps.size(); ++i) {
      const card::Step& s = in_.card.steps[i];
      if (s.error.empty() || recovered(i)) continue;
      const auto [text, section] = repair_rule(s);
      Patch& p = add("repair", text, section, action_of(s));
      set_root_cause(p, "step " + s.id + " (" + (s.name.empty() ? s.kind : s.name) + ") failed and was not recovered: " +
                            error_text(s) + "; the session ended below the success threshold");
      p.targets.push_back(s.id);
      for (auto& e : quote_error(s)) p.evidence.push_back(std::move(e));
    }
  }

  struct Act {
    std::string action;
    const card::Step* step;
  };

  // The session's actions in order: tool calls, sub-agents, and processes not under a tool
  // call; not the failed ones nor the wasted repeats (no behaviour worth keeping).
  std::vector<Act> actions() const {
    std::vector<Act> acts;
    for (const auto& s : in_.card.steps) {
      const bool under_tool = s.kind == "process" && step(s.parent) && step(s.parent)->kind == "tool";
      if ((s.kind == "tool" || s.kind == "subagent" || s.kind == "process") && !under_tool && s.error.empty() &&
          !wasted_.count(s.id))
        acts.push_back({action_of(s), &s});
    }
    return acts;
  }

  void preserve(const char* text, const char* section, const char* action, std::vector<const card::Step*> steps) {
    Patch& p = add("preserve", text, section, action);
    p.root_cause = "a successful session did this";
    for (const card::Step* s : steps) {
      p.targets.push_back(s->id);
      p.evidence.push_back(quote_call(*s));
    }
  }

  void preserves() {
    const std::vector<Act> acts = actions();
    auto first = [&](const char* action, size_t from = 0) -> size_t {
      for (size_t i = from; i < acts.size(); ++i)
        if (acts[i].action == action) return i;
      return acts.size();
    };
    const size_t edit = first("edit"), read = first("read"), search = first("search");
    if (read < edit && edit < acts.size()) {
      size_t last_read = read;
      for (size_t i = read; i < edit; ++i)
        if (acts[i].action == "read") last_read = i;
      preserve(rule::kReadBeforeEdit, kWorkflow, "read", {acts[last_read].step, acts[edit].step});
    }
    if (search < std::min(read, edit) && std::min(read, edit) < acts.size())
      preserve(rule::kSearchFirst, kWorkflow, "search", {acts[search].step, acts[std::min(read, edit)].step});
    size_t last_edit = acts.size();
    for (size_t i = 0; i < acts.size(); ++i)
      if (acts[i].action == "edit") last_edit = i;
    if (last_edit < acts.size())
      if (size_t test = first("test", last_edit + 1); test < acts.size())
        preserve(rule::kTestAfterEdit, kChecklist, "test", {acts[last_edit].step, acts[test].step});
    for (const auto& a : acts)
      if (a.action == "delegate" && a.step->kind == "subagent" && !a.step->used_by.empty()) {
        preserve(rule::kDelegate, kWorkflow, "delegate", {a.step});
        break;
      }
  }

  const ProposerInput& in_;
  std::map<std::string, const card::Step*> steps_;
  std::set<std::string> wasted_;  // the wasteful steps of the card's findings (pruned already)
  std::vector<Patch> out_;
};

}  // namespace

std::string action_of(const card::Step& s) {
  if (s.kind == "llm") return "model";
  if (s.kind == "subagent") return "delegate";
  const std::string n = lower(s.name);
  if (has(n, {"task", "agent", "delegate", "spawn"})) return "delegate";
  if (has(n, {"write", "edit", "patch", "replace", "create", "insert", "apply"})) return "edit";
  if (has(n, {"web", "fetch", "http", "browse", "url"})) return "web";
  if (has(n, {"grep", "glob", "search", "find", "list", "ls"})) return "search";
  if (has(n, {"read", "view", "cat", "open"})) return "read";
  if (std::string a = action_of_command(command_of(s)); !a.empty()) return a;
  if (s.kind == "process" || has(n, {"bash", "shell", "exec", "command", "run", "terminal"})) return "run";
  return "other";
}

ProposerInput proposer_input(const card::Card& c, const Options& options) {
  ProposerInput in;
  in.card = c;
  in.quality = c.session.quality.value_or(0);
  in.outcome = outcome_of(in.quality, options);
  in.note = c.session.note.value_or("");
  in.costs_visible = !options.no_cost;
  if (options.no_cost) {
    in.card.cost_usd = 0;
    in.card.session.cost_usd.reset();
    for (auto& s : in.card.steps) s.cost_usd = 0;
    for (auto& f : in.card.redundancy) f.wasted_usd = 0;
  } else {
    for (const card::Step* s : card::top_cost(c, options.top)) in.top_cost.push_back(s->id);
  }
  in.top = options.top;
  return in;
}

std::string ProposerInput::card_yaml() const { return card::to_yaml(card, {.top = top, .no_cost = !costs_visible}); }

Result<std::vector<Patch>> OfflineProposer::propose(const ProposerInput& input) { return Proposal(input).run(); }

}  // namespace clawtrace::costcraft
