#include "demo_run.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli.h"

extern char** environ;
namespace fs = std::filesystem;

namespace clawtrace::cli::demo {
namespace {

constexpr int kReadyTimeoutMs = 10000;

// Starts argv; SIGINT and SIGQUIT back to default in the child (we ignore them meanwhile).
std::optional<pid_t> spawn(const std::vector<std::string>& argv, const Redirect& to) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  if (!to.out.empty()) posix_spawn_file_actions_addopen(&files, 1, to.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!to.err.empty()) posix_spawn_file_actions_addopen(&files, 2, to.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const ForegroundSpawn fg;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(stdout);  // our headings before the child's output
  std::fflush(stderr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &files, fg.attr(), args.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  if (rc != 0) return std::nullopt;
  return pid;
}

// Exit code, or 128 + signal.
int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

std::optional<StandinAddress> read_ready(const fs::path& ready) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(read_text(ready), ec);  // written atomically
  const boost::json::object* o = ec ? nullptr : v.if_object();
  const boost::json::value* port = o ? o->if_contains("https") : nullptr;
  const boost::json::value* cert = o ? o->if_contains("cert") : nullptr;
  if (!port || !port->is_int64() || !cert || !cert->is_string()) return std::nullopt;
  return StandinAddress{static_cast<int>(port->get_int64()), std::string(cert->get_string())};
}

}  // namespace

fs::path self_exe() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec);
}

std::optional<fs::path> find_program(const std::string& name) {
  const fs::path here = self_exe().parent_path();
  for (const fs::path& dir : {here, here / "../bin", fs::path(CLAWTRACE_INSTALLED_BINDIR)}) {
    std::error_code ec;
    if (fs::is_regular_file(dir / name, ec) && access((dir / name).c_str(), X_OK) == 0)
      return fs::weakly_canonical(dir / name, ec);
  }
  return std::nullopt;
}

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data())) path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

int run_and_wait(const std::vector<std::string>& argv, const Redirect& to) {
  auto pid = spawn(argv, to);
  return pid ? wait_exit(*pid) : 127;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

Result<StandinAddress> Standin::start(const fs::path& program, const fs::path& scratch, const std::string& script_text) {
  const fs::path ready = scratch / "ready.json", script = scratch / "script.json";
  std::ofstream(script) << script_text;
  auto pid = spawn({program.string(), "--https-port", "0", "--cert-dir", (scratch / "tls").string(), "--script",
                    script.string(), "--ready-file", ready.string()},
                   {scratch / "standin.out", scratch / "standin.out"});
  if (!pid) return fail("the provider stand-in did not start: cannot run " + program.string());
  pid_ = *pid;
  for (int waited = 0; waited < kReadyTimeoutMs; waited += 50) {
    if (auto address = read_ready(ready)) return *address;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return fail("the provider stand-in did not start: " + last_line(read_text(scratch / "standin.out")));
    }
    usleep(50000);
  }
  return fail("the provider stand-in did not start within 10 s");
}

Standin::~Standin() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  wait_exit(pid_);
}

void heading(const std::string& title) { std::printf("\n── %s\n\n", title.c_str()); }

std::string session_from(const std::string& run_stderr) {
  const std::string prefix = "clawtrace: session ";
  std::string line = last_line(run_stderr);
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : std::string();
}

IgnoreInterrupts::IgnoreInterrupts() {
  struct sigaction ign{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGINT, &ign, &old_int_);
  sigaction(SIGQUIT, &ign, &old_quit_);
}

IgnoreInterrupts::~IgnoreInterrupts() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGQUIT, &old_quit_, nullptr);
}

}  // namespace clawtrace::cli::demo
