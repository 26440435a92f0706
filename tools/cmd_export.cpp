// `clawtrace export`: sessions (with the sessions below them) as JSON lines, or as OTLP
// spans to a tracing backend.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "cli.h"
#include "import.h"
#include "otlp_export.h"

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace export SESSION...|--all [--jsonl]
       clawtrace export SESSION...|--all --otlp URL [--header K=V]... [--batch N] [--attempts N]
       clawtrace export --all --otlp URL --continuous [--interval SECONDS]

--jsonl (the default) writes the events of each SESSION and of every session below it
(its child processes and sub-agents, to any depth), or of every session with --all, as
JSON lines in the envelope `clawtrace events` prints: sessions in start order, each
session's events in order. The same store always gives the same bytes; `clawtrace
import` reads them back.

--otlp URL sends each session and the sessions below it as one trace over OTLP/HTTP
(JSON) to URL (e.g. http://127.0.0.1:4318/v1/traces), spans named and attributed by the
OpenTelemetry GenAI conventions plus ClawTrace's costs (docs/otlp.md). --header K=V adds
a request header (e.g. an API key), --batch N spans per request (default 512). Up to
--attempts N tries per request (default 4), with backoff on 429, 5xx and connection
errors (Retry-After honoured); what the endpoint accepted is remembered
in the store (exports/otlp-ledger.json), so a rerun after a failure sends only the rest.
Running sessions are left for later. --continuous keeps following the store and ships
sessions as they end, every --interval seconds (default 5), until interrupted.
)";

std::atomic<bool> g_stop{false};

void on_stop(int) { g_stop = true; }

// Root sessions: those that no other session in the store started.
std::vector<std::string> root_sessions(const std::vector<SessionInfo>& all) {
  std::set<std::string> ids;
  for (const auto& s : all) ids.insert(s.id);
  std::vector<std::string> roots;
  for (const auto& s : all)
    if (!s.parent_session || !ids.count(*s.parent_session)) roots.push_back(s.id);
  return roots;
}

struct OtlpArgs {
  std::string url;
  std::vector<std::string> headers;
  size_t batch = 512;
  int attempts = 4;
  bool continuous = false;
  unsigned interval_s = 5;
};

int export_otlp(const Globals& g, const OtlpArgs& a, bool all, const std::vector<std::string>& specs) {
  auto prices = pricing::load_prices(std::nullopt);
  if (!prices) return error(prices.error());
  otlp::Options o;
  o.url = a.url;
  o.post.headers = a.headers;
  o.batch_spans = a.batch;
  o.post.max_attempts = a.attempts;
  o.ledger = g.store_dir / "exports" / "otlp-ledger.json";
  o.on_note = [&](const std::string& s) {
    if (!a.continuous || s.find("already exported") == std::string::npos) std::fprintf(stderr, "clawtrace: %s\n", s.c_str());
  };
  struct sigaction stop{};
  stop.sa_handler = on_stop;
  sigaction(SIGINT, &stop, nullptr);
  sigaction(SIGTERM, &stop, nullptr);
  otlp::Stats total;
  do {
    auto store = open_for_reading(g);
    if (!store) return error(store.error());
    std::vector<std::string> roots;
    if (all) {
      auto sessions = (*store)->sessions();
      if (!sessions) return error(sessions.error());
      roots = root_sessions(*sessions);
    } else {
      for (const auto& spec : specs) {
        auto id = (*store)->resolve(spec);
        if (!id) return error(id.error());
        roots.push_back(*id);
      }
    }
    auto stats = otlp::export_sessions(**store, roots, *prices, o);
    if (!stats && !a.continuous) return error("export: " + stats.error());
    if (!stats) {  // the failing sessions were noted; the next pass tries them again
      std::fprintf(stderr, "clawtrace: export: %s\n", stats.error().c_str());
    } else {
      total.sessions += stats->sessions;
      total.spans_sent += stats->spans_sent;
      total.requests += stats->requests;
    }
    for (unsigned waited = 0; a.continuous && !g_stop && waited < a.interval_s * 10; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (a.continuous && !g_stop);
  std::fprintf(stderr, "clawtrace: exported %zu sessions (%zu spans in %zu requests) to %s\n", total.sessions,
               total.spans_sent, total.requests, a.url.c_str());
  return 0;
}

}  // namespace

int cmd_export(const Globals& g, const std::vector<std::string>& args) {
  bool all = false, jsonl = false;
  std::vector<std::string> specs;
  OtlpArgs otlp;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    const bool takes_value = a == "--otlp" || a == "--header" || a == "--batch" || a == "--interval" || a == "--attempts";
    if (takes_value && i + 1 >= args.size()) return usage_error("export", a + " needs a value");
    if (a == "--all") {
      all = true;
    } else if (a == "--jsonl") {
      jsonl = true;
    } else if (a == "--continuous") {
      otlp.continuous = true;
    } else if (a == "--otlp") {
      otlp.url = args[++i];
    } else if (a == "--header") {
      const std::string& kv = args[++i];
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return usage_error("export", "--header needs K=V, not '" + kv + "'");
      otlp.headers.push_back(kv.substr(0, eq) + ": " + kv.substr(eq + 1));
    } else if (a == "--batch" || a == "--interval" || a == "--attempts") {
      char* end = nullptr;
      const unsigned long n = std::strtoul(args[++i].c_str(), &end, 10);
      if (args[i].empty() || *end || n == 0) return usage_error("export", a + " needs a positive number, not '" + args[i] + "'");
      if (a == "--batch") otlp.batch = n;
      else if (a == "--attempts") otlp.attempts = static_cast<int>(std::min(n, 100UL));
      else otlp.interval_s = static_cast<unsigned>(std::min(n, 86'400UL));
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("export", "unknown option " + a);
    } else {
      specs.push_back(a);
    }
  }
  if (all && !specs.empty()) return usage_error("export", "give sessions or --all, not both");
  if (!all && specs.empty()) return usage_error("export", "which sessions? (ids, prefixes, last, or --all)");
  if (jsonl && !otlp.url.empty()) return usage_error("export", "--jsonl or --otlp, not both");
  if (otlp.continuous && (otlp.url.empty() || !all)) return usage_error("export", "--continuous goes with --all --otlp URL");
  if (!otlp.url.empty()) return export_otlp(g, otlp, all, specs);
  auto store = open_for_reading(g);
  if (!store) return error(store.error());
  std::vector<std::string> ids;
  if (all) {
    auto sessions = (*store)->sessions();
    if (!sessions) return error(sessions.error());
    for (const auto& s : *sessions) ids.push_back(s.id);
  } else {
    std::vector<std::string> roots;
    for (const auto& spec : specs) {
      auto id = (*store)->resolve(spec);
      if (!id) return error(id.error());
      roots.push_back(*id);
    }
    auto below = sessions_with_descendants(**store, roots);
    if (!below) return error(below.error());
    ids = std::move(*below);
  }
  std::ios::sync_with_stdio(false);
  auto written = export_jsonl(**store, ids, std::cout);
  if (!written) return error(written.error());
  return 0;
}

}  // namespace clawtrace::cli
