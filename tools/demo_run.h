// What `clawtrace demo` and `clawtrace demo --closed-loop` share: finding the bundled
// programs, running children (this same executable included) in the foreground, the
// provider stand-in with a script, and reading `clawtrace run`'s session id.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <signal.h>
#include <string>
#include <vector>

#include "result.h"

namespace clawtrace::cli::demo {

std::filesystem::path self_exe();
// Next to this executable (build tree, or an installed bin/), else the install prefix's bin/.
std::optional<std::filesystem::path> find_program(const std::string& name);

// A scratch directory, removed with everything in it when this goes out of scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "clawtrace-demo-run");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Where a child's stdout and stderr go: inherited when empty, else that file.
struct Redirect {
  std::filesystem::path out, err;
};

// Runs argv in the foreground and waits: its exit code, or 128 + signal (127: not started).
int run_and_wait(const std::vector<std::string>& argv, const Redirect& to = {});

std::string read_text(const std::filesystem::path& p);
std::string last_line(std::string text);

struct StandinAddress {
  int https_port = 0;
  std::string cert;
};

// The stand-in with `script` (JSON text), stopped (SIGTERM) when this goes out of scope.
class Standin {
 public:
  Result<StandinAddress> start(const std::filesystem::path& program, const std::filesystem::path& scratch,
                               const std::string& script);
  ~Standin();

 private:
  pid_t pid_ = -1;
};

void heading(const std::string& title);

// The session id from `clawtrace run`'s last stderr line, "clawtrace: session ID".
std::string session_from(const std::string& run_stderr);

// Ignores ^C while the children run (they get it and end; we clean up and report).
class IgnoreInterrupts {
 public:
  IgnoreInterrupts();
  ~IgnoreInterrupts();
  IgnoreInterrupts(const IgnoreInterrupts&) = delete;
  IgnoreInterrupts& operator=(const IgnoreInterrupts&) = delete;

 private:
  struct sigaction old_int_{}, old_quit_{};
};

}  // namespace clawtrace::cli::demo
