// `clawtrace run`: starts a command under the preload, ingests while it runs (on a thread
// of its own, so a busy store delays neither), and exits with the command's status.
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "cli.h"
#include "context.h"
#include "ingest.h"
#include "relay/session.h"
#include "sys.h"

extern char** environ;
namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

constexpr const char* kRunHelp = R"(usage: clawtrace run [--name N] [--tag K=V]... [--relay [--upstream-for NAME=URL]...] -- CMD [ARGS...]

Runs CMD with libclawtrace.so preloaded. Every process it starts is traced into the store;
the exit status is CMD's (128+N if it died from signal N). The last line on stderr is
`clawtrace: session ID`. CMD never waits on the store: if another process still holds
its write lock 30 s after CMD ended, the trace stays in the spool for the next command.

--relay  also start a relay (clawtrace relay --help) for CMD's provider calls, for agents
         the preload cannot see into (static binaries, runtimes with their own TLS). CMD
         gets ANTHROPIC_BASE_URL, OPENAI_BASE_URL and GOOGLE_GEMINI_BASE_URL pointing at it;
         the relay forwards to what those variables said before (or the providers' own
         URLs). Its calls are recorded in a session below CMD's.
--upstream-for NAME=URL  with --relay: where calls under /NAME/ go (anthropic, openai,
         gemini, or a name of your own)
)";

fs::path find_preload() {
  if (const char* p = std::getenv("CLAWTRACE_PRELOAD"); p && *p) return p;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    fs::path exe_dir = fs::path(buf).parent_path();
    for (const char* rel : {"../lib/clawtrace/libclawtrace.so", "../" CLAWTRACE_LIBDIR "/clawtrace/libclawtrace.so"}) {
      std::error_code ec;
      fs::path p = fs::weakly_canonical(exe_dir / rel, ec);
      if (!ec && fs::exists(p)) return p;
    }
  }
  return CLAWTRACE_INSTALLED_PRELOAD;
}

struct RunArgs {
  std::string name;
  std::string tags;  // k=v,k=v
  bool relay = false;
  std::vector<relay::Mount> upstreams;  // --upstream-for
  std::vector<std::string> cmd;
};

Result<RunArgs> parse(const std::vector<std::string>& args) {
  RunArgs r;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if ((a == "--name" || a == "--tag" || a == "--upstream-for") && i + 1 >= args.size())
      return fail(a + " needs a value");
    if (a == "--relay") {
      r.relay = true;
    } else if (a == "--upstream-for") {
      auto m = relay::parse_mount(args[++i]);
      if (!m) return fail("--upstream-for: " + m.error());
      r.upstreams.push_back(*m);
    } else if (a == "--name") {
      r.name = args[++i];
    } else if (a == "--tag") {
      const std::string& kv = args[++i];
      size_t eq = kv.find('=');
      if (eq == 0 || eq == std::string::npos || kv.find(',') != std::string::npos)
        return fail("--tag takes K=V (no commas), got '" + kv + "'");
      r.tags += (r.tags.empty() ? "" : ",") + kv;
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option " + a);
    } else {
      break;  // the command starts here (the `--` is optional)
    }
  }
  r.cmd.assign(args.begin() + static_cast<long>(i), args.end());
  if (r.cmd.empty()) return fail("no command given (clawtrace run -- CMD...)");
  if (!r.upstreams.empty() && !r.relay) return fail("--upstream-for needs --relay");
  return r;
}

// The environment for the root process: ours to set, so plain strings.
std::map<std::string, std::string> current_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env[std::string(static_cast<const char*>(*e), eq)] = eq + 1;
  }
  return env;
}

// The root session's context: a fresh trace, or the caller's ($TRACEPARENT).
TraceContext root_context(uint64_t session) {
  TraceContext ctx;
  ctx.session = session;
  ctx.owner_pid = 0;  // "adopt this id as the root session"
  ctx.trace_hi = sys::random_id();
  ctx.trace_lo = sys::random_id();
  uint64_t hi, lo, span;
  if (parse_traceparent(std::getenv("TRACEPARENT"), &hi, &lo, &span)) {
    ctx.trace_hi = hi;  // join the caller's trace
    ctx.trace_lo = lo;
  }
  return ctx;
}

