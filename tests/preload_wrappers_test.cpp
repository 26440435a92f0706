// The preload's wrappers, one libc function at a time, the way exec-interception tools
// test themselves: each tiny program in tests/preload/ runs once without and once with
// LD_PRELOAD=libclawtrace.so. Its stdout, stderr and exit status must be byte-identical
// (errno included: the programs print it), and the store must then hold what synth.cpp
// makes of the records: the session, its tool calls (how, argv, exit code or errno) and
// the child sessions linked to them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "event.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "ingest.h"
#include "store.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace clawtrace;

namespace {

using Argv = std::vector<std::string>;
constexpr int kSkip = 77;  // a program's "cannot run this variant here"

// ---- running a program ---------------------------------------------------------------

using Output = clawtrace::test::ProcessOutput;
using clawtrace::test::run_process;
std::string describe(int status) { return clawtrace::test::describe_status(status); }

std::string program(const std::string& name) { return std::string(CT_PROGRAM_DIR) + "/t_" + name; }

// Nothing of the test's own environment leaks in: PATH, a fixed locale, and a variable the
// exec programs echo to show the environment they got.
Argv base_env() { return {"PATH=/usr/bin:/bin", "LC_ALL=C", "CT_MARK=inherited"}; }

Argv with(Argv env, const Argv& more) {
  env.insert(env.end(), more.begin(), more.end());
  return env;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Each test's directory; its prefix tells a leftover's origin.
class TempDir : public clawtrace::test::TempDir {
 public:
  TempDir() : clawtrace::test::TempDir("clawtrace-preload") {}
};

// ---- reading events --------------------------------------------------------------------

const json::value* field(const Event& e, std::string_view key) { return e.data.if_contains(key); }

std::optional<int64_t> int_field(const Event& e, std::string_view key) {
  const json::value* v = field(e, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return std::nullopt;
}

std::string str_field(const Event& e, std::string_view key) {
  const json::value* v = field(e, key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string("<absent>");
}

std::optional<Argv> argv_field(const Event& e) {
  const json::value* v = field(e, "argv");
  if (!v || !v->is_array()) return std::nullopt;
  Argv out;
  for (const auto& s : v->get_array())
    out.emplace_back(s.is_string() ? s.get_string().c_str() : "?");
  return out;
}

std::vector<const Event*> of_type(const std::vector<Event>& events, EventType type) {
  std::vector<const Event*> out;
  for (const auto& e : events)
    if (e.type == type) out.push_back(&e);
  return out;
}

// ---- what a tool call should look like ---------------------------------------------------

struct ToolCall {
  std::string how;
  std::optional<Argv> argv;      // on before_tool_call; nullopt: no argv recorded
  std::optional<int> exit_code;  // on after_tool_call, from the child's wait status
  std::optional<int> signal;     // on after_tool_call, from the child's wait status
  std::optional<int> error;      // on after_tool_call: data.errno (the spawn failed)
  bool child = true;             // a child session linked to the call
};

// ---- the fixture -----------------------------------------------------------------------

class Preload : public ::testing::Test {
 protected:
  // Runs t_<name> <mode> without, then with the preload (store in a fresh directory);
  // requires byte-identical stdout, stderr and exit status; ingests the store. Skips the
  // test when the program says the variant cannot run here.
  void run(const std::string& name, const std::string& mode, const Argv& extra_env = {}) {
    argv_ = {program(name), mode};
    plain_ = run_process(argv_, with(base_env(), extra_env));
    if (WIFEXITED(plain_.status) && WEXITSTATUS(plain_.status) == kSkip) GTEST_SKIP() << plain_.out;
    traced_ = run_process(
        argv_, with(base_env(), with(extra_env, {"LD_PRELOAD=" + std::string(CT_PRELOAD),
                                                 "CLAWTRACE_STORE=" + store_dir().string()})));
    EXPECT_EQ(traced_.out, plain_.out) << "stdout differs under the preload";
    EXPECT_EQ(traced_.err, plain_.err) << "stderr differs under the preload";
    EXPECT_EQ(describe(traced_.status), describe(plain_.status)) << "exit status differs";
    auto store = Store::open(store_dir());
    ASSERT_TRUE(store.ok()) << store.error();
    store_ = std::move(store.value());
    auto stats = ingest_pending(*store_);
    ASSERT_TRUE(stats.ok()) << stats.error();
    EXPECT_TRUE(stats->warnings.empty()) << stats->warnings.front();
    auto sessions = store_->sessions();
    ASSERT_TRUE(sessions.ok()) << sessions.error();
    sessions_ = std::move(sessions.value());
    ASSERT_FALSE(sessions_.empty()) << "nothing was traced";
    // Every process is gone, so every session is over and every spool was consumed.
    for (const auto& s : sessions_)
      EXPECT_NE(s.status, SessionStatus::running) << "session " << s.id << " never ended";
    std::error_code ec;
    EXPECT_TRUE(fs::is_empty(store_dir() / "spool", ec)) << "spool files left after ingestion";
  }

  fs::path store_dir() const { return tmp_.path() / "store"; }
  const std::string& plain_out() const { return plain_.out; }

  // The root session: the only one without a parent.
  const SessionInfo& root() {
    const SessionInfo* found = nullptr;
    for (const auto& s : sessions_) {
      if (s.parent_session) continue;
      EXPECT_EQ(found, nullptr) << "two root sessions: " << found->id << " and " << s.id;
      found = &s;
    }
    if (!found) {
      ADD_FAILURE() << "no root session";
      return sessions_.front();
    }
    return *found;
  }

  std::vector<const SessionInfo*> children(const SessionInfo& parent) {
    std::vector<const SessionInfo*> out;
    for (const auto& s : sessions_)
      if (s.parent_session == parent.id) out.push_back(&s);
    return out;
  }

  std::vector<Event> events(const SessionInfo& s) {
    auto r = store_->events(s.id);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::move(r.value()) : std::vector<Event>{};
  }

  // The session started and ended once, with this exit code and status; `via` is
  // session_end's data.via when given ("exit", "_exit").
  void expect_ended(const SessionInfo& s, int exit_code, SessionStatus status,
                    std::optional<std::string> via = std::nullopt) {
    SCOPED_TRACE("session " + s.id + " " + (s.argv.empty() ? "" : s.argv[0]));
    EXPECT_EQ(to_string(s.status), to_string(status));
    EXPECT_EQ(s.exit_code, exit_code);
    const auto ev = events(s);
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.front().type, EventType::session_start);
    EXPECT_EQ(ev.back().type, EventType::session_end);
    EXPECT_EQ(of_type(ev, EventType::session_start).size(), 1u);
    EXPECT_EQ(of_type(ev, EventType::session_end).size(), 1u);
    const Event& end = ev.back();
    EXPECT_EQ(int_field(end, "exit_code"), exit_code);
    EXPECT_EQ(str_field(end, "status"), to_string(status));
    EXPECT_FALSE(field(end, "truncated")) << "the session's end was not reported by the process";
    if (via) {
      EXPECT_EQ(str_field(end, "via"), *via);
    }
  }

  // A session that only started and ended: no tool calls, no children.
  void expect_no_tool_calls(const SessionInfo& s) {
    EXPECT_EQ(s.tool_calls, 0u);
    EXPECT_EQ(of_type(events(s), EventType::before_tool_call).size(), 0u);
    EXPECT_TRUE(children(s).empty());
  }

  // `parent` made exactly one tool call, as described. Returns its child session (null
  // when none is expected or none was found).
  const SessionInfo* expect_tool_call(const SessionInfo& parent, const ToolCall& want) {
    SCOPED_TRACE("tool call " + want.how + " of session " + parent.id);
    const auto ev = events(parent);
    const auto before = of_type(ev, EventType::before_tool_call);
    const auto after = of_type(ev, EventType::after_tool_call);
    EXPECT_EQ(parent.tool_calls, 1u);
    if (before.size() != 1 || after.size() != 1) {
      ADD_FAILURE() << before.size() << " before_tool_call and " << after.size()
                    << " after_tool_call events, expected one each";
      return nullptr;
    }
    const Event& b = *before[0];
    const Event& a = *after[0];
    EXPECT_EQ(a.span, b.span);
    EXPECT_EQ(b.parent, parent.id);
    EXPECT_LT(b.seq, a.seq);
    for (const Event* e : {&b, &a}) {
      EXPECT_EQ(str_field(*e, "source"), "process");
      EXPECT_EQ(str_field(*e, "how"), want.how);
    }
    EXPECT_EQ(argv_field(b), want.argv);
    EXPECT_FALSE(field(a, "waited")) << "the child was never reaped through a wrapper";
    EXPECT_EQ(int_field(a, "exit_code"), want.exit_code);
    EXPECT_EQ(int_field(a, "signal"), want.signal);
    EXPECT_EQ(int_field(a, "errno"), want.error);
    if (want.error) {
      EXPECT_EQ(str_field(a, "error"), "spawn failed: errno " + std::to_string(*want.error));
    } else {
      EXPECT_FALSE(field(a, "error"));
    }

    const auto kids = children(parent);
    if (!want.child) {
      EXPECT_TRUE(kids.empty()) << "unexpected child session " << kids.front()->id;
      EXPECT_FALSE(field(a, "child_session"));
      return nullptr;
    }
    if (kids.size() != 1) {
      ADD_FAILURE() << kids.size() << " child sessions, expected 1";
      return nullptr;
    }
    const SessionInfo& child = *kids[0];
    EXPECT_EQ(child.parent_span, b.span) << "child not linked to the tool call's span";
    EXPECT_EQ(child.trace, parent.trace) << "a child belongs to its parent's trace";
    EXPECT_EQ(str_field(a, "child_session"), child.id);
    EXPECT_EQ(argv_field(a), child.argv) << "after_tool_call names the child's command";
    const auto child_ev = events(child);
    if (!child_ev.empty()) {
      EXPECT_EQ(child_ev.front().type, EventType::session_start);
      EXPECT_EQ(child_ev.front().parent, b.span);
      EXPECT_EQ(str_field(child_ev.front(), "parent_session"), parent.id);
    }
    return &child;
  }

  std::string via_of(const SessionInfo& s) {
    const auto ev = events(s);
    return ev.empty() ? "" : str_field(ev.front(), "via");
  }

  // --- the shapes most tests share ---

  // Exec family: the same process (one session) became `argv`, which exited 3.
  void expect_exec_ok(const Argv& argv) {
    ASSERT_EQ(sessions_.size(), 1u) << "exec must continue the session, not start one";
    const SessionInfo& s = root();
    EXPECT_EQ(s.argv, argv);
    expect_ended(s, 3, SessionStatus::failed);
    expect_no_tool_calls(s);
  }

  // Exec family, failed: nothing but the session, whose argv is still the original.
  void expect_exec_failed(const std::string& errno_name) {
    EXPECT_NE(plain_out().find("rc=-1 errno=" + errno_name), std::string::npos) << plain_out();
    ASSERT_EQ(sessions_.size(), 1u);
    const SessionInfo& s = root();
    EXPECT_EQ(s.argv, argv_) << "a failed exec must leave the session's argv alone";
    expect_ended(s, 0, SessionStatus::ok);
    expect_no_tool_calls(s);
  }

  // Fork family, ok: the child _exit(3)ed in a session of its own, linked to the call.
  void expect_forked_child(const std::string& how) {
    const SessionInfo& r = root();
    expect_ended(r, 0, SessionStatus::ok);
    const SessionInfo* child = expect_tool_call(r, {.how = how, .exit_code = 3});
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->argv, argv_) << "a forked child has its parent's command line";
    EXPECT_EQ(via_of(*child), "fork");
    expect_ended(*child, 3, SessionStatus::failed, "_exit");
  }

  // Fork family, failed with EAGAIN: a tool call with the errno and no child.
  void expect_fork_failed(const std::string& how) {
    EXPECT_NE(plain_out().find("rc=-1 errno=EAGAIN"), std::string::npos) << plain_out();
    ASSERT_EQ(sessions_.size(), 1u);
    const SessionInfo& r = root();
    expect_ended(r, 0, SessionStatus::ok);
    expect_tool_call(r, {.how = how, .error = EAGAIN, .child = false});
  }

  // posix_spawn*, ok: sh -c 'exit 3' ran in a child session.
  void expect_spawned(const std::string& how) {
    EXPECT_EQ(plain_out(), how + ": returned 0 errno=EDOM\nchild: exited 3\n");
    const SessionInfo& r = root();
    expect_ended(r, 0, SessionStatus::ok);
    const Argv sh = {"sh", "-c", "exit 3"};
    const SessionInfo* child = expect_tool_call(r, {.how = how, .argv = sh, .exit_code = 3});
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->argv, sh);
    EXPECT_EQ(via_of(*child), "spawn");
    expect_ended(*child, 3, SessionStatus::failed);
  }

  // posix_spawn*, failed: before + after_tool_call with data.errno ENOENT, no child.
  // (glibc leaves errno = ENOENT too: its CLONE_VM child's failed execve writes the
  // parent's errno. Whatever libc leaves there, the traced run must show the same.)
  void expect_spawn_failed(const std::string& how) {
    EXPECT_EQ(plain_out().rfind(how + ": returned ENOENT errno=", 0), 0u) << plain_out();
    ASSERT_EQ(sessions_.size(), 1u);
    const SessionInfo& r = root();
    expect_ended(r, 0, SessionStatus::ok);
    expect_tool_call(
        r, {.how = how, .argv = Argv{"sh", "-c", "exit 3"}, .error = ENOENT, .child = false});
  }

  // Wait family, ok: the fork's after_tool_call carries the status the wait call reaped.
  void expect_reaped() { expect_forked_child("fork"); }

  // Wait family, failed: no children, nothing but the session.
  void expect_wait_failed() {
    EXPECT_NE(plain_out().find("rc=-1 errno=ECHILD"), std::string::npos) << plain_out();
    ASSERT_EQ(sessions_.size(), 1u);
    const SessionInfo& r = root();
    expect_ended(r, 0, SessionStatus::ok);
    expect_no_tool_calls(r);
  }

  // Exit family: the one session ended with `code`, reported through `via`.
  void expect_exit(int code, const std::string& via) {
    ASSERT_EQ(sessions_.size(), 1u);
    const SessionInfo& r = root();
    expect_ended(r, code, code ? SessionStatus::failed : SessionStatus::ok, via);
    expect_no_tool_calls(r);
  }

  TempDir tmp_;
  Argv argv_;
  Output plain_, traced_;
  std::unique_ptr<Store> store_;
  std::vector<SessionInfo> sessions_;
};

const Argv kShScript = {"sh", "-c", "echo from sh mark=$CT_MARK; exit 3"};

// ---- fork family ------------------------------------------------------------------------

TEST_F(Preload, ForkOk) {
  ASSERT_NO_FATAL_FAILURE(run("fork", "ok"));
  EXPECT_EQ(plain_out(), "fork: rc=1 errno=EDOM\nchild: exited 3\n");
  expect_forked_child("fork");
}

TEST_F(Preload, ForkFail) {
  ASSERT_NO_FATAL_FAILURE(run("fork", "fail"));
  expect_fork_failed("fork");
}

TEST_F(Preload, VforkOk) {
  ASSERT_NO_FATAL_FAILURE(run("vfork", "ok"));
  EXPECT_EQ(plain_out(), "vfork: rc=1 errno=EDOM\nchild: exited 3\n");
  expect_forked_child("vfork");
}

TEST_F(Preload, VforkFail) {
  ASSERT_NO_FATAL_FAILURE(run("vfork", "fail"));
  expect_fork_failed("vfork");
}

TEST_F(Preload, ForkRawOk) {
  ASSERT_NO_FATAL_FAILURE(run("Fork", "ok"));
  EXPECT_EQ(plain_out(), "_Fork: rc=1 errno=EDOM\nchild: exited 3\n");
  expect_forked_child("_Fork");
}

TEST_F(Preload, ForkRawFail) {
  ASSERT_NO_FATAL_FAILURE(run("Fork", "fail"));
  expect_fork_failed("_Fork");
}

// ---- posix_spawn, both symbol versions ------------------------------------------------------

TEST_F(Preload, PosixSpawnOk) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawn", "ok"));
  expect_spawned("posix_spawn");
}

