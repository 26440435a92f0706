#include "runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "capture.h"
#include "record_builder.h"
#include "sys.h"

namespace clawtrace::preload {
namespace {

enum Phase : int { kUninit = 0, kIniting = 1, kActive = 2, kDisabled = 3 };

constexpr int kSpoolFdFloor = 512;  // keep our descriptor out of the program's way
constexpr size_t kMaxArgs = 512;

struct State {
  std::atomic<int> phase{kUninit};
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  TraceContext self;  // session, trace; owner_pid = pid
  uint64_t parent_session = 0;
  uint64_t parent_span = 0;
  bool parent_exact = false;
  wire::Via via = wire::Via::root;
  std::atomic<int> fd{-1};
  dev_t dev = 0;
  ino_t ino = 0;
  bool quiet = false;
  bool capture_all = false;
  uint16_t relay_port = 0;  // CLAWTRACE_RELAY: `clawtrace run --relay` records that traffic itself
  std::atomic<bool> reported{false};
  std::atomic<bool> ended{false};
  int exit_code = 0;
  bool exit_known = false;
  const char* const* argv = nullptr;
  char store[PATH_MAX] = {};
  char spool_dir[PATH_MAX] = {};
  char lib_path[PATH_MAX] = {};
  char tags[1024] = {};
  char name[256] = {};
  // Our entries in environ (putenv keeps the pointer): updated in place in fork children.
  char ctx_env[sizeof(kCtxVar) + kCtxValueLen + 1] = {};
  char traceparent_env[sizeof("TRACEPARENT=") + kTraceparentValueLen] = {};
  // argv from /proc/self/cmdline when a wrapper runs before our constructor.
  char cmdline[16384] = {};
  const char* cmdline_argv[kMaxArgs + 1] = {};
};

State g;
thread_local bool t_initialising __attribute__((tls_model("initial-exec"))) = false;

void report_once(const char* what, int err) {
  if (g.reported.exchange(true) || g.quiet) return;
  char line[PATH_MAX + 256];
  size_t n = sys::copy_str(line, sizeof line, "clawtrace: cannot write to the trace store ");
  n += sys::copy_str(line + n, sizeof line - n, g.store);
  n += sys::copy_str(line + n, sizeof line - n, " (");
  n += sys::copy_str(line + n, sizeof line - n, what);
  n += sys::copy_str(line + n, sizeof line - n, ": ");
  const char* desc = strerrordesc_np(err);  // untranslated, allocation-free
  n += sys::copy_str(line + n, sizeof line - n, desc ? desc : "unknown error");
  n += sys::copy_str(line + n, sizeof line - n, "); this process runs untraced\n");
  sys::write_all(2, line, n);
}

void disable(const char* what, int err) {
  report_once(what, err);
  g.phase.store(kDisabled);
  // Children inherit the flag through CLAWTRACE_CTX and stay silent.
  if (g.ctx_env[0]) g.ctx_env[sizeof(kCtxVar) + kCtxValueLen - 1] = 'x';
}

void resolve_store_dir() {
  const char* s = getenv("CLAWTRACE_STORE");
  if (s && *s) {
    if (s[0] == '/') {
      sys::copy_str(g.store, sizeof g.store, s);
    } else if (!realpath(s, g.store)) {
      // Not created yet: make it absolute against the cwd so children agree.
      char cwd[PATH_MAX];
      if (!getcwd(cwd, sizeof cwd)) cwd[0] = '\0';
      size_t n = sys::copy_str(g.store, sizeof g.store, cwd);
      n += sys::copy_str(g.store + n, sizeof g.store - n, "/");
      sys::copy_str(g.store + n, sizeof g.store - n, s);
    }
  } else if ((s = getenv("XDG_DATA_HOME")) && *s) {
    size_t n = sys::copy_str(g.store, sizeof g.store, s);
    sys::copy_str(g.store + n, sizeof g.store - n, "/clawtrace");
  } else {
    const char* home = getenv("HOME");
    size_t n = sys::copy_str(g.store, sizeof g.store, home && *home ? home : "/tmp");
    sys::copy_str(g.store + n, sizeof g.store - n, "/.local/share/clawtrace");
  }
  size_t n = sys::copy_str(g.spool_dir, sizeof g.spool_dir, g.store);
  sys::copy_str(g.spool_dir + n, sizeof g.spool_dir - n, "/spool");
}

// mkdir -p with mode 0700 for every component we create.
bool make_dirs(const char* path) {
  char buf[PATH_MAX];
  size_t len = sys::copy_str(buf, sizeof buf, path);
  for (size_t i = 1; i <= len; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (sys::mkdir_at(buf, 0700) != 0 && errno != EEXIST) return false;
    buf[i] = saved;
  }
  return true;
}

void spool_path(char* out, size_t cap) {
  size_t n = sys::copy_str(out, cap, g.spool_dir);
  if (n + 1 + 16 + 7 >= cap) return;
  out[n++] = '/';
  sys::hex16(g.self.session, out + n);
  n += 16;
  sys::copy_str(out + n, cap - n, ".spool");
}

// Opens (creating with a header if new) this session's spool file. Returns the fd or -1
// with errno set.
int open_spool() {
  char path[PATH_MAX];
  spool_path(path, sizeof path);
  int fd = sys::open_at(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    wire::FileHeader h{};
    memcpy(h.magic, wire::kFileMagic, sizeof h.magic);
    h.version = wire::kFormatVersion;
    h.header_size = sizeof h;
    h.pid = static_cast<uint32_t>(g.pid);
    h.proc_start_ticks = g.start_ticks;
    h.session = g.self.session;
    h.created_ns = sys::now_ns();
    if (!sys::write_all(fd, &h, sizeof h)) {
      int e = errno;
      sys::close_fd(fd);
      errno = e;
      return -1;
    }
  } else if (errno == EEXIST) {
    fd = sys::open_at(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  } else if (errno == ENOENT && make_dirs(g.spool_dir)) {
    return open_spool();
  }
  if (fd < 0) return -1;
  int high = sys::dup_min(fd, kSpoolFdFloor);
  if (high >= 0) {
    sys::close_fd(fd);
    fd = high;
  }
  struct stat st;
  if (sys::fstat_fd(fd, &st) == 0) {
    g.dev = st.st_dev;
    g.ino = st.st_ino;
  }
  return fd;
}

// Our descriptor, reopened if the program closed it or reused its number.
int spool_fd() {
  int fd = g.fd.load(std::memory_order_acquire);
  if (fd >= 0) {
    struct stat st;
    if (sys::fstat_fd(fd, &st) == 0 && st.st_dev == g.dev && st.st_ino == g.ino) return fd;
  }
  int fresh = open_spool();
  if (fresh < 0) return -1;
  if (!g.fd.compare_exchange_strong(fd, fresh, std::memory_order_acq_rel)) {
    sys::close_fd(fresh);  // another thread reopened first
    return fd;
  }
  return fresh;
}

bool append_iov(const struct iovec* iov, int iovcnt) {
  int fd = spool_fd();
  if (fd < 0) {
    disable("opening the spool", errno);
    return false;
  }
  if (!sys::writev_all(fd, iov, iovcnt)) {
    disable("writing the spool", errno);
    return false;
  }
  return true;
}

void append(const char* rec, size_t len) {
  struct iovec v = {const_cast<char*>(rec), len};
  (void)append_iov(&v, 1);
}

// Builds and appends one record; `fill` adds the fields (called twice: size, then write).
template <class Fill>
void emit(wire::RecordType type, uint64_t t_ns, Fill&& fill) {
  RecordBuilder measure(nullptr, type, t_ns, 0, 0);
  fill(measure);
  Scratch scratch;
  char* buf = scratch.reserve(measure.size());
  if (!buf) return;
  RecordBuilder b(buf, type, t_ns, static_cast<uint32_t>(g.pid), static_cast<uint32_t>(sys::tid()));
  fill(b);
  append(buf, b.finish());
}

void emit_start(uint64_t t_ns) {
  char cwd[PATH_MAX];
  if (syscall(SYS_getcwd, cwd, sizeof cwd) < 0) cwd[0] = '\0';
  const bool root = g.via == wire::Via::root;
  emit(wire::RecordType::proc_start, t_ns, [&](RecordBuilder& b) {
    b.u64(wire::Field::session, g.self.session);
    b.u64(wire::Field::trace_hi, g.self.trace_hi);
    b.u64(wire::Field::trace_lo, g.self.trace_lo);
    b.u64(wire::Field::via, static_cast<uint64_t>(g.via));
    b.u64(wire::Field::ppid, static_cast<uint64_t>(sys::ppid()));
    b.u64(wire::Field::proc_start_ticks, g.start_ticks);
    if (g.parent_session) {
      b.u64(wire::Field::parent_session, g.parent_session);
      b.u64(wire::Field::parent_span, g.parent_span);
      b.u64(wire::Field::parent_exact, g.parent_exact ? 1 : 0);
    }
    b.strv(wire::Field::argv, g.argv);
    b.str(wire::Field::cwd, cwd);
    if (g.tags[0]) b.str(wire::Field::tags, g.tags);
    if (root && g.name[0]) b.str(wire::Field::name, g.name);
  });
}

void write_env_strings() {
  char* p = g.ctx_env;
  memcpy(p, kCtxVar, sizeof kCtxVar - 1);
  p[sizeof kCtxVar - 1] = '=';
  TraceContext c = g.self;
  c.owner_pid = static_cast<uint64_t>(g.pid);
  c.span = 0;  // children not started by a wrapper (system, popen) resolve at ingestion
  format_ctx(c, p + sizeof kCtxVar);
  p[sizeof kCtxVar + kCtxValueLen] = '\0';
  memcpy(g.traceparent_env, "TRACEPARENT=", 12);
  format_traceparent(g.self.trace_hi, g.self.trace_lo, g.self.session, g.traceparent_env + 12);
  g.traceparent_env[12 + kTraceparentValueLen] = '\0';
}

void load_cmdline_argv() {
  int fd = sys::open_at("/proc/self/cmdline", O_RDONLY | O_CLOEXEC, 0);
  long n = fd >= 0 ? sys::read_some(fd, g.cmdline, sizeof g.cmdline - 1) : -1;
  if (fd >= 0) sys::close_fd(fd);
  size_t args = 0;
  if (n > 0) {
    g.cmdline[n] = '\0';
    for (long i = 0; i < n && args < kMaxArgs; i += static_cast<long>(strlen(g.cmdline + i)) + 1)
      g.cmdline_argv[args++] = g.cmdline + i;
  }
  g.cmdline_argv[args] = nullptr;
  g.argv = g.cmdline_argv;
}

// "127.0.0.1:PORT" → PORT; 0 when absent or malformed.
uint16_t relay_port_from(const char* value) {
  if (!value) return 0;
  const char* colon = strrchr(value, ':');
  if (!colon || !colon[1]) return 0;
  unsigned port = 0;
  for (const char* c = colon + 1; *c; ++c) {
    if (*c < '0' || *c > '9' || port > 65535) return 0;
    port = port * 10 + static_cast<unsigned>(*c - '0');
  }
  return port <= 65535 ? static_cast<uint16_t>(port) : 0;
}

// Decides who we are from the inherited context. Returns false when tracing is off.
bool adopt_identity() {
  g.pid = sys::pid();
  g.start_ticks = sys::self_start_ticks();
  const char* quiet = getenv("CLAWTRACE_QUIET");
  g.quiet = quiet && *quiet && *quiet != '0';
  const char* capture = getenv("CLAWTRACE_CAPTURE");
  g.capture_all = capture && strcmp(capture, "all") == 0;
  g.relay_port = relay_port_from(getenv("CLAWTRACE_RELAY"));
  if (const char* t = getenv("CLAWTRACE_TAGS")) sys::copy_str(g.tags, sizeof g.tags, t);
  TraceContext in;
  const bool have_ctx = parse_ctx(getenv(kCtxVar), &in);
  if (have_ctx && in.flag == 'x') return false;
  g.self.owner_pid = static_cast<uint64_t>(g.pid);
  if (!have_ctx) {
    uint64_t span = 0;
    if (!parse_traceparent(getenv("TRACEPARENT"), &g.self.trace_hi, &g.self.trace_lo, &span)) {
      g.self.trace_hi = sys::random_id();
      g.self.trace_lo = sys::random_id();
    }
    g.self.session = sys::random_id();
    g.via = wire::Via::root;
  } else {
    g.self.trace_hi = in.trace_hi;
    g.self.trace_lo = in.trace_lo;
    if (in.owner_pid == 0) {
      g.self.session = in.session;  // pre-assigned by `clawtrace run`
      g.via = wire::Via::root;
    } else if (in.owner_pid == static_cast<uint64_t>(g.pid)) {
      g.self.session = in.session;  // exec: same process, same session
      g.via = wire::Via::exec;
    } else {
      g.self.session = sys::random_id();
      g.parent_session = in.session;
      g.parent_span = in.span;
      g.parent_exact = in.owner_pid == static_cast<uint64_t>(sys::ppid());
      g.via = wire::Via::child;
    }
  }
  if (g.via == wire::Via::root) {
    if (const char* n = getenv("CLAWTRACE_NAME")) sys::copy_str(g.name, sizeof g.name, n);
  }
  return true;
}

void init(char** argv) {
  int expected = kUninit;
  if (!g.phase.compare_exchange_strong(expected, kIniting)) {
    if (t_initialising) return;  // re-entered from our own init: stay out of the way
    while (g.phase.load() == kIniting) sched_yield();
    return;
  }
  t_initialising = true;
  const int saved_errno = errno;
  if (argv) g.argv = argv;
  else load_cmdline_argv();
  resolve_store_dir();
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&init), &info) && info.dli_fname &&
      !realpath(info.dli_fname, g.lib_path))
    sys::copy_str(g.lib_path, sizeof g.lib_path, info.dli_fname);
  if (!adopt_identity()) {
    g.phase.store(kDisabled);
  } else {
    write_env_strings();
    putenv(g.ctx_env);
    putenv(g.traceparent_env);
    int fd = open_spool();
    if (fd < 0) {
      disable("creating the spool", errno);
    } else {
      g.fd.store(fd);
      g.phase.store(kActive);
      emit_start(sys::now_ns());
    }
  }
  t_initialising = false;
  errno = saved_errno;
}

}  // namespace

