// `clawtrace import`: JSON lines into the store — ClawTrace's own event envelope, the
// original ClawTrace OpenClaw plugin's event stream, or OpenClaw session transcripts,
// recognised by shape (store/import_interop.h). Files, directories, or - for stdin.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.h"
#include "import.h"
#include "import_interop.h"
#include "json_fields.h"
#include "ingest.h"
#include "pricing.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace import [--dry-run] [--otlp] FILE|DIR...

Imports traces into the store. Each file's format is recognised by the shape of its first
non-blank line:
  - ClawTrace events, as `clawtrace events` and `clawtrace export` print them:
    {"seq":N,"t_ns":N,"type":"...","session":"ID","span":"ID","parent":"ID"|null,"data":{...}}
    ("seq", "parent" and "data" may be left out; events keep the file's order);
  - the original ClawTrace OpenClaw plugin's event stream
    {"schemaVersion":..,"agentId":..,"event":{"eventId","eventType","traceId","spanId",...}}
    (its one LLM span per agent run is marked `detail: run`: per-call detail is missing);
  - OpenClaw session transcripts (~/.openclaw/agents/<agent>/sessions/<id>.jsonl); all
    transcripts of one command are read together, so a sub-agent's session links to the
    sessions_spawn call of its parent;
  - OTLP/JSON traces of GenAI-instrumented agents ({"resourceSpans": [...]}, one request
    per line as a collector's file exporter writes them; --otlp also takes one
    pretty-printed document): one session per trace, `chat` spans as LLM calls with
    their gen_ai.usage.*, `execute_tool` spans as tool calls, `invoke_agent` spans as
    sub-agents.
A directory imports every *.jsonl file below it; - reads ClawTrace events from stdin.
Session ids derive from the source's ids and a session already in the store is skipped,
so importing again adds nothing. Costs are recomputed from ClawTrace's price table; where
the source recorded its own, both are printed. A file of unknown shape is named with its
first line; each bad line is reported as FILE:LINE and left out (a truncated last line
too); the exit status is 1 if any was.

  --dry-run   print what would be imported (format, sessions, events per session) and
              write nothing
  --otlp      read every FILE as OTLP/JSON traces, whatever its first line
)";

struct Input {
  std::string path;  // "-" for stdin
  ImportFormat format = ImportFormat::unknown;
};

// Every *.jsonl below `dir`, sorted (a stable order: the same import twice reads alike).
std::vector<std::string> jsonl_files(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".jsonl") out.push_back(it->path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The whole input as lines (foreign formats are converted whole: links span the file).
SourceFile read_source(const std::string& name, std::istream& in) {
  SourceFile f;
  f.name = name;
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    f.lines.push_back({++n, std::move(line), in.eof()});
  }
  return f;
}

// The first non-blank line decides; "" for an empty file.
std::pair<uint64_t, std::string> first_line(std::istream& in) {
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line))
    if (++n, line.find_first_not_of(" \t\r") != std::string::npos) return {n, line};
  return {0, ""};
}

std::string money(double usd) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "$%.10g", usd);
  return buf;
}

