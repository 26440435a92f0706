// End-to-end tests: the `clawtrace` binary and libclawtrace.so on real processes, read
// back through the store API.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "ingest.h"
#include "store.h"

namespace fs = std::filesystem;
using namespace clawtrace;

extern char** environ;

namespace {

struct Outcome {
  int status = -1;  // raw wait status
  std::string out, err;
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
  std::vector<std::string> err_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(err);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("clawtrace-cli-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = dir_ / "store";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs argv with `extra` added to our environment; stdout/stderr captured.
  Outcome run(const std::vector<std::string>& argv, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      std::string s = *e;
      if (s.rfind("LD_PRELOAD=", 0) == 0 || s.rfind("CLAWTRACE_", 0) == 0 || s.rfind("TRACEPARENT=", 0) == 0) continue;
      env_s.push_back(s);
    }
    env_s.insert(env_s.end(), extra.begin(), extra.end());
    std::vector<char*> envp, args;
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_s = argv;
    for (auto& s : argv_s) args.push_back(s.data());
    args.push_back(nullptr);
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    Outcome o;
    int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    EXPECT_EQ(rc, 0) << argv[0];
    if (rc != 0) return o;
    waitpid(pid, &o.status, 0);
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
  }

  Outcome clawtrace(std::vector<std::string> args) {
    args.insert(args.begin(), {CLAWTRACE_BIN, "--store", store_.string()});
    return run(args);
  }

  std::vector<std::string> preload_env() const {
    return {std::string("LD_PRELOAD=") + PRELOAD_LIB, "CLAWTRACE_STORE=" + store_.string()};
  }

  std::unique_ptr<Store> open_store() {
    auto s = Store::open(store_);
    EXPECT_TRUE(s) << s.error();
    auto ingested = ingest_pending(**s);
    EXPECT_TRUE(ingested) << ingested.error();
    return std::move(s.value());
  }

  fs::path dir_, store_;
};

std::map<std::string, SessionInfo> by_id(Store& store) {
  std::map<std::string, SessionInfo> m;
  for (auto& s : store.sessions().value()) m[s.id] = s;
  return m;
}

const SessionInfo* find_by_argv0(const std::map<std::string, SessionInfo>& all, const std::string& argv0,
                                 const std::string& arg1 = "") {
  for (const auto& [id, s] : all)
    if (!s.argv.empty() && s.argv[0] == argv0 && (arg1.empty() || (s.argv.size() > 1 && s.argv[1] == arg1)))
      return &s;
  return nullptr;
}

// The after_tool_call that closed `span` in `session`, or null.
std::optional<Event> span_end(Store& store, const std::string& session, const std::string& span) {
  for (auto& e : store.events(session).value())
    if (e.type == EventType::after_tool_call && e.span == span) return e;
  return std::nullopt;
}

}  // namespace