bool tracing() {
  int phase = g.phase.load(std::memory_order_acquire);
  if (phase == kUninit || phase == kIniting) {
    init(nullptr);
    phase = g.phase.load(std::memory_order_acquire);
  }
  return phase == kActive && sys::pid() == g.pid;
}

bool capturing() {
  int phase = g.phase.load(std::memory_order_acquire);
  if (phase == kUninit || phase == kIniting) {
    init(nullptr);
    phase = g.phase.load(std::memory_order_acquire);
  }
  return phase == kActive;
}

uint32_t self_pid() { return static_cast<uint32_t>(g.pid); }

void init_from_constructor(int /*argc*/, char** argv) {
  if (g.phase.load() != kUninit) {
    if (argv && g.argv == g.cmdline_argv) g.argv = argv;  // prefer the real argv
    return;
  }
  init(argv);
}

TraceContext child_context(uint64_t span) {
  TraceContext c = g.self;
  c.owner_pid = static_cast<uint64_t>(g.pid);
  c.span = span;
  return c;
}

TraceContext foreign_child_context() {
  TraceContext c = g.self;
  c.owner_pid = static_cast<uint64_t>(g.pid);  // not our pid: the new image is a child
  c.span = 0;
  return c;
}

ChildEnvSpec child_env_spec(const TraceContext& ctx) {
  return ChildEnvSpec{ctx, g.lib_path, g.store, g.tags, g.quiet};
}