// Per session: the source's own cost figures next to ClawTrace's price table.
void compare_costs(const std::string& source, const std::vector<Event>& events, const pricing::PriceTable& prices,
                   const ImportStats& stats) {
  struct Sums {
    double source = 0, ours = 0;
    bool any_source = false;
    uint64_t unpriced = 0;
  };
  std::map<std::string, Sums> sums;
  for (const auto& e : events) {
    if (e.type != EventType::llm_output) continue;
    Sums& s = sums[e.session];
    if (const auto* c = e.data.if_contains("source_cost_usd"); c && c->is_number()) {
      s.source += c->to_number<double>();
      s.any_source = true;
    }
    const auto* u = e.data.if_contains("usage");
    if (!u || !u->is_object()) continue;
    pricing::Tokens t;
    auto n = [&](const char* k) {
      const auto* v = u->get_object().if_contains(k);
      return v && v->is_number() ? json_fields::number_or<int64_t>(*v) : int64_t{0};
    };
    t = {n("input"), n("output"), n("cache_read"), n("cache_write"), 0, 0, n("reasoning")};
    const auto* m = e.data.if_contains("model");
    auto cost = pricing::cost(prices, m && m->is_string() ? std::string_view(m->get_string()) : "", t);
    if (cost) s.ours += cost->total;
    else ++s.unpriced;
  }
  for (const auto& sc : stats.per_session) {
    auto it = sums.find(import_session_id(sc.id));
    if (it == sums.end() || !it->second.any_source) continue;
    const Sums& s = it->second;
    std::string line = source + ": session " + sc.id + " (" + sc.name + "): source cost " + money(s.source) +
                       ", ClawTrace price table " + money(s.ours);
    if (s.unpriced) line += " (" + std::to_string(s.unpriced) + " calls of unpriced models left out)";
    if (s.source != s.ours) line += "; differs by " + money(s.ours - s.source);
    error(line, 0);
  }
}

class ImportCommand {
 public:
  ImportCommand(const Globals& g, bool dry_run, bool otlp) : g_(g), dry_run_(dry_run), otlp_(otlp) {}

  int run(const std::vector<std::string>& args) {
    std::vector<Input> inputs;
    for (const auto& a : args) {
      std::error_code ec;
      if (a != "-" && fs::is_directory(a, ec)) {
        auto files = jsonl_files(a);
        if (files.empty()) error(a + ": no *.jsonl files in it", 0);
        for (auto& f : files) inputs.push_back({std::move(f)});
      } else {
        inputs.push_back({a});
      }
    }
    if (auto r = open_store(); r) return r;
    pricing_ = pricing::load_prices(std::nullopt);
    std::vector<SourceFile> transcripts;
    for (auto& in : inputs) {
      if (in.path == "-") {
        if (auto r = import_stream(in.path, std::cin); r) return r;
        continue;
      }
      std::ifstream f(in.path, std::ios::binary);
      if (!f) {
        error("cannot read " + in.path, 0);
        ++failed_;
        continue;
      }
      auto [n, line] = first_line(f);
      in.format = otlp_ ? ImportFormat::otlp : n ? detect_format(line) : ImportFormat::native;
      f.clear();
      f.seekg(0);
      if (in.format == ImportFormat::unknown) {
        error(in.path + ":" + std::to_string(n) + ": unknown shape: not ClawTrace events, the ClawTrace plugin's " +
                  "events, an OpenClaw transcript or OTLP traces (--otlp): " + line.substr(0, 120),
              0);
        ++failed_;
      } else if (in.format == ImportFormat::native) {
        if (auto r = import_stream(in.path, f); r) return r;
      } else if (in.format == ImportFormat::clawtrace_plugin) {
        if (auto r = import_converted(in.path, in.format, convert_plugin(read_source(in.path, f))); r) return r;
      } else if (in.format == ImportFormat::otlp) {
        if (auto r = import_converted(in.path, in.format, convert_otlp(read_source(in.path, f))); r) return r;
      } else {
        transcripts.push_back(read_source(in.path, f));
      }
    }
    if (!transcripts.empty()) {
      const std::string name = transcripts.size() == 1 ? transcripts[0].name
                                                        : std::to_string(transcripts.size()) + " transcripts";
      if (auto r = import_converted(name, ImportFormat::openclaw_transcript, convert_openclaw(transcripts)); r) return r;
    }
    error(import_summary(total_, dry_run_), 0);
    return total_.rejected || failed_ ? 1 : 0;
  }

