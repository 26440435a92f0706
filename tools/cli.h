// Shared pieces of the `clawtrace` subcommands.
#pragma once

#include <spawn.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "result.h"
#include "store.h"

namespace clawtrace::cli {

struct Globals {
  std::filesystem::path store_dir;
};

// --store DIR, else $CLAWTRACE_STORE, else $XDG_DATA_HOME/clawtrace, else ~/.local/share/clawtrace.
std::filesystem::path default_store_dir();

// Opens the store and ingests whatever traced processes left in its spool. A store that
// does not exist yet is an error for readers ("nothing traced yet").
Result<std::unique_ptr<Store>> open_for_reading(const Globals& g);

// One clear line on stderr; returns the exit code to use.
int error(const std::string& message, int code = 1);
int usage_error(const std::string& command, const std::string& message);

int cmd_run(const Globals& g, const std::vector<std::string>& args);
int cmd_sessions(const Globals& g, const std::vector<std::string>& args);
int cmd_events(const Globals& g, const std::vector<std::string>& args);
int cmd_card(const Globals& g, const std::vector<std::string>& args);
int cmd_score(const Globals& g, const std::vector<std::string>& args);
int cmd_distill(const Globals& g, const std::vector<std::string>& args);
int cmd_import(const Globals& g, const std::vector<std::string>& args);
int cmd_export(const Globals& g, const std::vector<std::string>& args);
int cmd_demo(const Globals& g, const std::vector<std::string>& args);
int demo_closed_loop(const Globals& g, const std::filesystem::path& out_dir);  // demo --closed-loop
int cmd_eval(const Globals& g, const std::vector<std::string>& args);
int cmd_serve(const Globals& g, const std::vector<std::string>& args);
int cmd_relay(const Globals& g, const std::vector<std::string>& args);

std::string format_duration(double seconds);
std::string format_time(uint64_t ns);
std::string shell_join(const std::vector<std::string>& argv);
// 32 hex digits from /dev/urandom: the token of `serve` and `relay` off loopback.
std::string random_token();

// posix_spawn attributes for a foreground child: SIGINT and SIGQUIT back to their defaults
// in it (we ignore them while it runs, as a shell does).
class ForegroundSpawn {
 public:
  ForegroundSpawn();
  ~ForegroundSpawn();
  ForegroundSpawn(const ForegroundSpawn&) = delete;
  ForegroundSpawn& operator=(const ForegroundSpawn&) = delete;
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

}  // namespace clawtrace::cli