bool environment_ready() { return g.lib_path[0] != '\0' && g.store[0] != '\0'; }

bool in_foreign_child() { return g.phase.load() == kActive && sys::pid() != g.pid; }

void become_fork_child(uint64_t fork_span) {
  // Only system calls and our own memory from here: the parent may have had threads.
  const uint64_t t = sys::now_ns();
  int old = g.fd.exchange(-1);
  if (old >= 0) sys::close_fd(old);  // the parent's spool stays the parent's
  capture_after_fork_child();
  g.parent_session = g.self.session;
  g.parent_span = fork_span;
  g.parent_exact = true;
  g.via = wire::Via::fork;
  g.pid = sys::pid();
  g.start_ticks = sys::self_start_ticks();
  g.self.session = sys::random_id();
  g.self.owner_pid = static_cast<uint64_t>(g.pid);
  g.ended.store(false);
  g.exit_known = false;
  if (g.ctx_env[0]) write_env_strings();
  int fd = open_spool();
  if (fd < 0) {
    disable("creating the spool", errno);
    return;
  }
  g.fd.store(fd);
  emit_start(t);
}

uint64_t new_span_id() { return sys::random_id(); }

bool append_records(const struct iovec* iov, int iovcnt) {
  if (g.phase.load(std::memory_order_acquire) != kActive || sys::pid() != g.pid) return false;
  return append_iov(iov, iovcnt);
}

