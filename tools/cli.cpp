#include "cli.h"

#include <csignal>
#include "text.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>

#include "ingest.h"

namespace fs = std::filesystem;

namespace clawtrace::cli {

fs::path default_store_dir() {
  if (const char* s = std::getenv("CLAWTRACE_STORE"); s && *s) return s;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "clawtrace";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".local/share/clawtrace";
}

int error(const std::string& message, int code) {
  std::fprintf(stderr, "clawtrace: %s\n", message.c_str());
  return code;
}

int usage_error(const std::string& command, const std::string& message) {
  std::string where = command.empty() ? "" : command + ": ";
  std::fprintf(stderr, "clawtrace: %s%s\n", where.c_str(), message.c_str());
  return 2;
}

Result<std::unique_ptr<Store>> open_for_reading(const Globals& g) {
  std::error_code ec;
  // A store is there once a traced process wrote its spool or a command made the db.
  if (!fs::exists(g.store_dir / "db", ec) && !fs::exists(g.store_dir / "spool", ec))
    return fail("no ClawTrace store at " + g.store_dir.string() + " (nothing traced yet?)");
  auto store = Store::open(g.store_dir);
  if (!store) {
    // Not writable (someone else's store): read what is there without ingesting.
    StoreOptions ro;
    ro.read_only = true;
    auto readonly = Store::open(g.store_dir, ro);
    if (!readonly) return fail(store.error());
    return readonly;
  }
  IngestOptions opt;
  opt.progress = isatty(2);
  auto ingested = ingest_pending(**store, opt);
  if (!ingested) return fail("ingesting pending records: " + ingested.error());
  for (const auto& w : ingested->warnings) error("warning: " + w, 0);
  return store;
}

std::string format_duration(double s) {
  char buf[32];
  if (s < 1) std::snprintf(buf, sizeof buf, "%.1fms", s * 1e3);
  else if (s < 120) std::snprintf(buf, sizeof buf, "%.2fs", s);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return buf;
}

std::string format_time(uint64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / 1000000000ull);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string shell_join(const std::vector<std::string>& argv) { return text::shell_join(argv); }

std::string random_token() {
  std::random_device rd;  // /dev/urandom on Linux
  std::string t;
  constexpr const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) t += hex[rd() % 16];
  return t;
}

ForegroundSpawn::ForegroundSpawn() {
  posix_spawnattr_init(&attr_);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGQUIT);
  posix_spawnattr_setsigdefault(&attr_, &defaults);
  posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGDEF);
}

ForegroundSpawn::~ForegroundSpawn() { posix_spawnattr_destroy(&attr_); }

}  // namespace clawtrace::cli