 private:
  // A dry run opens no store that does not exist yet (it would create one).
  int open_store() {
    std::error_code ec;
    if (dry_run_ && !fs::exists(g_.store_dir / "db" / "data.mdb", ec)) return 0;
    StoreOptions so;
    so.read_only = dry_run_;
    auto store = Store::open(g_.store_dir, so);
    if (!store) return error(store.error());
    store_ = std::move(*store);
    if (dry_run_) return 0;
    IngestOptions ingest;  // pending spools first, so an imported id cannot mix with them
    ingest.progress = isatty(2);
    if (auto r = ingest_pending(*store_, ingest); !r) return error("ingesting pending records: " + r.error());
    return 0;
  }

  ImportOptions options(const std::string& source) const {
    ImportOptions opt;
    opt.source = source == "-" ? "stdin" : source;
    opt.progress = isatty(2) && !dry_run_;
    opt.dry_run = dry_run_;
    opt.on_problem = [progress = opt.progress](const std::string& msg) {
      if (progress) std::fputs("\r\033[K", stderr);  // over the progress line
      error(msg, 0);
    };
    return opt;
  }

  // A dry run without a store: one in a scratch directory stands in, empty.
  Store* store() {
    if (!store_) {
      scratch_ = fs::temp_directory_path() / ("clawtrace-dry-run-" + std::to_string(getpid()));
      auto s = Store::open(scratch_);
      if (s) store_ = std::move(*s);
    }
    return store_.get();
  }

  int import_stream(const std::string& path, std::istream& in) {
    ImportOptions opt = options(path);
    if (path != "-") {
      std::error_code ec;
      if (auto size = fs::file_size(path, ec); !ec) opt.total_bytes = size;
    }
    Store* s = store();
    if (!s) return error("cannot open a store");
    auto stats = import_jsonl(*s, in, opt);
    if (!stats) return error(stats.error());
    if (in.bad()) return error("reading " + opt.source + " failed");
    report(opt.source, ImportFormat::native, *stats);
    return 0;
  }

  int import_converted(const std::string& source, ImportFormat format, Converted c) {
    for (const auto& p : c.problems) error(p, 0);
    Store* s = store();
    if (!s) return error("cannot open a store");
    std::vector<Event> copy = c.events;
    auto stats = import_events(*s, std::move(c.events), options(source));
    if (!stats) return error(stats.error());
    stats->rejected += c.rejected;
    if (pricing_) compare_costs(source, copy, *pricing_, *stats);
    report(source, format, *stats);
    return 0;
  }

  void report(const std::string& source, ImportFormat format, ImportStats stats) {
    if (dry_run_) {
      std::printf("%s: %s: %zu sessions\n", source.c_str(), std::string(format_name(format)).c_str(),
                  stats.per_session.size());
      for (const auto& s : stats.per_session)
        std::printf("  %s  %llu events  %s%s\n", s.id.c_str(), static_cast<unsigned long long>(s.events), s.name.c_str(),
                    s.skipped ? "  (already in the store: skipped)" : "");
    }
    add_stats(total_, std::move(stats));
  }

 public:
  ~ImportCommand() {
    store_.reset();
    std::error_code ec;
    if (!scratch_.empty()) fs::remove_all(scratch_, ec);
  }

 private:
  const Globals& g_;
  bool dry_run_;
  bool otlp_;  // --otlp: every file is OTLP/JSON
  std::unique_ptr<Store> store_;
  fs::path scratch_;
  Result<pricing::PriceTable> pricing_ = fail("not loaded");
  ImportStats total_;
  uint64_t failed_ = 0;  // files not read at all
};

}  // namespace

int cmd_import(const Globals& g, const std::vector<std::string>& args) {
  std::vector<std::string> inputs;
  bool dry_run = false, otlp = false;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a == "--dry-run" || a == "--otlp") {
      (a == "--otlp" ? otlp : dry_run) = true;
      continue;
    }
    if (a != "-" && !a.empty() && a[0] == '-') return usage_error("import", "unknown option " + a);
    inputs.push_back(a);
  }
  if (inputs.empty()) return usage_error("import", "which file? (a path, a directory, or - for stdin)");
  return ImportCommand(g, dry_run, otlp).run(inputs);
}

}  // namespace clawtrace::cli