bool capture_all_http() { return g.capture_all; }

bool is_relay_peer(const struct sockaddr* addr, socklen_t len) {
  if (!g.relay_port) return false;
  if (addr->sa_family == AF_INET) {
    struct sockaddr_in a = {};
    memcpy(&a, addr, len < sizeof a ? len : sizeof a);
    return ntohs(a.sin_port) == g.relay_port && (ntohl(a.sin_addr.s_addr) >> 24) == 127;
  }
  struct sockaddr_in6 a = {};
  memcpy(&a, addr, len < sizeof a ? len : sizeof a);
  static const unsigned char kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const unsigned char* b = a.sin6_addr.s6_addr;
  const bool loop = memcmp(b, kLoop6, 16) == 0 || (memcmp(b, kMapped, 12) == 0 && b[12] == 127);
  return ntohs(a.sin6_port) == g.relay_port && loop;
}

bool format_peer(int fd, char* out, size_t cap) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (syscall(SYS_getpeername, fd, &ss, &len) != 0) return false;
  char addr[INET6_ADDRSTRLEN];
  unsigned port;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<struct sockaddr_in*>(&ss);
    if (!inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr)) return false;
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
    if (!inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr)) return false;
    port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  char digits[8];
  int nd = 0;
  do {
    digits[nd++] = static_cast<char>('0' + port % 10);
    port /= 10;
  } while (port && nd < 7);
  size_t n = sys::copy_str(out, cap, ss.ss_family == AF_INET6 ? "[" : "");
  n += sys::copy_str(out + n, cap - n, addr);
  n += sys::copy_str(out + n, cap - n, ss.ss_family == AF_INET6 ? "]:" : ":");
  while (nd > 0 && n + 1 < cap) out[n++] = digits[--nd];
  out[n] = '\0';
  return true;
}