std::vector<std::string> root_env(std::map<std::string, std::string> env, const RunArgs& a, const fs::path& store,
                                  const fs::path& preload, const TraceContext& ctx, bool traced) {
  if (!traced) {
    TraceContext off;
    off.session = 1;
    off.flag = 'x';  // a preload already in the environment stays silent
    char buf[kCtxValueLen];
    format_ctx(off, buf);
    env["CLAWTRACE_CTX"] = std::string(buf, kCtxValueLen);
  } else {
    char buf[kCtxValueLen];
    format_ctx(ctx, buf);
    env["CLAWTRACE_CTX"] = std::string(buf, kCtxValueLen);
    std::string pre = env.count("LD_PRELOAD") ? env["LD_PRELOAD"] : "";
    env["LD_PRELOAD"] = preload.string() + (pre.empty() ? "" : ":" + pre);
    env["CLAWTRACE_STORE"] = store.string();
    if (!a.name.empty()) env["CLAWTRACE_NAME"] = a.name;
    if (!a.tags.empty()) env["CLAWTRACE_TAGS"] = a.tags;
  }
  std::vector<std::string> out;
  for (auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// What `clawtrace run` says once the command is done: lines for stderr, each after "clawtrace: ".
using Lines = std::vector<std::string>;

// What the trace's sessions reported at their end (e.g. HTTP/2 traffic not captured), once.
Lines session_warnings(Store& store, const std::string& root) {
  Lines out;
  auto sessions = store.sessions();
  if (!sessions) return out;
  std::string trace;
  for (const auto& s : *sessions)
    if (s.id == root) trace = s.trace;
  std::set<std::string> seen;
  for (const auto& s : *sessions) {
    if (s.trace != trace) continue;
    auto events = store.events(s.id);
    if (!events) continue;
    for (const auto& e : *events) {
      const auto* w = e.type == EventType::session_end ? e.data.if_contains("warnings") : nullptr;
      if (!w || !w->is_array()) continue;
      for (const auto& text : w->get_array())
        if (text.is_string() && seen.insert(std::string(text.get_string())).second)
          out.push_back("warning: " + std::string(text.get_string()));
    }
  }
  return out;
}

// Starts the relay of `run --relay`, recording into a session below the command's, and points
// the command's provider base URLs at it.
Result<relay::RelaySession> start_relay(const RunArgs& a, const fs::path& spool_dir, const TraceContext& ctx,
                                        std::map<std::string, std::string>& env) {
  relay::RelayOptions options;
  options.ca_file = relay::ca_file_from_environment();
  for (const auto& p : relay::provider_bases()) options.mounts.push_back({std::string("/") + p.name, p.upstream});
  for (const auto& m : a.upstreams) {
    std::erase_if(options.mounts, [&](const relay::Mount& old) { return old.prefix == m.prefix; });
    options.mounts.push_back(m);
  }
  relay::SessionSpec spec;
  spec.spool_dir = spool_dir;
  spec.parent_session = ctx.session;
  spec.trace_hi = ctx.trace_hi;
  spec.trace_lo = ctx.trace_lo;
  spec.tags = a.tags;
  spec.argv = {"clawtrace", "relay"};
  for (const auto& m : options.mounts) spec.argv.push_back("--upstream-for=" + m.prefix.substr(1) + "=" + m.upstream);
  auto started = relay::start_relay_session(options, spec);
  if (!started) return started;
  const std::string base = "http://127.0.0.1:" + std::to_string(started->server->port());
  for (const auto& p : relay::provider_bases()) env[p.variable] = base + "/" + p.name;
  env["CLAWTRACE_RELAY"] = "127.0.0.1:" + std::to_string(started->server->port());
  env["CLAWTRACE_RELAY_URL"] = base;  // for mounts of your own, and agents configured in files
  return started;
}

pid_t g_child = 0;
void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

int wait_for(pid_t child) {
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

int exit_code(int wait_status) {
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return WEXITSTATUS(wait_status);
}

// How the command ended, for the final pass.
struct Finished {
  std::string session;        // the root session
  std::string relay_session;  // with --relay
  std::string command;        // argv[0]
  int wait_status = 0;
};

Lines not_traced(const Finished& f) {
  if (f.relay_session.empty())
    return {f.command + " was not traced (statically linked, setuid, or it drops LD_PRELOAD)"};
  // A static agent: what it said to its providers is still there.
  return {f.command + " was not traced itself (statically linked, setuid, or it drops LD_PRELOAD); "
                      "its provider calls through the relay are",
          "session " + f.relay_session};
}

// With the store's writer lock: records the exit status and ingests what is left.
Lines final_pass(Store& store, const Finished& f) {
  const bool traced = record_observed_exit(store, f.session, f.wait_status).ok();
  if (!traced && f.relay_session.empty()) return not_traced(f);
  Lines out;
  if (auto done = ingest_pending(store); !done) out.push_back("ingesting: " + done.error());
  Lines tail = traced ? session_warnings(store, f.session) : not_traced(f);
  if (traced) tail.push_back("session " + f.session);
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

// Without the store: the exit status goes to the spool too (lock-free), and the next
// ClawTrace command ingests it all.
Lines spool_only(const fs::path& store_dir, const Finished& f, const std::string& why) {
  Lines out{why};
  Lines tail = append_observed_exit(Store::spool_dir_of(store_dir), f.session, f.wait_status)
                   ? Lines{"session " + f.session}
                   : not_traced(f);
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

// Ingestion on a thread of its own: LMDB's writer lock cannot be waited on with a timeout,
// and whoever holds it (another ClawTrace process stopped with ^Z, say) must delay neither
// the command's start nor its exit status reaching our caller. The state is shared with
// the thread, which may outlive the wait for it.
class Ingestion {
 public:
  explicit Ingestion(fs::path store_dir) : state_(std::make_shared<State>()) {
    thread_ = std::thread([dir = std::move(store_dir), state = state_] { run(dir, *state); });
  }
  ~Ingestion() {
    std::unique_lock lock(state_->mu);
    const bool done = state_->result.has_value();
    lock.unlock();
    if (done) thread_.join();
    else thread_.detach();  // blocked on the store; the process leaves with _exit
  }
  Ingestion(const Ingestion&) = delete;
  Ingestion& operator=(const Ingestion&) = delete;

  // Once the command is reaped: the final pass's lines, or nothing if it took longer than
  // `limit` (then the thread is still waiting on the store).
  std::optional<Lines> finish(Finished f, std::chrono::seconds limit) {
    std::unique_lock lock(state_->mu);
    state_->finished = std::move(f);
    state_->cv.notify_all();
    state_->cv.wait_for(lock, limit, [&] { return state_->result.has_value(); });
    return state_->result;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Finished> finished;
    std::optional<Lines> result;
  };

  static void run(const fs::path& dir, State& st) {
    auto store = Store::open(dir);  // may wait on the writer lock
    if (store) ingest_until_finished(**store, st);
    std::unique_lock lock(st.mu);
    st.cv.wait(lock, [&] { return st.finished.has_value(); });
    const Finished f = *st.finished;
    lock.unlock();
    Lines lines = store ? final_pass(**store, f)
                        : spool_only(dir, f, "cannot write to the trace store: " + store.error() +
                                                 "; the trace stays in the spool");
    lock.lock();
    st.result = std::move(lines);
    st.cv.notify_all();
  }

  // Every 250 ms while the command runs, but never busy more than a tenth of the time (a
  // busy agent's traffic costs ingestion time; the rest waits for the final pass).
  static void ingest_until_finished(Store& store, State& st) {
    using clock = std::chrono::steady_clock;
    constexpr auto kPeriod = std::chrono::milliseconds(250);
    constexpr int kDutyFactor = 10;
    auto next = clock::now() + kPeriod;
    std::unique_lock lock(st.mu);
    while (!st.cv.wait_until(lock, next, [&] { return st.finished.has_value(); })) {
      lock.unlock();
      const auto start = clock::now();
      (void)ingest_pending(store);  // live; errors surface at the final pass
      const auto end = clock::now();
      next = end + std::max<clock::duration>(kPeriod, (end - start) * kDutyFactor);
      lock.lock();
    }
  }

  std::shared_ptr<State> state_;
  std::thread thread_;
};

// How long the final pass may take once the command is done. A pass normally takes well
// under a second (live ingestion kept up), and another ClawTrace command holds the writer
// lock for a pass of a few seconds; 30 s outlasts those on a loaded machine, while a
// stopped or hung lock holder costs our caller no more than that. Nothing is lost when it
// runs out: what was not ingested stays in the spool for the next command.
constexpr std::chrono::seconds kFinalPassLimit{30};

constexpr const char* kStoreBusy =
    "the store is busy: another process holds its write lock; the trace stays in the spool and the next "
    "clawtrace command ingests it";

void print(const Lines& lines) {
  for (const auto& l : lines) std::fprintf(stderr, "clawtrace: %s\n", l.c_str());
}

}  // namespace

int cmd_run(const Globals& g, const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kRunHelp, stdout);
    return 0;
  }
  auto parsed = parse(args);
  if (!parsed) return usage_error("run", parsed.error());
  const RunArgs& a = parsed.value();

  // Only the directories here: opening the database may wait on its writer lock, which the
  // ingestion thread does once the command runs.
  std::error_code ec;
  const fs::path store_dir = fs::absolute(g.store_dir, ec);
  auto made = Store::create_dirs(store_dir);
  if (!made) error("cannot write to the trace store: " + made.error() + "; running untraced");
  const fs::path preload = find_preload();
  const bool traced = made && fs::exists(preload, ec);
  if (made && !traced) error("cannot find libclawtrace.so (set CLAWTRACE_PRELOAD); running untraced");

  const uint64_t session = sys::random_id();
  const TraceContext ctx = root_context(session);
  std::map<std::string, std::string> base_env = current_env();
  std::optional<relay::RelaySession> relayed;
  if (a.relay && traced) {
    auto started = start_relay(a, Store::spool_dir_of(store_dir), ctx, base_env);
    if (!started) return error("cannot start the relay: " + started.error());
    relayed = std::move(*started);
  } else if (a.relay) {
    error("no relay either: its calls could not be recorded");
  }
  std::vector<std::string> env = root_env(std::move(base_env), a, store_dir, preload, ctx, traced);
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> cmd = a.cmd;
  for (auto& c : cmd) argv.push_back(c.data());
  argv.push_back(nullptr);

  // Like a shell running a foreground job: the terminal's ^C goes to the child.
  struct sigaction ign{}, fwd{}, old_int{}, old_quit{}, old_term{}, old_hup{};
  ign.sa_handler = SIG_IGN;
  fwd.sa_handler = forward_signal;
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  sigaction(SIGTERM, &fwd, &old_term);
  sigaction(SIGHUP, &fwd, &old_hup);
  pid_t child = 0;
  int rc = posix_spawnp(&child, argv[0], nullptr, ForegroundSpawn().attr(), argv.data(), envp.data());
  if (rc != 0) return error("cannot run " + a.cmd[0] + ": " + std::strerror(rc), rc == ENOENT ? 127 : 126);
  g_child = child;
  // Ingestion yields to the traced command (spawned already, so it keeps its nice). On
  // Linux this is the calling thread's nice, which the ingestion thread inherits.
  (void)setpriority(PRIO_PROCESS, 0, 10);  // failing only means it competes as before
  std::optional<Ingestion> ingestion;
  if (traced) ingestion.emplace(store_dir);

  const int status = wait_for(child);
  const std::string relay_id = relayed ? hex_id(relayed->recorder->session()) : "";
  relayed.reset();  // its exchanges done and its session ended before the final pass
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGQUIT, &old_quit, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  sigaction(SIGHUP, &old_hup, nullptr);

  if (ingestion) {
    Finished f{hex_id(session), relay_id, a.cmd[0], status};
    auto lines = ingestion->finish(f, kFinalPassLimit);
    if (!lines) {
      // The ingestion thread is stuck on the lock: leave without joining it.
      print(spool_only(store_dir, f, kStoreBusy));
      std::fflush(stdout);
      std::fflush(stderr);
      _exit(exit_code(status));
    }
    print(*lines);
  }
  return exit_code(status);
}

}  // namespace clawtrace::cli
