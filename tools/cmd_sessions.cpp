// `clawtrace sessions`: the traced sessions, as a table or JSON.
#include <cstdio>

#include "cli.h"
#include "session_cost.h"

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace sessions [--json] [--all]

Lists traced sessions, oldest first: id, name, start, duration, status, LLM calls, cost,
quality, command. Only root sessions (those no traced parent started) are listed unless
--all is given; `clawtrace events ID --tree` shows a root's descendants. The cost is the
TraceCard's total (the session and every sub-agent below it, bundled prices and the
default override file); `+?` marks calls of models the price table does not know.
)";

std::string cell(const std::optional<double>& v, const char* fmt) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, *v);
  return buf;
}

// The TraceCard total of each session that called a model or is a root (its sub-agents'
// calls roll up into it). Without prices, costs stay unknown rather than wrong.
void add_costs(Store& store, std::vector<SessionInfo>& shown, std::vector<uint64_t>& unpriced) {
  auto prices = pricing::load_prices(std::nullopt);
  auto trees = SpanTreeLoader::open(store);
  if (!prices || !trees) return;
  for (size_t i = 0; i < shown.size(); ++i) {
    SessionInfo& s = shown[i];
    if (s.parent_session && s.llm_calls == 0) continue;
    auto cost = session_cost(*trees, s.id, *prices);
    if (!cost || cost->llm_calls == 0) continue;
    s.cost_usd = cost->total_usd;
    unpriced[i] = cost->unpriced_calls;
  }
}

}  // namespace

int cmd_sessions(const Globals& g, const std::vector<std::string>& args) {
  bool as_json = false, all = false;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--json") as_json = true;
    else if (a == "--all") all = true;
    else return usage_error("sessions", "unexpected argument '" + a + "'");
  }
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  auto sessions = (*store)->sessions();
  if (!sessions) return error(sessions.error());
  std::vector<SessionInfo> shown;
  for (auto& s : *sessions)
    if (all || !s.parent_session) shown.push_back(std::move(s));
  std::vector<uint64_t> unpriced(shown.size(), 0);
  add_costs(**store, shown, unpriced);
  if (as_json) {
    boost::json::array out;
    for (const auto& s : shown) out.push_back(to_json(s));
    std::printf("%s\n", boost::json::serialize(out).c_str());
    return 0;
  }
  std::printf("%-16s  %-14s  %-19s  %9s  %-9s  %4s  %10s  %4s  %s\n", "ID", "NAME", "START",
              "DURATION", "STATUS", "LLM", "COST_USD", "Q", "COMMAND");
  for (const auto& s : shown) {
    std::string duration = s.end_ns ? format_duration(static_cast<double>(*s.end_ns - s.start_ns) / 1e9) : "-";
    std::string status(to_string(s.status));
    if (s.exit_code && s.status != SessionStatus::ok) {
      status += '(';  // appended piecewise: GCC 12 warns falsely on "(" + std::to_string(…)
      status += std::to_string(*s.exit_code);
      status += ')';
    }
    std::string name = s.name.size() > 14 ? s.name.substr(0, 13) + "~" : s.name;
    std::string command = shell_join(s.argv);
    if (command.size() > 60) command = command.substr(0, 59) + "~";
    std::printf("%-16s  %-14s  %-19s  %9s  %-9s  %4llu  %10s  %4s  %s\n", s.id.c_str(), name.c_str(),
                format_time(s.start_ns).c_str(), duration.c_str(), status.c_str(),
                static_cast<unsigned long long>(s.llm_calls), (cell(s.cost_usd, "%.6f") + (unpriced[&s - shown.data()] ? "+?" : "")).c_str(),
                cell(s.quality, "%.2f").c_str(), command.c_str());
  }
  return 0;
}

}  // namespace clawtrace::cli
