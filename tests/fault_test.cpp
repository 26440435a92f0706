// Fault injection: tests/fault/fault_agent.c talks to the provider stand-in and meets one
// fault, once untraced and once under the real preload (LD_PRELOAD + CLAWTRACE_STORE, so
// nothing but the preload sits between the two runs). Its stdout, stderr and exit status
// must be byte-identical — where the store itself fails, the preload's one warning line
// is the only difference, and none with CLAWTRACE_QUIET=1 — and every exchange the agent
// finished before the fault (written to the spool: see "ack" in fault_agent.c) must be
// readable from the store afterwards. Faults of the store that need a filesystem of their
// own mount a tmpfs (we run as root locally and in CI); they skip, saying why, where
// mount(2) is not permitted.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.h"
#include "files.h"
#include "ingest.h"
#include "record_format.h"
#include "store.h"
#include "subprocess.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace clawtrace;

namespace {

using Argv = std::vector<std::string>;
using test::ProcessOutput;

// Streams of prompts with "SLOW" trickle out, so a process can die in the middle of one.
constexpr const char* kScript = R"({"rules": [{"name": "slow", "when": {"user_contains": "SLOW"},
  "reply": {"text": "a long answer that trickles out one small delta at a time, long enough to be cut",
            "delta_size": 4, "chunk_size": 256, "delay_ms": 40}}]})";

std::string describe(int status) { return test::describe_status(status); }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// ---- a tmpfs the test mounts -------------------------------------------------------------