TEST_F(CliTest, RunRecordsTheProcessTreeWithLinksAndExitCodes) {
  Outcome o = clawtrace({"run", "--name", "demo", "--tag", "batch=b1", "--", "sh", "-c",
                         "ls >/dev/null; (sleep 0.1 &); python3 -c \"import os; os.system('true')\""});
  ASSERT_EQ(o.exit_code(), 0) << o.err;
  auto lines = o.err_lines();
  ASSERT_FALSE(lines.empty());
  ASSERT_EQ(lines.back().rfind("clawtrace: session ", 0), 0u) << o.err;
  const std::string root_id = lines.back().substr(19);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // let `sleep 0.1` finish

  auto store = open_store();
  auto all = by_id(*store);
  ASSERT_TRUE(all.count(root_id));
  const SessionInfo& root = all[root_id];
  EXPECT_EQ(root.name, "demo");
  EXPECT_EQ(root.tags.at("batch"), "b1");
  EXPECT_EQ(root.status, SessionStatus::ok);
  EXPECT_EQ(root.exit_code, 0);
  EXPECT_FALSE(root.parent_session);

  const SessionInfo* ls = find_by_argv0(all, "ls");
  const SessionInfo* sleep = find_by_argv0(all, "sleep", "0.1");
  const SessionInfo* shell_true = find_by_argv0(all, "sh", "-c");
  ASSERT_TRUE(ls && sleep);
  // ls was forked by the root shell: its span there closed with exit code 0.
  EXPECT_EQ(*ls->parent_session, root_id);
  auto ls_end = span_end(*store, root_id, *ls->parent_span);
  ASSERT_TRUE(ls_end);
  EXPECT_EQ(ls_end->data.at("source").as_string(), "process");
  EXPECT_EQ(ls_end->data.at("exit_code").as_int64(), 0);
  EXPECT_EQ(ls_end->data.at("child_session").as_string(), ls->id);
  // sleep ran under a subshell that did not wait for it: still linked, and it finished.
  EXPECT_EQ(sleep->status, SessionStatus::ok);
  ASSERT_TRUE(sleep->parent_session);
  EXPECT_EQ(all[*sleep->parent_session].parent_session, root_id);
  // os.system's shell hangs under a python session, which hangs under the root.
  const SessionInfo* system_sh = nullptr;
  for (const auto& [id, s] : all)
    if (s.argv == std::vector<std::string>{"sh", "-c", "true"}) system_sh = &s;
  ASSERT_TRUE(system_sh) << "no session for os.system's shell";
  auto sys_end = span_end(*store, *system_sh->parent_session, *system_sh->parent_span);
  ASSERT_TRUE(sys_end);
  EXPECT_EQ(sys_end->data.at("how").as_string(), "system");
  (void)shell_true;
  // Every session's chain of parents reaches the root.
  for (const auto& [id, s] : all) {
    std::string at = id;
    for (int depth = 0; all[at].parent_session && depth < 64; ++depth) at = *all[at].parent_session;
    EXPECT_EQ(at, root_id) << "session " << id << " is not under the root";
    EXPECT_NE(s.status, SessionStatus::running) << id;
  }

  Outcome tree = clawtrace({"events", "last", "--tree"});
  EXPECT_EQ(tree.exit_code(), 0) << tree.err;
  EXPECT_EQ(tree.out.rfind("session " + root_id, 0), 0u) << tree.out;
  for (const char* s : {"process ls", "session ", "sleep 0.1", "(system, exit 0"})
    EXPECT_NE(tree.out.find(s), std::string::npos) << s << "\n" << tree.out;
}

TEST_F(CliTest, ExitStatusIsTheCommands) {
  Outcome o = clawtrace({"run", "--", "sh", "-c", "exit 7"});
  EXPECT_EQ(o.exit_code(), 7);
  auto store = open_store();
  auto id = store->resolve("last");
  ASSERT_TRUE(id);
  auto s = store->session(*id).value();
  EXPECT_EQ(s->status, SessionStatus::failed);
  EXPECT_EQ(s->exit_code, 7);

  Outcome killed = clawtrace({"run", "--", "sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(killed.exit_code(), 128 + SIGTERM);
}

TEST_F(CliTest, SigkilledProcessIsTruncatedWithEveryEventItEmitted) {
  Outcome o = clawtrace({"run", "--", DIE_BY_SIGKILL, "3"});
  EXPECT_EQ(o.exit_code(), 128 + SIGKILL);
  auto store = open_store();
  auto id = store->resolve("last").value();
  auto s = store->session(id).value();
  EXPECT_EQ(s->status, SessionStatus::truncated);
  EXPECT_EQ(s->signal, SIGKILL);
  std::vector<int64_t> codes;
  for (auto& e : store->events(id).value())
    if (e.type == EventType::after_tool_call) codes.push_back(e.data.at("exit_code").as_int64());
  EXPECT_EQ(codes, (std::vector<int64_t>{0, 1, 2}));

  // Without `clawtrace run` (no observer), the kill still shows as truncated.
  Outcome direct = run({DIE_BY_SIGKILL, "2"}, preload_env());
  EXPECT_EQ(direct.exit_code(), 128 + SIGKILL);
  Outcome list = clawtrace({"sessions", "--json"});
  ASSERT_EQ(list.exit_code(), 0) << list.err;
  auto arr = boost::json::parse(list.out).as_array();
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[1].at("status").as_string(), "truncated");
}

TEST_F(CliTest, SixteenConcurrentWritersLoseAndDuplicateNothing) {
  constexpr int kProcs = 16, kPairs = 5000;  // 10,000 tool events per process
  std::vector<std::thread> threads;
  std::vector<Outcome> outcomes(kProcs);
  std::vector<pid_t> pids;
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.push_back(*e);
  for (auto& e : preload_env()) env_s.push_back(e);
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (int i = 0; i < kProcs; ++i) {
    std::string n = std::to_string(kPairs), tag = "w" + std::to_string(i);
    char* argv[] = {const_cast<char*>(EMIT_MANY), n.data(), tag.data(), nullptr};
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, EMIT_MANY, nullptr, nullptr, argv, envp.data()), 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto store = open_store();
  auto sessions = store->sessions().value();
  ASSERT_EQ(sessions.size(), static_cast<size_t>(kProcs));
  std::set<std::string> tags;
  for (const auto& s : sessions) {
    auto events = store->events(s.id).value();
    ASSERT_EQ(events.size(), static_cast<size_t>(2 * kPairs + 2)) << s.id;
    std::set<std::string> seen;
    std::set<std::string> spans;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].seq, i + 1);
      if (events[i].type != EventType::before_tool_call) continue;
      auto& argv = events[i].data.at("argv").as_array();
      seen.insert(std::string(argv.at(2).as_string()));
      spans.insert(events[i].span);
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(kPairs)) << s.id;
    EXPECT_EQ(spans.size(), static_cast<size_t>(kPairs)) << s.id;
    tags.insert(seen.begin()->substr(0, seen.begin()->find(' ')));
    EXPECT_EQ(s.status, SessionStatus::ok);
  }
  EXPECT_EQ(tags.size(), static_cast<size_t>(kProcs));
  EXPECT_TRUE(fs::is_empty(store_ / "spool"));  // finished spools are removed
}

