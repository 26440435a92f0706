// `clawtrace import`: JSON lines in the SPEC §3 envelope into the store.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli.h"
#include "import.h"
#include "ingest.h"

namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace import FILE

Reads hook events as JSON lines (FILE, or - for stdin) in the envelope `clawtrace events`
and `clawtrace export` print:
  {"seq":N,"t_ns":N,"type":"...","session":"ID","span":"ID","parent":"ID"|null,"data":{...}}
("seq", "parent" and "data" may be left out; events keep the file's order) and stores
them, one session record per session built from its session_start and session_end.
A session without session_end is `truncated`. A session id other than 16 hex digits is
stored under an id derived from it. A session already in the store is skipped. Each bad
line is reported as FILE:LINE and left out; the exit status is 1 if any line was.
)";

}  // namespace

int cmd_import(const Globals& g, const std::vector<std::string>& args) {
  std::string file;
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a != "-" && !a.empty() && a[0] == '-') return usage_error("import", "unknown option " + a);
    if (!file.empty()) return usage_error("import", "unexpected argument '" + a + "' (one FILE at a time)");
    file = a;
  }
  if (file.empty()) return usage_error("import", "which file? (a path, or - for stdin)");
  std::ifstream in_file;
  ImportOptions opt;
  if (file != "-") {
    std::error_code ec;
    if (fs::is_directory(file, ec)) return error(file + " is a directory");
    in_file.open(file, std::ios::binary);
    if (!in_file) return error("cannot read " + file);
    if (auto size = fs::file_size(file, ec); !ec) opt.total_bytes = size;
  }
  opt.source = file == "-" ? "stdin" : file;
  opt.progress = isatty(2);
  opt.on_problem = [&](const std::string& msg) {
    if (opt.progress) std::fputs("\r\033[K", stderr);  // over the progress line
    error(msg, 0);
  };
  auto store = Store::open(g.store_dir);
  if (!store) return error(store.error());
  IngestOptions ingest;  // pending spools first, so an imported id cannot mix with them
  ingest.progress = opt.progress;
  if (auto r = ingest_pending(**store, ingest); !r) return error("ingesting pending records: " + r.error());
  std::istream& in = file == "-" ? std::cin : in_file;
  auto stats = import_jsonl(**store, in, opt);
  if (!stats) return error(stats.error());
  if (in.bad()) return error("reading " + opt.source + " failed");
  error(import_summary(*stats), 0);
  return stats->rejected ? 1 : 0;
}

}  // namespace clawtrace::cli