class Tmpfs {
 public:
  Tmpfs(const fs::path& at, const std::string& options) : at_(at) {
    fs::create_directories(at);
    if (mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0) mounted_ = true;
    else error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) umount2(at_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  bool remount(const std::string& options) {
    return mount("tmpfs", at_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  fs::path at_;
  bool mounted_ = false;
  std::string error_;
};

#define MOUNT_TMPFS_OR_SKIP(var, at, options)                                                     \
  Tmpfs var(at, options);                                                                         \
  if (!var.mounted())                                                                             \
  GTEST_SKIP() << "cannot mount a tmpfs at " << (at) << " (" << var.error()                      \
               << "): this fault needs a filesystem of its own; run as root or with CAP_SYS_ADMIN"

// ---- a stopped holder of the store's write lock ---------------------------------------------

// A child of the test that holds the store's write lock, stopped (^Z) inside its write
// transaction; -1 on failure.
pid_t stopped_lock_holder(const fs::path& store) {
  if (!Store::open(store).ok()) return -1;
  pid_t holder = fork();
  if (holder == 0) {
    auto s = Store::open(store);
    if (!s.ok()) _exit(1);
    (void)(*s)->write([](Store::Writer&) -> Result<void> {
      raise(SIGSTOP);
      return {};
    });
    _exit(0);
  }
  int st = 0;
  if (holder < 0 || waitpid(holder, &st, WUNTRACED) != holder || !WIFSTOPPED(st)) return -1;
  return holder;
}

void kill_holder(pid_t holder) {
  int st;
  kill(holder, SIGKILL);
  waitpid(holder, &st, 0);
}

// ---- running the agent -------------------------------------------------------------------

class Fault : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(f_.start_standin(kScript)); }

  fs::path store() const { return f_.dir() / "store"; }
  std::string port() const { return f_.http_url().substr(f_.http_url().rfind(':') + 1); }
  Argv agent(const std::string& mode, const Argv& more = {}) const {
    Argv a = {CT_FAULT_AGENT, mode, port()};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  Argv env(bool traced, const Argv& more = {}) const {
    Argv e = {"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + (f_.dir() / "home").string()};
    if (traced) e.insert(e.end(), {"LD_PRELOAD=" + std::string(CT_PRELOAD), "CLAWTRACE_STORE=" + store().string()});
    e.insert(e.end(), more.begin(), more.end());
    return e;
  }
  ProcessOutput plain(const Argv& argv) const { return test::run_process(argv, env(false), 60); }
  ProcessOutput traced(const Argv& argv, const Argv& more_env = {}) const {
    return test::run_process(argv, env(true, more_env), 60);
  }

  // Untraced, then traced: the same bytes and status. Returns the untraced run.
  ProcessOutput expect_identical(const Argv& argv) {
    ProcessOutput p = plain(argv);
    ProcessOutput t = traced(argv);
    EXPECT_EQ(t.out, p.out) << "stdout differs under the preload";
    EXPECT_EQ(t.err, p.err) << "stderr differs under the preload";
    EXPECT_EQ(describe(t.status), describe(p.status)) << "exit status differs under the preload";
    return p;
  }

  // The store fails: the traced run differs only by the preload's one warning line, and
  // not at all with CLAWTRACE_QUIET=1.
  void expect_identical_but_one_warning(const Argv& argv, const std::function<void()>& between = {}) {
    ProcessOutput p = plain(argv);
    if (between) between();
    ProcessOutput loud = traced(argv);
    EXPECT_EQ(loud.out, p.out);
    EXPECT_EQ(describe(loud.status), describe(p.status));
    auto extra = lines(loud.err);
    for (const auto& l : lines(p.err))
      if (auto it = std::find(extra.begin(), extra.end(), l); it != extra.end()) extra.erase(it);
    ASSERT_EQ(extra.size(), 1u) << "expected one warning line, got:\n" << loud.err;
    EXPECT_EQ(extra[0].rfind("clawtrace: cannot write to the trace store " + store().string(), 0), 0u)
        << extra[0];
    if (between) between();
    ProcessOutput quiet = traced(argv, {"CLAWTRACE_QUIET=1"});
    EXPECT_EQ(quiet.out, p.out);
    EXPECT_EQ(quiet.err, p.err) << "CLAWTRACE_QUIET=1 must silence the warning";
    EXPECT_EQ(describe(quiet.status), describe(p.status));
  }

  static constexpr const char* kBusy =
      "clawtrace: the store is busy: another process holds its write lock; the trace stays in the spool "
      "and the next clawtrace command ingests it";
  static constexpr auto kFinalPassLimit = std::chrono::seconds(30);  // cmd_run.cpp

  // Runs argv under `clawtrace run` while a stopped process holds the store's write lock,
  // checks the bounded wait and returns the session id (and the time the run began).
  std::string run_busy(const Argv& argv, ProcessOutput& out, uint64_t& began_ns) {
    const pid_t holder = stopped_lock_holder(store());
    EXPECT_GT(holder, 0);
    if (holder <= 0) return "";
    Argv run = {CT_CLAWTRACE, "--store", store().string(), "run", "--"};
    run.insert(run.end(), argv.begin(), argv.end());
    began_ns = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    const auto t0 = std::chrono::steady_clock::now();
    out = test::run_process(run, env(false), 90);
    const auto took = std::chrono::steady_clock::now() - t0;
    kill_holder(holder);
    EXPECT_GE(took, kFinalPassLimit);
    EXPECT_LT(took, kFinalPassLimit + std::chrono::seconds(20));
    const auto err = lines(out.err);
    EXPECT_NE(std::find(err.begin(), err.end(), kBusy), err.end()) << out.err;
    if (err.empty() || err.back().rfind("clawtrace: session ", 0) != 0) {
      ADD_FAILURE() << "no session line last:\n" << out.err;
      return "";
    }
    return err.back().substr(std::string("clawtrace: session ").size());
  }

  // The session as the next `clawtrace sessions --json` shows it.
  json::object listed(const std::string& id) const {
    const ProcessOutput cli =
        test::run_process({CT_CLAWTRACE, "--store", store().string(), "sessions", "--json"}, env(false), 30);
    EXPECT_EQ(describe(cli.status), "exit 0") << cli.err;
    boost::system::error_code ec;
    const json::value all = json::parse(cli.out, ec);
    if (!ec && all.is_array())
      for (const auto& s : all.get_array())
        if (s.is_object() && s.get_object().if_contains("id") && s.at("id") == json::value(id)) return s.get_object();
    ADD_FAILURE() << "session " << id << " not listed:\n" << cli.out;
    return {};
  }

  // The llm_output of the call whose request carried `prompt`, or null.
  // Prompts are matched whole, as the JSON string they travel as.
  static bool carries(const Event& in, const std::string& prompt) {
    return json::serialize(in.data).find('"' + prompt + '"') != std::string::npos;
  }
  static const Event* output_for(const e2e::Trace& t, const std::string& prompt) {
    for (const Event* in : t.of(EventType::llm_input)) {
      if (!carries(*in, prompt)) continue;
      for (const Event* out : t.of(EventType::llm_output))
        if (out->session == in->session && out->span == in->span) return out;
    }
    return nullptr;
  }
  static size_t inputs_with(const e2e::Trace& t, const std::string& prompt) {
    size_t n = 0;
    for (const Event* in : t.of(EventType::llm_input))
      if (carries(*in, prompt)) ++n;
    return n;
  }
  // Acknowledged: the exchange is in the store, answered and without error.
  static void expect_answered(const e2e::Trace& t, const std::string& prompt, size_t times = 1) {
    SCOPED_TRACE("exchange \"" + prompt + "\"");
    EXPECT_EQ(inputs_with(t, prompt), times);
    const Event* out = output_for(t, prompt);
    ASSERT_NE(out, nullptr) << "no llm_output";
    EXPECT_EQ(e2e::u(out->data, "status"), 200u) << json::serialize(out->data);
    EXPECT_TRUE(e2e::s(out->data, "error").empty()) << json::serialize(out->data);
  }
  // What a user sees: `clawtrace events` of the session shows the exchange.
  void expect_cli_shows(const SessionInfo* session, const std::string& prompt) const {
    ASSERT_NE(session, nullptr);
    const ProcessOutput cli =
        test::run_process({CT_CLAWTRACE, "--store", store().string(), "events", session->id}, env(false), 30);
    EXPECT_EQ(describe(cli.status), "exit 0") << cli.err;
    EXPECT_NE(cli.out.find(prompt), std::string::npos) << cli.out;
  }
  const SessionInfo* session_of(const e2e::Trace& t, const std::string& argv1) const {
    for (const auto& s : t.infos)
      if (s.argv.size() > 1 && s.argv[1] == argv1 && !s.parent_session) return &s;
    return nullptr;
  }

  e2e::Fixture f_;
};

// ---- the store -----------------------------------------------------------------------------

// Missing, with missing parents: the preload creates it (0700) and nothing is lost.
TEST_F(Fault, StoreDirectoryMissing) {
  ASSERT_FALSE(fs::exists(store()));
  expect_identical(agent("llm", {"3"}));
  EXPECT_EQ(fs::status(store()).permissions() & fs::perms::all, fs::perms::owner_all);
  e2e::Trace t = f_.trace();
  for (const char* p : {"exchange 1", "exchange 2", "exchange 3"}) expect_answered(t, p);
}

// A store on a filesystem mounted read-only: the agent runs untraced, warned once; what
// the store held before is intact once it is writable again.
TEST_F(Fault, StoreReadOnly) {
  MOUNT_TMPFS_OR_SKIP(fs_, store(), "size=16m,mode=0700");
  expect_identical(agent("llm", {"1"}));
  { e2e::Trace before = f_.trace(); }  // ingest the first run
  ASSERT_TRUE(fs_.remount("ro"));
  expect_identical_but_one_warning(agent("llm", {"2"}));
  ASSERT_TRUE(fs_.remount("rw"));
  e2e::Trace t = f_.trace();
  expect_answered(t, "exchange 1");  // the first run's; the later runs went untraced
  EXPECT_EQ(inputs_with(t, "exchange 2"), 0u);
}

// The disk fills up under a running agent: it is warned once and runs on untraced; the
// exchange acknowledged before is readable once there is room again.
TEST_F(Fault, StoreOnAFullFilesystem) {
  MOUNT_TMPFS_OR_SKIP(fs_, store(), "size=4m,mode=0700");
  const fs::path fill = store() / "fill";
  fs::create_directories(fill);
  const Argv argv = agent("fill", {fill.string()});
  expect_identical_but_one_warning(argv, [&] { fs::remove(fill / "filler"); });
  fs::remove(fill / "filler");
  e2e::Trace t = f_.trace();
  // Both traced runs (loud and quiet) acknowledged their first exchange.
  expect_answered(t, "before the disk filled", 2);
  expect_cli_shows(session_of(t, "fill"), "before the disk filled");
}

// Ingestion into a store whose map must grow while the disk is full: a clean error, no
// partial pass; with room again, every event arrives once.
TEST_F(Fault, LmdbMapFullOnAFullDisk) {
  MOUNT_TMPFS_OR_SKIP(fs_, store(), "size=8m,mode=0700");
  expect_identical(agent("llm", {"120"}));
  const fs::path filler = store() / "filler";
  {
    auto s = Store::open(store(), StoreOptions{.initial_map_size = 64 * 1024});
    ASSERT_TRUE(s.ok()) << s.error();
    // Leave a few pages: the map outgrows 64 KiB and the file cannot follow.
    std::string block(64 * 1024, 'f');
    std::ofstream out(filler, std::ios::binary);
    while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
    out.close();
    auto failed = ingest_pending(**s);
    ASSERT_FALSE(failed.ok()) << "ingestion on a full disk reported success";
    EXPECT_NE(failed.error().find("space"), std::string::npos) << failed.error();
    fs::remove(filler);
    auto done = ingest_pending(**s);
    ASSERT_TRUE(done.ok()) << done.error();
    EXPECT_GT((*s)->map_size(), size_t{64 * 1024});
  }
  e2e::Trace t = f_.trace();
  for (int i = 1; i <= 120; ++i) expect_answered(t, "exchange " + std::to_string(i));
}

// Another ClawTrace process holds the store's write lock and is stopped (^Z): the preload
// never waits on the store, so the agent runs as ever; when the holder is killed, LMDB's
// robust lock lets ingestion in and nothing is lost.
TEST_F(Fault, LockHeldByAStoppedProcess) {
  const pid_t holder = stopped_lock_holder(store());
  ASSERT_GT(holder, 0);
  const auto t0 = std::chrono::steady_clock::now();
  expect_identical(agent("llm", {"2"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  kill_holder(holder);
  e2e::Trace t = f_.trace();
  expect_answered(t, "exchange 1");
  expect_answered(t, "exchange 2");
}

// `clawtrace run` beside a stopped lock holder: the command starts at once and its output
// and status reach the caller unchanged; the final ingestion gives up after its bounded
// wait, saying so, and leaves the trace and the exit status in the spool, which the next
// command ingests once the holder is gone.
TEST_F(Fault, ClawtraceRunBesideAStoppedLockHolder) {
  const Argv argv = agent("llm", {"1"});
  const ProcessOutput p = plain(argv);
  ProcessOutput t;
  uint64_t began_ns = 0;
  const std::string id = run_busy(argv, t, began_ns);
  EXPECT_EQ(t.out, p.out);
  EXPECT_EQ(describe(t.status), describe(p.status));
  ASSERT_FALSE(id.empty());
  const json::object s = listed(id);
  // Started at once, not after the wait for the store.
  const auto* start = s.if_contains("start_ns");
  boost::system::error_code ec;
  const uint64_t start_ns = start ? start->to_number<uint64_t>(ec) : 0;
  ASSERT_TRUE(start && !ec) << json::serialize(s);
  EXPECT_LT(start_ns, began_ns + uint64_t{5'000'000'000}) << json::serialize(s);
  ASSERT_TRUE(WIFEXITED(p.status));
  EXPECT_EQ(s.if_contains("exit_code") ? json::serialize(s.at("exit_code")) : "", std::to_string(WEXITSTATUS(p.status)))
      << json::serialize(s);
  expect_answered(f_.trace(), "exchange 1");
}

// Killed (SIGKILL, which the preload cannot see): its signal reaches the store only through
// the exit status `clawtrace run` appended to the spool without the lock.
TEST_F(Fault, ClawtraceRunBesideAStoppedLockHolderRecordsTheSignalOfAKilledCommand) {
  ProcessOutput t;
  uint64_t began_ns = 0;
  const std::string id = run_busy(agent("kill_stream"), t, began_ns);
  EXPECT_EQ(describe(t.status), "exit 137") << t.err;
  ASSERT_FALSE(id.empty());
  const json::object s = listed(id);
  EXPECT_EQ(s.if_contains("signal") ? json::serialize(s.at("signal")) : "", "9") << json::serialize(s);
}

// A corrupt database: the preload never reads it, so the agent is unaffected and its
// spool waits for a store that works; a spool file of garbage costs only itself.
TEST_F(Fault, CorruptDataFile) {
  expect_identical(agent("llm", {"1"}));
  { e2e::Trace first = f_.trace(); }
  const fs::path data = store() / "db" / "data.mdb";
  ASSERT_TRUE(fs::exists(data));
  {
    std::fstream io(data, std::ios::in | std::ios::out | std::ios::binary);
    std::string garbage(8192, '\x5a');
    io.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  expect_identical(agent("llm", {"2"}));
  auto broken = Store::open(store());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().find("corrupt"), std::string::npos) << broken.error();
  // The user moves the broken database aside; the spool of the run since is all there.
  fs::rename(store() / "db", f_.dir() / "db.corrupt");
  test::spit(store() / "spool" / "00000000000000aa.spool", std::string(5000, '\x01'));
  auto spools = [&] {
    std::vector<fs::path> v;
    for (const auto& e : fs::directory_iterator(store() / "spool")) v.push_back(e.path());
    return v;
  }();
  ASSERT_GE(spools.size(), 2u);
  e2e::Trace t = f_.trace();
  expect_answered(t, "exchange 1");
  expect_answered(t, "exchange 2");
  expect_cli_shows(session_of(t, "llm"), "exchange 2");
}

// Regression: a spool whose last record is incomplete — cut by ENOSPC or SIGKILL — made
// ingestion loop forever: for a gone process it waited for a writer that would never
// come back; for a live one (tracing stopped mid-write on a full disk) it spun until the
// process exited. Now the gone writer's tail is skipped and its session ends, and the
// live one's waits for the next ingestion without holding this one up.
TEST_F(Fault, IngestionNeverWaitsOnAnIncompleteLastRecord) {
  expect_identical(agent("llm", {"1"}));
  std::vector<fs::path> spools;
  for (const auto& e : fs::directory_iterator(store() / "spool")) spools.push_back(e.path());
  ASSERT_EQ(spools.size(), 1u);
  const std::string bytes = test::slurp(spools[0]);
  wire::FileHeader h;
  ASSERT_GT(bytes.size(), sizeof h + 60);
  std::memcpy(&h, bytes.data(), sizeof h);
  const std::string torn = bytes.substr(h.header_size, 60);  // a proc_start record is longer
  test::spit(spools[0], bytes + torn);
  // The same torn record in the spool of a process that is still running: this one.
  h.pid = static_cast<uint32_t>(getpid());
  h.proc_start_ticks = 0;
  h.session = 0xabcdef;
  const fs::path live = store() / "spool" / (hex_id(h.session) + ".spool");
  test::spit(live, std::string(reinterpret_cast<const char*>(&h), sizeof h) + torn);

  pid_t ingester = fork();
  if (ingester == 0) {
    auto s = Store::open(store());
    _exit(s.ok() && ingest_pending(**s).ok() ? 0 : 1);
  }
  int st = 0;
  for (int i = 0; i < 200 && waitpid(ingester, &st, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (kill(ingester, 0) == 0 && waitpid(ingester, &st, WNOHANG) == 0) {
    kill(ingester, SIGKILL);
    waitpid(ingester, &st, 0);
    FAIL() << "ingestion did not return within 10 s";
  }
  EXPECT_EQ(describe(st), "exit 0");
  EXPECT_FALSE(fs::exists(spools[0])) << "the gone writer's spool was not finished";
  EXPECT_TRUE(fs::exists(live)) << "the live writer's spool must wait for it";
  e2e::Trace t = f_.trace();
  expect_answered(t, "exchange 1");
  const SessionInfo* s = session_of(t, "llm");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->status, SessionStatus::ok);
}

// ---- the traced agent dies ------------------------------------------------------------------

// The agent SIGKILLs itself after an acknowledged exchange: what it had sent is kept and
// its session ends (truncated) instead of staying open.
class FaultKilled : public Fault, public ::testing::WithParamInterface<const char*> {};

TEST_P(FaultKilled, AcknowledgedExchangeSurvives) {
  expect_identical(agent(GetParam()));
  e2e::Trace t = f_.trace();
  expect_answered(t, "acknowledged");
  const SessionInfo* s = session_of(t, GetParam());
  ASSERT_NE(s, nullptr);
  // Truncated; which signal only a waiting parent can tell (`clawtrace run`, or a traced
  // parent as in SubagentKilledMidStream): here the root's parent is the test.
  EXPECT_EQ(s->status, SessionStatus::truncated);
}
// kill_stream: in the middle of reading a streamed reply; kill_write: while a large
// request body is being captured into the spool.
INSTANTIATE_TEST_SUITE_P(Agent, FaultKilled, ::testing::Values("kill_stream", "kill_write"));

TEST_F(Fault, SubagentKilledMidStream) {
  const ProcessOutput p = expect_identical(agent("kill_subagent"));
  EXPECT_NE(p.out.find("sub-agent: killed by signal 9"), std::string::npos) << p.out;
  e2e::Trace t = f_.trace();
  expect_answered(t, "sub-agent acknowledged");
  expect_answered(t, "parent after the sub-agent");
  const SessionInfo* root = session_of(t, "kill_subagent");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->status, SessionStatus::ok);
  size_t killed = 0;
  for (const auto& s : t.infos)
    if (s.parent_session == root->id && s.signal == 9) ++killed;
  EXPECT_EQ(killed, 1u) << "the killed sub-agent's session does not say so";
}

// ---- the provider ----------------------------------------------------------------------------

// Answers each connection with the start of an Anthropic stream, then resets it (RST).
class ResettingServer {
 public:
  explicit ResettingServer(int connections) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 4) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) serve_one();
    });
  }
  ~ResettingServer() {
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }

 private:
  void serve_one() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) return;
    int c = accept(fd_, nullptr, nullptr);
    std::string req;
    char buf[4096];
    while (req.find("}]}") == std::string::npos) {
      ssize_t r = read(c, buf, sizeof buf);
      if (r <= 0) break;
      req.append(buf, static_cast<size_t>(r));
    }
    const std::string reply =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_reset\","
        "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],"
        "\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Partial\"}}\n\n";
    (void)!write(c, reply.data(), reply.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the client reads it all
    linger reset{1, 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(Fault, ProviderResetsMidStream) {
  ResettingServer server(2);
  ASSERT_GT(server.port(), 0);
  const ProcessOutput p = expect_identical(agent("reset", {std::to_string(server.port())}));
  EXPECT_NE(p.out.find("errno=ECONNRESET, 3 SSE events before"), std::string::npos) << p.out;
  e2e::Trace t = f_.trace();
  const Event* cut = output_for(t, "reset me");
  ASSERT_NE(cut, nullptr) << "the reset exchange left no llm_output";
  EXPECT_FALSE(e2e::s(cut->data, "error").empty()) << json::serialize(cut->data);
  expect_answered(t, "after the reset");
}

// ---- processes ---------------------------------------------------------------------------------

TEST_F(Fault, ForkAmongBusyThreadsThenWorkInTheChild) {
  expect_identical(agent("mt_fork"));
  e2e::Trace t = f_.trace();
  for (int i = 1; i <= 8; ++i) expect_answered(t, "child " + std::to_string(i));
  expect_answered(t, "parent after the forks");
}

TEST_F(Fault, HostileEnvpForVforkAndPosixSpawn) {
  const ProcessOutput p = expect_identical(agent("hostile_env"));
  for (const char* want : {"posix_spawn NULL envp: exited 7", "vfork+execve huge entry: exited 7",
                           "posix_spawn 3000 entries: exited 7"})
    EXPECT_NE(p.out.find(want), std::string::npos) << want << " in\n" << p.out;
  e2e::Trace t = f_.trace();
  const SessionInfo* root = session_of(t, "hostile_env");
  ASSERT_NE(root, nullptr);
  size_t children = 0;
  for (const auto& s : t.infos)
    if (s.argv.size() > 1 && s.argv[1] == "printenv") {
      ++children;
      EXPECT_TRUE(s.parent_session) << "a child started with a hostile envp was not linked";
      EXPECT_EQ(s.exit_code, 7);
    }
  EXPECT_EQ(children, 8u) << "every child is traced whatever envp it was given";
}

// close_range/closefrom close the library's spool descriptor (>= 512) and the tracked
// sockets; the program's own file then sits where the spool was and must stay its own.
TEST_F(Fault, CloseRangeAndClosefromCloseTrackedDescriptors) {
  const ProcessOutput p = expect_identical(agent("close_range"));
  EXPECT_NE(p.out.find("own file holds 5 bytes: mine\n"), std::string::npos) << p.out;
  e2e::Trace t = f_.trace();
  for (const char* prompt : {"before close_range", "after close_range", "before closefrom",
                             "with the program's file on 512..519"})
    expect_answered(t, prompt);
}

// ---- signals ---------------------------------------------------------------------------------

TEST_F(Fault, SignalsInterruptWrappedCallsWithEintr) {
  const ProcessOutput p = expect_identical(agent("eintr"));
  for (const char* want : {"read: rc=-1 errno=EINTR", "recv: rc=-1 errno=EINTR",
                           "connect: rc=-1 errno=EINTR", "waitpid: rc=-1 errno=EINTR"})
    EXPECT_NE(p.out.find(want), std::string::npos) << want << " in\n" << p.out;
  e2e::Trace t = f_.trace();
  EXPECT_EQ(inputs_with(t, "never answered"), 1u);
  expect_answered(t, "after the signals");
}

// ---- libraries loaded late ----------------------------------------------------------------------

TEST_F(Fault, LibsslLoadedAfterStart) {
  const ProcessOutput p = expect_identical(agent("dlopen_tls", {f_.https_url(), f_.cert()}));
  EXPECT_NE(p.out.find("libssl loaded before: no"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("curl_easy_perform: 0"), std::string::npos) << p.out;
  e2e::Trace t = f_.trace();
  expect_answered(t, "over TLS");
}

}  // namespace