// A child that ended while its parent runs on has its ingestion state retired (only its
// session record is kept); when the parent reaps it later, the span's end still gets the
// child's command line and links to it, found again from that record.
TEST_F(CliTest, RetiredStateOfAnEndedChildStillServesItsParent) {
  const fs::path ready = dir_ / "ready", go = dir_ / "go";
  const std::string script =
      "import os, subprocess, sys, time\n"
      "p = subprocess.Popen(['sh', '-c', 'exit 5'])\n"
      "while open('/proc/%d/stat' % p.pid).read().rsplit(')', 1)[1].split()[0] != 'Z': time.sleep(0.01)\n"
      "open(sys.argv[1], 'w').close()\n"
      "while not os.path.exists(sys.argv[2]): time.sleep(0.01)\n"
      "sys.exit(0 if p.wait() == 5 else 1)\n";
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.push_back(*e);
  for (auto& e : preload_env()) env_s.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_s = {"python3", "-c", script, ready.string(), go.string()};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  ASSERT_EQ(posix_spawnp(&pid, "python3", nullptr, nullptr, argv.data(), envp.data()), 0);
  for (int i = 0; i < 1000 && !fs::exists(ready); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(fs::exists(ready));

  auto state_of = [](Store& store, const std::string& key) {
    std::optional<std::string> out;
    EXPECT_TRUE(store.write([&](Store::Writer& w) -> Result<void> {
                       auto v = w.get_state(key);
                       if (!v) return Error{v.error()};
                       out = *v;
                       return {};
                     }).ok());
    return out;
  };
  std::string child_id;
  {
    auto store = open_store();  // the child is a zombie: its spool is complete
    const auto all = by_id(*store);
    const SessionInfo* child = find_by_argv0(all, "sh", "-c");
    ASSERT_TRUE(child);
    child_id = child->id;
    EXPECT_EQ(child->exit_code, 5);
    EXPECT_EQ(state_of(*store, "spool/" + child_id), std::optional<std::string>("done"));
    EXPECT_EQ(state_of(*store, "sess/" + child_id), std::nullopt) << "the ended child's state was kept";
  }
  std::ofstream(go).close();
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  auto store = open_store();
  auto all = by_id(*store);
  const SessionInfo& child = all.at(child_id);
  ASSERT_TRUE(child.parent_session && child.parent_span);
  auto end = span_end(*store, *child.parent_session, *child.parent_span);
  ASSERT_TRUE(end) << "the parent's reap closed no span";
  EXPECT_EQ(end->data.at("name").as_string(), "sh");
  EXPECT_EQ(end->data.at("argv"), (boost::json::array{"sh", "-c", "exit 5"}));
  EXPECT_EQ(end->data.at("exit_code").as_int64(), 5);
  EXPECT_EQ(end->data.at("child_session").as_string(), child_id);
  // The parent ended too, with nothing left open: its state is retired as well.
  EXPECT_EQ(all.at(*child.parent_session).status, SessionStatus::ok);
  EXPECT_EQ(state_of(*store, "sess/" + *child.parent_session), std::nullopt);
}

TEST_F(CliTest, DirectPreloadNeedsNoDaemon) {
  Outcome o = run({"sh", "-c", "echo hi; exit 3"}, preload_env());
  EXPECT_EQ(o.out, "hi\n");
  EXPECT_EQ(o.exit_code(), 3);
  EXPECT_EQ(o.err, "");
  Outcome list = clawtrace({"sessions"});
  ASSERT_EQ(list.exit_code(), 0) << list.err;
  EXPECT_NE(list.out.find("failed(3)"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("sh -c 'echo hi; exit 3'"), std::string::npos) << list.out;
}

TEST_F(CliTest, StoreDirectoryAndFilesArePrivate) {
  ASSERT_EQ(clawtrace({"run", "--", "true"}).exit_code(), 0);
  EXPECT_EQ(fs::status(store_).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(store_ / "spool").permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(store_ / "db" / "data.mdb").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

// Bad arguments: one line on stderr, non-zero exit, nothing on stdout.
struct BadArgs {
  std::vector<std::string> args;
  int code;
  std::string says;
};

class CliErrors : public CliTest, public ::testing::WithParamInterface<BadArgs> {};

TEST_P(CliErrors, OneClearLine) {
  ASSERT_EQ(clawtrace({"run", "--", "true"}).exit_code(), 0);  // a store with one session
  const BadArgs& p = GetParam();
  Outcome o = clawtrace(p.args);
  EXPECT_EQ(o.exit_code(), p.code) << o.err;
  EXPECT_EQ(o.out, "");
  auto lines = o.err_lines();
  ASSERT_EQ(lines.size(), 1u) << o.err;
  EXPECT_EQ(lines[0].rfind("clawtrace: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(p.says), std::string::npos) << lines[0];
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CliErrors,
    ::testing::Values(BadArgs{{"frobnicate"}, 2, "unknown command"},
                      BadArgs{{"--bogus", "sessions"}, 2, "unknown option"},
                      BadArgs{{"sessions", "--nope"}, 2, "unexpected argument"},
                      BadArgs{{"events"}, 2, "which session"},
                      BadArgs{{"events", "ffffffffffffffff"}, 1, "no session matches"},
                      BadArgs{{"events", "last", "--wat"}, 2, "unknown option"},
                      BadArgs{{"run"}, 2, "no command"},
                      BadArgs{{"run", "--tag", "novalue", "--", "true"}, 2, "K=V"},
                      BadArgs{{"run", "--", "/nonexistent/agent"}, 127, "cannot run"}));

TEST_F(CliTest, MissingAndCorruptStoresAreOneLineErrors) {
  Outcome missing = clawtrace({"sessions"});
  EXPECT_EQ(missing.exit_code(), 1);
  ASSERT_EQ(missing.err_lines().size(), 1u) << missing.err;
  EXPECT_NE(missing.err.find("no ClawTrace store"), std::string::npos) << missing.err;

  fs::create_directories(store_ / "db");
  std::ofstream(store_ / "db" / "data.mdb") << std::string(8192, 'g');
  Outcome corrupt = clawtrace({"sessions"});
  EXPECT_EQ(corrupt.exit_code(), 1);
  ASSERT_EQ(corrupt.err_lines().size(), 1u) << corrupt.err;
  EXPECT_NE(corrupt.err.find("corrupt"), std::string::npos) << corrupt.err;
}
