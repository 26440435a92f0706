// `clawtrace demo`: the whole pipeline on a newcomer's machine, with no network and no API
// key. Starts the bundled provider stand-in (HTTPS on 127.0.0.1, scripted by
// demo/standin_script.json), runs the bundled demo agent under `clawtrace run`, then
// prints its span tree and TraceCard. Each step is this same executable run as a child, so
// the demo is exactly what a user would type.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli.h"
#include "demo_script.h"

extern char** environ;
namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace demo

Runs a small bundled agent (clawtrace-demo-agent: C++, libcurl over HTTPS) against the
bundled provider stand-in (clawtrace-standin on 127.0.0.1), traced into the store, and
prints its span tree and TraceCard. The agent summarises the TODOs of a scratch workspace:
it reads a file, reads it again (a redundant step), delegates counting to a sub-agent
process that runs one shell command, and answers. No network, no API key. Afterwards the
session is in the store like any other (`clawtrace sessions`).
)";

constexpr int kReadyTimeoutMs = 10000;

fs::path self_exe() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec);
}

// Next to this executable (build tree, or an installed bin/), else the install prefix's bin/.
std::optional<fs::path> find_program(const std::string& name) {
  const fs::path here = self_exe().parent_path();
  for (const fs::path& dir : {here, here / "../bin", fs::path(CLAWTRACE_INSTALLED_BINDIR)}) {
    std::error_code ec;
    if (fs::is_regular_file(dir / name, ec) && access((dir / name).c_str(), X_OK) == 0)
      return fs::weakly_canonical(dir / name, ec);
  }
  return std::nullopt;
}

// A scratch directory for the stand-in's certificate, script, ready file and outputs.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "clawtrace-demo-run-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Where a child's stdout and stderr go: inherited when empty, else that file.
struct Redirect {
  fs::path out, err;
};

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

int run_and_wait(const std::vector<std::string>& argv, const Redirect& to = {}) {
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

struct StandinAddress {
  int https_port = 0;
  std::string cert;
};

// The stand-in, stopped (SIGTERM) when this goes out of scope.
class Standin {
 public:
  Result<StandinAddress> start(const fs::path& program, const fs::path& scratch) {
    const fs::path ready = scratch / "ready.json", script = scratch / "script.json";
    std::ofstream(script) << kDemoScript;
    auto pid = spawn({program.string(), "--https-port", "0", "--cert-dir", (scratch / "tls").string(),
                      "--script", script.string(), "--ready-file", ready.string()},
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
  ~Standin() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    wait_exit(pid_);
  }

 private:
  static std::optional<StandinAddress> read_ready(const fs::path& ready) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(read_text(ready), ec);  // written atomically
    const boost::json::object* o = ec ? nullptr : v.if_object();
    const boost::json::value* port = o ? o->if_contains("https") : nullptr;
    const boost::json::value* cert = o ? o->if_contains("cert") : nullptr;
    if (!port || !port->is_int64() || !cert || !cert->is_string()) return std::nullopt;
    return StandinAddress{static_cast<int>(port->get_int64()), std::string(cert->get_string())};
  }
  pid_t pid_ = -1;
};

void heading(const std::string& title) { std::printf("\n── %s\n\n", title.c_str()); }

// The session id from `clawtrace run`'s last stderr line, "clawtrace: session ID".
std::string session_from(const std::string& run_stderr) {
  const std::string prefix = "clawtrace: session ";
  std::string line = last_line(run_stderr);
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : std::string();
}

// `clawtrace card ID`; a build without the card command says so and the demo still passes.
int print_card(const std::vector<std::string>& self, const std::string& id, const fs::path& scratch) {
  std::vector<std::string> argv = self;
  argv.insert(argv.end(), {"card", id});
  const Redirect to{scratch / "card.out", scratch / "card.err"};
  int rc = run_and_wait(argv, to);
  std::string err = read_text(to.err);
  if (rc != 0 && err.find("unknown command") != std::string::npos) {
    std::printf("(TraceCards are not available in this build of clawtrace.)\n");
    return 0;
  }
  std::fputs(read_text(to.out).c_str(), stdout);
  std::fputs(err.c_str(), stderr);
  return rc == 0 ? 0 : error("clawtrace card failed (exit " + std::to_string(rc) + ")");
}

// Ignores ^C while the children run (they get it and end; we clean up and report).
class IgnoreInterrupts {
 public:
  IgnoreInterrupts() {
    struct sigaction ign{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int_);
    sigaction(SIGQUIT, &ign, &old_quit_);
  }
  ~IgnoreInterrupts() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGQUIT, &old_quit_, nullptr);
  }
  IgnoreInterrupts(const IgnoreInterrupts&) = delete;
  IgnoreInterrupts& operator=(const IgnoreInterrupts&) = delete;

 private:
  struct sigaction old_int_{}, old_quit_{};
};

}  // namespace

int cmd_demo(const Globals& g, const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    return usage_error("demo", "unexpected argument '" + a + "'");
  }
  const auto standin_exe = find_program("clawtrace-standin");
  const auto agent_exe = find_program("clawtrace-demo-agent");
  if (!standin_exe) return error("demo: cannot find clawtrace-standin next to " + self_exe().string());
  if (!agent_exe) return error("demo: cannot find clawtrace-demo-agent next to " + self_exe().string());
  ScratchDir scratch;
  if (scratch.path().empty()) return error("demo: cannot make a temporary directory");
  IgnoreInterrupts interrupts;

  std::printf("clawtrace demo: a small agent summarises the TODOs in a scratch workspace, talking\n"
              "Anthropic Messages over HTTPS to a local provider stand-in (no network, no API key),\n"
              "traced into %s.\n",
              g.store_dir.c_str());
  const std::vector<std::string> self{self_exe().string(), "--store", g.store_dir.string()};
  std::string id;
  {
    Standin standin;
    auto address = standin.start(*standin_exe, scratch.path());
    if (!address) return error("demo: " + address.error());
    heading("The agent's answer  (clawtrace run --name demo -- clawtrace-demo-agent …)");
    std::vector<std::string> run = self;
    run.insert(run.end(), {"run", "--name", "demo", "--", agent_exe->string(),
                           "https://127.0.0.1:" + std::to_string(address->https_port), "--cafile",
                           address->cert});
    const fs::path run_err = scratch.path() / "run.err";
    int rc = run_and_wait(run, {{}, run_err});
    const std::string err = read_text(run_err);
    std::fputs(err.c_str(), stderr);
    if (rc != 0) return error("demo: the demo agent failed (exit " + std::to_string(rc) + ")");
    id = session_from(err);
    if (id.empty()) return error("demo: the demo agent ran but was not traced");
  }

  heading("What ClawTrace saw  (clawtrace events " + id + " --tree)");
  std::vector<std::string> tree = self;
  tree.insert(tree.end(), {"events", id, "--tree"});
  if (int rc = run_and_wait(tree); rc != 0) return error("demo: clawtrace events failed (exit " + std::to_string(rc) + ")");

  heading("Its TraceCard  (clawtrace card " + id + ")");
  if (int rc = print_card(self, id, scratch.path()); rc != 0) return rc;

  const std::string store_arg = g.store_dir == default_store_dir() ? "" : " --store " + shell_join({g.store_dir.string()});
  std::printf("\nThe demo is session %s in the store: try `clawtrace%s sessions`.\n", id.c_str(), store_arg.c_str());
  return 0;
}

}  // namespace clawtrace::cli