TEST_F(Preload, PosixSpawnFail) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawn", "fail"));
  expect_spawn_failed("posix_spawn");
}

TEST_F(Preload, PosixSpawnCompatOk) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawn_compat", "ok"));
  expect_spawned("posix_spawn");
}

TEST_F(Preload, PosixSpawnCompatFail) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawn_compat", "fail"));
  expect_spawn_failed("posix_spawn");
}

TEST_F(Preload, PosixSpawnpOk) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawnp", "ok"));
  expect_spawned("posix_spawnp");
}

TEST_F(Preload, PosixSpawnpFail) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawnp", "fail"));
  expect_spawn_failed("posix_spawnp");
}

TEST_F(Preload, PosixSpawnpCompatOk) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawnp_compat", "ok"));
  expect_spawned("posix_spawnp");
}

TEST_F(Preload, PosixSpawnpCompatFail) {
  ASSERT_NO_FATAL_FAILURE(run("posix_spawnp_compat", "fail"));
  expect_spawn_failed("posix_spawnp");
}

// The compat programs really are bound to posix_spawn*@GLIBC_2.2.5: they need no
// GLIBC_2.15 symbol version at all, while the default ones do.
TEST(PreloadPrograms, CompatProgramsUseTheOldSymbolVersion) {
  auto needs = [](const std::string& name, const std::string& version) {
    std::ifstream in(program(name), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return bytes.find(std::string(version) + '\0') != std::string::npos;
  };
  EXPECT_TRUE(needs("posix_spawn", "GLIBC_2.15"));
  EXPECT_TRUE(needs("posix_spawnp", "GLIBC_2.15"));
  EXPECT_FALSE(needs("posix_spawn_compat", "GLIBC_2.15"));
  EXPECT_FALSE(needs("posix_spawnp_compat", "GLIBC_2.15"));
}

// ---- exec family ------------------------------------------------------------------------

TEST_F(Preload, ExecveOk) {
  ASSERT_NO_FATAL_FAILURE(run("execve", "ok"));
  EXPECT_EQ(plain_out(), "execve: ok\nfrom sh mark=inherited\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, ExecveFail) {
  ASSERT_NO_FATAL_FAILURE(run("execve", "fail"));
  expect_exec_failed("ENOENT");
}

TEST_F(Preload, ExecvOk) {
  ASSERT_NO_FATAL_FAILURE(run("execv", "ok"));
  EXPECT_EQ(plain_out(), "execv: ok\nfrom sh mark=inherited\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, ExecvFail) {
  ASSERT_NO_FATAL_FAILURE(run("execv", "fail"));
  expect_exec_failed("ENOENT");
}

TEST_F(Preload, ExecvpOk) {
  ASSERT_NO_FATAL_FAILURE(run("execvp", "ok"));
  EXPECT_EQ(plain_out(), "execvp: ok\nfrom sh mark=inherited\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, ExecvpFail) {
  ASSERT_NO_FATAL_FAILURE(run("execvp", "fail"));
  expect_exec_failed("ENOENT");
}

TEST_F(Preload, ExecvpeOk) {
  ASSERT_NO_FATAL_FAILURE(run("execvpe", "ok"));
  EXPECT_EQ(plain_out(), "execvpe: ok\nfrom sh mark=custom\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, ExecvpeFail) {
  ASSERT_NO_FATAL_FAILURE(run("execvpe", "fail"));
  expect_exec_failed("ENOENT");
}

TEST_F(Preload, ExeclOk) {
  ASSERT_NO_FATAL_FAILURE(run("execl", "ok"));
  EXPECT_EQ(plain_out(), "execl: ok\nfrom sh mark=inherited\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, ExeclFail) {
  ASSERT_NO_FATAL_FAILURE(run("execl", "fail"));
  expect_exec_failed("ENOENT");
}

TEST_F(Preload, ExeclpOk) {
  ASSERT_NO_FATAL_FAILURE(run("execlp", "ok"));
  EXPECT_EQ(plain_out(), "execlp: ok\nfrom sh mark=inherited\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, ExeclpFail) {
  ASSERT_NO_FATAL_FAILURE(run("execlp", "fail"));
  expect_exec_failed("ENOENT");
}

TEST_F(Preload, ExecleOk) {
  ASSERT_NO_FATAL_FAILURE(run("execle", "ok"));
  EXPECT_EQ(plain_out(), "execle: ok\nfrom sh mark=custom\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, ExecleFail) {
  ASSERT_NO_FATAL_FAILURE(run("execle", "fail"));
  expect_exec_failed("ENOENT");
}

TEST_F(Preload, FexecveOk) {
  ASSERT_NO_FATAL_FAILURE(run("fexecve", "ok"));
  EXPECT_EQ(plain_out(), "fexecve: ok\nfrom sh mark=inherited\n");
  expect_exec_ok(kShScript);
}

TEST_F(Preload, FexecveFail) {
  ASSERT_NO_FATAL_FAILURE(run("fexecve", "fail"));
  expect_exec_failed("EACCES");
}

// ---- system / popen ---------------------------------------------------------------------

TEST_F(Preload, SystemOk) {
  ASSERT_NO_FATAL_FAILURE(run("system", "ok"));
  EXPECT_EQ(plain_out(), "system: rc=768 errno=EDOM\nshell: exited 3\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const SessionInfo* sh = expect_tool_call(
      r, {.how = "system", .argv = Argv{"/bin/sh", "-c", "exit 3"}, .exit_code = 3});
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(via_of(*sh), "spawn");
  expect_ended(*sh, 3, SessionStatus::failed);
}

// With SIGCHLD ignored the shell runs (and is traced) but system() cannot reap it: -1/ECHILD.
TEST_F(Preload, SystemFail) {
  ASSERT_NO_FATAL_FAILURE(run("system", "fail"));
  EXPECT_EQ(plain_out(), "system: rc=-1 errno=ECHILD\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const SessionInfo* sh = expect_tool_call(
      r, {.how = "system", .argv = Argv{"/bin/sh", "-c", "exit 3"}, .error = ECHILD});
  ASSERT_NE(sh, nullptr);
  expect_ended(*sh, 3, SessionStatus::failed);
}

TEST_F(Preload, PopenOk) {
  ASSERT_NO_FATAL_FAILURE(run("popen", "ok"));
  EXPECT_EQ(plain_out(),
            "popen: rc=1 errno=EDOM\nread: hello\npclose: rc=768 errno=EDOM\nshell: exited 3\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const Argv sh_argv = {"/bin/sh", "-c", "echo hello; exit 3"};
  const SessionInfo* sh = expect_tool_call(r, {.how = "popen", .argv = sh_argv, .exit_code = 3});
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(via_of(*sh), "spawn");
  expect_ended(*sh, 3, SessionStatus::failed);
}

TEST_F(Preload, PopenFail) {
  ASSERT_NO_FATAL_FAILURE(run("popen", "fail"));
  EXPECT_EQ(plain_out(), "popen: rc=0 errno=EINVAL\n");
  ASSERT_EQ(sessions_.size(), 1u);
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  expect_tool_call(r, {.how = "popen",
                       .argv = Argv{"/bin/sh", "-c", "echo hello; exit 3"},
                       .error = EINVAL,
                       .child = false});
}

// ---- wait family ------------------------------------------------------------------------

TEST_F(Preload, WaitOk) {
  ASSERT_NO_FATAL_FAILURE(run("wait", "ok"));
  EXPECT_EQ(plain_out(), "wait: rc=1 errno=EDOM\nchild: exited 3\n");
  expect_reaped();
}

TEST_F(Preload, WaitFail) {
  ASSERT_NO_FATAL_FAILURE(run("wait", "fail"));
  expect_wait_failed();
}

TEST_F(Preload, WaitpidOk) {
  ASSERT_NO_FATAL_FAILURE(run("waitpid", "ok"));
  EXPECT_EQ(plain_out(), "waitpid: rc=1 errno=EDOM\nchild: exited 3\n");
  expect_reaped();
}

TEST_F(Preload, WaitpidFail) {
  ASSERT_NO_FATAL_FAILURE(run("waitpid", "fail"));
  expect_wait_failed();
}

TEST_F(Preload, Wait3Ok) {
  ASSERT_NO_FATAL_FAILURE(run("wait3", "ok"));
  EXPECT_EQ(plain_out(), "wait3: rc=1 errno=EDOM\nchild: exited 3\n");
  expect_reaped();
}

TEST_F(Preload, Wait3Fail) {
  ASSERT_NO_FATAL_FAILURE(run("wait3", "fail"));
  expect_wait_failed();
}

TEST_F(Preload, Wait4Ok) {
  ASSERT_NO_FATAL_FAILURE(run("wait4", "ok"));
  EXPECT_EQ(plain_out(), "wait4: rc=1 errno=EDOM\nchild: exited 3\n");
  expect_reaped();
}

TEST_F(Preload, Wait4Fail) {
  ASSERT_NO_FATAL_FAILURE(run("wait4", "fail"));
  expect_wait_failed();
}

TEST_F(Preload, WaitidOk) {
  ASSERT_NO_FATAL_FAILURE(run("waitid", "ok"));
  EXPECT_EQ(plain_out(), "waitid: rc=0 errno=EDOM\nchild: code=CLD_EXITED status=3\n");
  expect_reaped();
}

TEST_F(Preload, WaitidFail) {
  ASSERT_NO_FATAL_FAILURE(run("waitid", "fail"));
  expect_wait_failed();
}

// ---- exit family ------------------------------------------------------------------------

TEST_F(Preload, ExitOk) {
  ASSERT_NO_FATAL_FAILURE(run("exit", "ok"));
  EXPECT_EQ(plain_out(), "exit: code 0\natexit handler ran\n");
  expect_exit(0, "exit");
}

TEST_F(Preload, ExitFail) {
  ASSERT_NO_FATAL_FAILURE(run("exit", "fail"));
  EXPECT_EQ(plain_out(), "exit: code 7\natexit handler ran\n");
  expect_exit(7, "exit");
}

TEST_F(Preload, UnderscoreExitOk) {
  ASSERT_NO_FATAL_FAILURE(run("_exit", "ok"));
  EXPECT_EQ(plain_out(), "_exit: code 0\n");
  expect_exit(0, "_exit");
}

TEST_F(Preload, UnderscoreExitFail) {
  ASSERT_NO_FATAL_FAILURE(run("_exit", "fail"));
  EXPECT_EQ(plain_out(), "_exit: code 7\n");
  expect_exit(7, "_exit");
}

TEST_F(Preload, UnderscoreCapitalExitOk) {
  ASSERT_NO_FATAL_FAILURE(run("_Exit", "ok"));
  EXPECT_EQ(plain_out(), "_Exit: code 0\n");
  expect_exit(0, "_exit");
}

TEST_F(Preload, UnderscoreCapitalExitFail) {
  ASSERT_NO_FATAL_FAILURE(run("_Exit", "fail"));
  EXPECT_EQ(plain_out(), "_Exit: code 7\n");
  expect_exit(7, "_exit");
}

TEST_F(Preload, ReturnFromMainOk) {
  ASSERT_NO_FATAL_FAILURE(run("return", "ok"));
  EXPECT_EQ(plain_out(), "return: code 0\natexit handler ran\n");
  expect_exit(0, "exit");
}

TEST_F(Preload, ReturnFromMainFail) {
  ASSERT_NO_FATAL_FAILURE(run("return", "fail"));
  EXPECT_EQ(plain_out(), "return: code 7\natexit handler ran\n");
  expect_exit(7, "exit");
}

// ---- combinations -------------------------------------------------------------------------

TEST_F(Preload, VforkExec) {
  ASSERT_NO_FATAL_FAILURE(run("vfork", "exec"));
  EXPECT_EQ(plain_out(), "vfork: rc=1 errno=EDOM\nchild: exited 3\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const SessionInfo* child = expect_tool_call(r, {.how = "vfork", .exit_code = 3});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->argv, (Argv{"sh", "-c", "exit 3"})) << "the exec continues the child's session";
  EXPECT_EQ(sessions_.size(), 2u);
  expect_ended(*child, 3, SessionStatus::failed);
}

// Fork without exec: both processes keep doing traced work in their own sessions.
TEST_F(Preload, ForkWithoutExecBothSidesTraced) {
  ASSERT_NO_FATAL_FAILURE(run("fork", "work"));
  EXPECT_EQ(plain_out(), "child: system(true) -> 0\nfork: rc=1 errno=EDOM\nchild: exited 3\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const SessionInfo* child = expect_tool_call(r, {.how = "fork", .exit_code = 3});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->argv, argv_);
  expect_ended(*child, 3, SessionStatus::failed, "exit");
  const SessionInfo* sh = expect_tool_call(
      *child, {.how = "system", .argv = Argv{"/bin/sh", "-c", "true"}, .exit_code = 0});
  ASSERT_NE(sh, nullptr);
  expect_ended(*sh, 0, SessionStatus::ok);
  EXPECT_EQ(sessions_.size(), 3u);
}

// A child killed by a signal never reports its end: its session is truncated, and both the
// parent's after_tool_call and the child's session carry the signal the parent reaped.
TEST_F(Preload, ForkChildKilledBySignal) {
  ASSERT_NO_FATAL_FAILURE(run("fork", "signal"));
  EXPECT_EQ(plain_out(), "fork: rc=1 errno=EDOM\nchild: killed by signal 9\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const SessionInfo* child = expect_tool_call(r, {.how = "fork", .signal = SIGKILL});
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(to_string(child->status), to_string(SessionStatus::truncated));
  EXPECT_EQ(child->signal, SIGKILL);
  EXPECT_EQ(child->exit_code, std::nullopt);
  const auto ev = events(*child);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().type, EventType::session_end);
  EXPECT_TRUE(field(ev.back(), "truncated"));
  EXPECT_EQ(int_field(ev.back(), "signal"), SIGKILL);
  EXPECT_EQ(str_field(ev.back(), "status"), "truncated");
}

// system() whose shell starts a program: three generations, each linked to its parent's
// tool call.
TEST_F(Preload, SystemShellRunsAProgram) {
  ASSERT_NO_FATAL_FAILURE(run("system", "nested"));
  EXPECT_EQ(plain_out(), "system: rc=768 errno=EDOM\nshell: exited 3\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const Argv sh_argv = {"/bin/sh", "-c", "/bin/true; exit 3"};
  const SessionInfo* sh = expect_tool_call(r, {.how = "system", .argv = sh_argv, .exit_code = 3});
  ASSERT_NE(sh, nullptr);
  expect_ended(*sh, 3, SessionStatus::failed);
  // How the shell starts /bin/true (fork or vfork) is the shell's business.
  const auto sh_events = events(*sh);
  const auto before = of_type(sh_events, EventType::before_tool_call);
  ASSERT_EQ(before.size(), 1u);
  const std::string how = str_field(*before[0], "how");
  EXPECT_TRUE(how == "fork" || how == "vfork") << how;
  const SessionInfo* tru = expect_tool_call(*sh, {.how = how, .exit_code = 0});
  ASSERT_NE(tru, nullptr);
  EXPECT_EQ(tru->argv, (Argv{"/bin/true"}));
  expect_ended(*tru, 0, SessionStatus::ok);
  EXPECT_EQ(sessions_.size(), 3u);
}

// A child exec'd with an envp that has no LD_PRELOAD / CLAWTRACE_* / TRACEPARENT is still
// traced: its session continues into sh, ends with sh's own exit report, and sh's own
// child (/bin/true) is traced and linked too.
TEST_F(Preload, CustomEnvpExecveStillTraced) {
  ASSERT_NO_FATAL_FAILURE(run("custom_env", "execve"));
  EXPECT_EQ(plain_out(), "child: exited 5\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const SessionInfo* sh = expect_tool_call(r, {.how = "fork", .exit_code = 5});
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(sh->argv, (Argv{"sh", "-c", "/bin/true; exit 5"}));
  expect_ended(*sh, 5, SessionStatus::failed);
  const auto kids = children(*sh);
  ASSERT_EQ(kids.size(), 1u) << "sh's /bin/true was not traced: the custom envp lost the preload";
  EXPECT_EQ(kids[0]->argv, (Argv{"/bin/true"}));
  expect_ended(*kids[0], 0, SessionStatus::ok);
}

TEST_F(Preload, CustomEnvpPosixSpawnStillTraced) {
  ASSERT_NO_FATAL_FAILURE(run("custom_env", "spawn"));
  EXPECT_EQ(plain_out(), "child: exited 5\n");
  const SessionInfo& r = root();
  expect_ended(r, 0, SessionStatus::ok);
  const Argv sh_argv = {"sh", "-c", "/bin/true; exit 5"};
  const SessionInfo* sh =
      expect_tool_call(r, {.how = "posix_spawn", .argv = sh_argv, .exit_code = 5});
  ASSERT_NE(sh, nullptr);
  expect_ended(*sh, 5, SessionStatus::failed);
  const auto kids = children(*sh);
  ASSERT_EQ(kids.size(), 1u) << "sh's /bin/true was not traced: the custom envp lost the preload";
  EXPECT_EQ(kids[0]->argv, (Argv{"/bin/true"}));
  expect_ended(*kids[0], 0, SessionStatus::ok);
}

// ---- a store that cannot be written ----------------------------------------------------------

// CLAWTRACE_STORE under a regular file: mkdir fails with ENOTDIR even for root. The program
// must behave exactly as untraced and say so on stderr once, however many processes it
// starts (never with CLAWTRACE_QUIET=1).
void expect_untraced_with_one_warning(const std::string& name, const std::string& mode) {
  TempDir tmp;
  const fs::path blocker = tmp.path() / "not-a-directory";
  std::ofstream(blocker) << "a file\n";
  const std::string store = (blocker / "store").string();
  const Argv argv = {program(name), mode};
  const Argv env =
      with(base_env(), {"LD_PRELOAD=" + std::string(CT_PRELOAD), "CLAWTRACE_STORE=" + store});
  const Output plain = run_process(argv, base_env());
  if (WIFEXITED(plain.status) && WEXITSTATUS(plain.status) == kSkip) GTEST_SKIP() << plain.out;

  const Output loud = run_process(argv, env);
  EXPECT_EQ(loud.out, plain.out);
  EXPECT_EQ(describe(loud.status), describe(plain.status));
  auto extra = lines(loud.err);
  for (const auto& l : lines(plain.err)) {  // what the program itself wrote
    auto it = std::find(extra.begin(), extra.end(), l);
    if (it != extra.end()) extra.erase(it);
  }
  ASSERT_EQ(extra.size(), 1u) << "expected exactly one extra stderr line, got:\n" << loud.err;
  EXPECT_EQ(extra[0].rfind("clawtrace: ", 0), 0u) << extra[0];
  EXPECT_NE(extra[0].find(store), std::string::npos) << extra[0];

  const Output quiet = run_process(argv, with(env, {"CLAWTRACE_QUIET=1"}));
  EXPECT_EQ(quiet.out, plain.out);
  EXPECT_EQ(quiet.err, plain.err) << "CLAWTRACE_QUIET=1 must silence the warning";
  EXPECT_EQ(describe(quiet.status), describe(plain.status));
  EXPECT_TRUE(fs::is_regular_file(blocker));
}

TEST(PreloadUnwritableStore, Exit) { expect_untraced_with_one_warning("exit", "fail"); }
TEST(PreloadUnwritableStore, Fork) { expect_untraced_with_one_warning("fork", "ok"); }
TEST(PreloadUnwritableStore, ForkChildWorks) { expect_untraced_with_one_warning("fork", "work"); }
TEST(PreloadUnwritableStore, PosixSpawn) { expect_untraced_with_one_warning("posix_spawn", "ok"); }
TEST(PreloadUnwritableStore, PosixSpawnCustomEnvp) {
  expect_untraced_with_one_warning("custom_env", "spawn");
}
TEST(PreloadUnwritableStore, System) { expect_untraced_with_one_warning("system", "ok"); }
TEST(PreloadUnwritableStore, Popen) { expect_untraced_with_one_warning("popen", "ok"); }
TEST(PreloadUnwritableStore, ExecveFailed) { expect_untraced_with_one_warning("execve", "fail"); }
// Exec from a process that found the store unwritable.
TEST(PreloadUnwritableStore, Execve) { expect_untraced_with_one_warning("execve", "ok"); }
// Exec from a forked child of such a process.
TEST(PreloadUnwritableStore, VforkExec) { expect_untraced_with_one_warning("vfork", "exec"); }
TEST(PreloadUnwritableStore, ForkExecCustomEnvp) {
  expect_untraced_with_one_warning("custom_env", "execve");
}
// Exec from a process that inherited "tracing disabled" (sh under system()).
TEST(PreloadUnwritableStore, SystemShellRunsAProgram) {
  expect_untraced_with_one_warning("system", "nested");
}

}  // namespace