void emit_spawn(uint64_t span, wire::SpawnKind kind, uint64_t t_ns, pid_t child, int err,
                const char* path, const char* const* argv) {
  capture_drain(false);  // the traffic that led to this spawn goes first
  emit(wire::RecordType::spawn, t_ns, [&](RecordBuilder& b) {
    b.u64(wire::Field::span, span);
    b.u64(wire::Field::kind, static_cast<uint64_t>(kind));
    if (child > 0) b.u64(wire::Field::child_pid, static_cast<uint64_t>(child));
    if (err) b.u64(wire::Field::error, static_cast<uint64_t>(err));
    if (path) b.str(wire::Field::path, path);
    if (argv) b.strv(wire::Field::argv, argv);
  });
}

void emit_spawn_end(uint64_t span, uint64_t t_ns, int wait_status, int err) {
  emit(wire::RecordType::spawn_end, t_ns, [&](RecordBuilder& b) {
    b.u64(wire::Field::span, span);
    if (err) b.u64(wire::Field::error, static_cast<uint64_t>(err));
    else b.u64(wire::Field::wait_status, static_cast<uint64_t>(static_cast<uint32_t>(wait_status)));
  });
}

void emit_reap(pid_t child, int wait_status) {
  emit(wire::RecordType::reap, sys::now_ns(), [&](RecordBuilder& b) {
    b.u64(wire::Field::child_pid, static_cast<uint64_t>(child));
    b.u64(wire::Field::wait_status, static_cast<uint64_t>(static_cast<uint32_t>(wait_status)));
  });
}

void emit_exec(const char* path, const char* const* argv) {
  capture_drain(true);  // the queue dies with this image
  emit(wire::RecordType::exec, sys::now_ns(), [&](RecordBuilder& b) {
    if (path) b.str(wire::Field::path, path);
    b.strv(wire::Field::argv, argv);
  });
}

void emit_exec_failed(int err) {
  emit(wire::RecordType::exec_failed, sys::now_ns(),
       [&](RecordBuilder& b) { b.u64(wire::Field::error, static_cast<uint64_t>(err)); });
}

void note_exit_code(int code) {
  if (sys::pid() != g.pid) return;
  g.exit_code = code;
  g.exit_known = true;
}

void emit_exit(wire::ExitVia via) {
  if (g.phase.load() != kActive || sys::pid() != g.pid || g.ended.exchange(true)) return;
  capture_drain(true);
  emit(wire::RecordType::proc_exit, sys::now_ns(), [&](RecordBuilder& b) {
    b.u64(wire::Field::exit_via, static_cast<uint64_t>(via));
    if (g.exit_known) b.u64(wire::Field::exit_code, static_cast<uint64_t>(static_cast<uint32_t>(g.exit_code)));
  });
}

}  // namespace clawtrace::preload
