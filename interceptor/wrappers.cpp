// The exported wrappers: a thin extern "C" shim over runtime.cpp. Each one resolves the
// real function lazily, keeps errno as the real call left it, never lets anything escape
// (the preload is built without exceptions) and does no parsing.
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "guard.h"
#include "runtime.h"
#include "sys.h"

#define CT_EXPORT extern "C" __attribute__((visibility("default")))

extern char** environ;

namespace clawtrace::preload {
namespace {

using spawn_fn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                         const posix_spawnattr_t*, char* const*, char* const*);
using main_fn = int (*)(int, char**, char**);
using start_main_fn = int (*)(main_fn, int, char**, void (*)(), void (*)(), void (*)(), void*);

// The real functions. Resolved on first use; dlsym may allocate, which is fine because
// we do not wrap the allocator.
struct Real {
  pid_t (*fork)();
  pid_t (*fork_raw)();
  spawn_fn posix_spawn;
  spawn_fn posix_spawn_compat;
  spawn_fn posix_spawnp;
  spawn_fn posix_spawnp_compat;
  int (*execve)(const char*, char* const*, char* const*);
  int (*execvpe)(const char*, char* const*, char* const*);
  int (*fexecve)(int, char* const*, char* const*);
  int (*system)(const char*);
  FILE* (*popen)(const char*, const char*);
  int (*pclose)(FILE*);
  pid_t (*wait)(int*);
  pid_t (*waitpid)(pid_t, int*, int);
  pid_t (*wait3)(int*, int, struct rusage*);
  pid_t (*wait4)(pid_t, int*, int, struct rusage*);
  int (*waitid)(idtype_t, id_t, siginfo_t*, int);
  void (*exit)(int);
  void (*exit_now)(int);
  void (*exit_now_c99)(int);
  start_main_fn libc_start_main;
};
Real real;
std::atomic<bool> g_resolved{false};

template <class F>
void bind(F& slot, const char* name, const char* version = nullptr) {
  void* p = version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  slot = reinterpret_cast<F>(p);
}

void resolve() {
  if (g_resolved.load(std::memory_order_acquire)) return;
  Real s{};
  bind(s.fork, "fork");
  bind(s.fork_raw, "_Fork");
  bind(s.posix_spawn, "posix_spawn", "GLIBC_2.15");
  bind(s.posix_spawn_compat, "posix_spawn", "GLIBC_2.2.5");
  bind(s.posix_spawnp, "posix_spawnp", "GLIBC_2.15");
  bind(s.posix_spawnp_compat, "posix_spawnp", "GLIBC_2.2.5");
  bind(s.execve, "execve");
  bind(s.execvpe, "execvpe");
  bind(s.fexecve, "fexecve");
  bind(s.system, "system");
  bind(s.popen, "popen");
  bind(s.pclose, "pclose");
  bind(s.wait, "wait");
  bind(s.waitpid, "waitpid");
  bind(s.wait3, "wait3");
  bind(s.wait4, "wait4");
  bind(s.waitid, "waitid");
  bind(s.exit, "exit");
  bind(s.exit_now, "_exit");
  bind(s.exit_now_c99, "_Exit");
  bind(s.libc_start_main, "__libc_start_main", "GLIBC_2.34");
  if (!s.libc_start_main) bind(s.libc_start_main, "__libc_start_main");
  real = s;
  g_resolved.store(true, std::memory_order_release);
}

// True when this call should be traced (and not a re-entry from our own code).
bool traced(const Guard& g) { return g.entered() && tracing(); }

// FILE* of an open popen() -> its span, so pclose() can close the right span.
constexpr int kPopenSlots = 64;
struct PopenSlot {
  std::atomic<FILE*> file{nullptr};
  uint64_t span = 0;
  uint64_t t_ns = 0;
};
PopenSlot g_popen[kPopenSlots];

void remember_popen(FILE* f, uint64_t span, uint64_t t_ns) {
  for (auto& slot : g_popen) {
    FILE* empty = nullptr;
    if (slot.file.compare_exchange_strong(empty, f)) {
      slot.span = span;
      slot.t_ns = t_ns;
      return;
    }
  }
}

bool forget_popen(FILE* f, uint64_t* span) {
  for (auto& slot : g_popen) {
    FILE* expected = f;
    if (slot.file.load() == f) {
      *span = slot.span;
      slot.file.compare_exchange_strong(expected, nullptr);
      return true;
    }
  }
  return false;
}

pid_t traced_fork(pid_t (*fn)(), wire::SpawnKind kind) {
  Guard g;
  if (!fn) {
    errno = ENOSYS;
    return -1;
  }
  if (!traced(g)) return fn();
  const uint64_t span = new_span_id();
  const uint64_t t0 = sys::now_ns();
  pid_t pid = fn();
  const int err = errno;
  if (pid == 0) {
    become_fork_child(span);
  } else {
    emit_spawn(span, kind, t0, pid, pid < 0 ? err : 0, nullptr, nullptr);
  }
  errno = err;
  return pid;
}

int traced_spawn(spawn_fn fn, wire::SpawnKind kind, pid_t* pid, const char* path,
                 const posix_spawn_file_actions_t* fa, const posix_spawnattr_t* attr,
                 char* const argv[], char* const envp[]) {
  Guard g;
  if (!fn) return ENOSYS;
  if (!traced(g)) return fn(pid, path, fa, attr, argv, envp);
  const uint64_t span = new_span_id();
  const uint64_t t0 = sys::now_ns();
  Scratch scratch;
  char** env = build_child_env(envp, child_env_spec(child_context(span)), scratch);
  pid_t child = 0;
  int rc = fn(&child, path, fa, attr, argv, env ? env : envp);
  // glibc's spawn child shares our memory and may set errno (ENOENT from its exec): keep it.
  const int after = errno;
  if (pid && rc == 0) *pid = child;
  emit_spawn(span, kind, t0, rc == 0 ? child : 0, rc, path, argv);
  errno = after;
  return rc;
}

// Rewrites envp for an exec from this process and records it. Returns the envp to use.
char* const* prepare_exec(const char* path, char* const argv[], char* const envp[],
                          Scratch& scratch, bool* recorded) {
  *recorded = false;
  if (!environment_ready()) return envp;
  if (tracing()) {
    emit_exec(path, argv);
    *recorded = true;
    char** env = build_child_env(envp, child_env_spec(child_context(0)), scratch);
    // owner = our pid: the new image continues this session.
    return env ? env : envp;
  }
  // Tracing is off here (store failure: the flag in environ keeps children quiet).
  if (!in_foreign_child()) return envp;
  // A child we did not fork ourselves (raw clone/vfork): our memory may be its parent's,
  // so touch nothing; the new image links itself as a child of the session we know.
  char** env = build_child_env(envp, child_env_spec(foreign_child_context()), scratch);
  return env ? env : envp;
}

void after_failed_exec(bool recorded, int err) {
  if (recorded) emit_exec_failed(err);
  errno = err;
}

int traced_execve(const char* path, char* const argv[], char* const envp[]) {
  Guard g;
  if (!g.entered()) return real.execve(path, argv, envp);
  Scratch scratch;
  bool recorded;
  char* const* env = prepare_exec(path, argv, envp, scratch, &recorded);
  int rc = real.execve(path, argv, env);
  after_failed_exec(recorded, errno);
  return rc;
}

int traced_execvpe(const char* file, char* const argv[], char* const envp[]) {
  Guard g;
  if (!g.entered()) return real.execvpe(file, argv, envp);
  Scratch scratch;
  bool recorded;
  char* const* env = prepare_exec(file, argv, envp, scratch, &recorded);
  int rc = real.execvpe(file, argv, env);
  after_failed_exec(recorded, errno);
  return rc;
}

// Collects execl-style arguments (after `first`) into a NULL-terminated array.
char** collect_args(const char* first, va_list ap, Scratch& scratch, char*** envp_out) {
  va_list count;
  va_copy(count, ap);
  size_t n = 1;
  while (va_arg(count, char*)) ++n;
  va_end(count);
  char** argv = reinterpret_cast<char**>(scratch.reserve((n + 1) * sizeof(char*)));
  if (!argv) return nullptr;
  argv[0] = const_cast<char*>(first);
  for (size_t i = 1; i <= n; ++i) argv[i] = va_arg(ap, char*);  // includes the NULL
  if (envp_out) *envp_out = va_arg(ap, char**);
  return argv;
}

}  // namespace
}  // namespace clawtrace::preload

using namespace clawtrace;
using namespace clawtrace::preload;

__attribute__((constructor)) static void clawtrace_on_load(int argc, char** argv, char**) {
  resolve();
  init_from_constructor(argc, argv);
}

__attribute__((destructor)) static void clawtrace_on_unload() { emit_exit(wire::ExitVia::destructor); }

// ---- process lifetime ------------------------------------------------------------------

namespace {
main_fn g_main = nullptr;
int main_trampoline(int argc, char** argv, char** envp) {
  int rc = g_main(argc, argv, envp);
  note_exit_code(rc);  // proc_exit is written by the destructor, after atexit handlers
  return rc;
}
int start_main(main_fn main, int argc, char** argv, void (*init)(), void (*fini)(),
               void (*rtld_fini)(), void* stack_end) {
  resolve();
  g_main = main;
  return real.libc_start_main(main_trampoline, argc, argv, init, fini, rtld_fini, stack_end);
}
}  // namespace

CT_EXPORT int clawtrace_libc_start_main(main_fn main, int argc, char** argv, void (*init)(),
                                        void (*fini)(), void (*rtld_fini)(), void* stack_end) {
  return start_main(main, argc, argv, init, fini, rtld_fini, stack_end);
}
CT_EXPORT int clawtrace_libc_start_main_compat(main_fn main, int argc, char** argv,
                                               void (*init)(), void (*fini)(),
                                               void (*rtld_fini)(), void* stack_end) {
  return start_main(main, argc, argv, init, fini, rtld_fini, stack_end);
}
__asm__(".symver clawtrace_libc_start_main,__libc_start_main@@GLIBC_2.34");
__asm__(".symver clawtrace_libc_start_main_compat,__libc_start_main@GLIBC_2.2.5");

CT_EXPORT void exit(int code) {
  resolve();
  note_exit_code(code);
  real.exit(code);
  __builtin_unreachable();
}

CT_EXPORT void _exit(int code) {
  resolve();
  note_exit_code(code);
  emit_exit(wire::ExitVia::exit_now);
  real.exit_now(code);
  __builtin_unreachable();
}

CT_EXPORT void _Exit(int code) {
  resolve();
  note_exit_code(code);
  emit_exit(wire::ExitVia::exit_now);
  real.exit_now_c99(code);
  __builtin_unreachable();
}

// ---- fork family -----------------------------------------------------------------------

CT_EXPORT pid_t fork(void) {
  resolve();
  return traced_fork(real.fork, wire::SpawnKind::fork);
}

// vfork runs as fork: a wrapper cannot return into a vfork child safely (the child would
// clobber the parent's stack frame). Programs that use vfork correctly only exec or
// _exit in the child, and those behave the same under fork.
CT_EXPORT pid_t vfork(void) {
  resolve();
  return traced_fork(real.fork, wire::SpawnKind::vfork);
}

CT_EXPORT pid_t _Fork(void) {
  resolve();
  return traced_fork(real.fork_raw, wire::SpawnKind::fork_raw);
}

CT_EXPORT int clawtrace_posix_spawn(pid_t* pid, const char* path,
                                    const posix_spawn_file_actions_t* fa,
                                    const posix_spawnattr_t* attr, char* const argv[],
                                    char* const envp[]) {
  resolve();
  return traced_spawn(real.posix_spawn, wire::SpawnKind::posix_spawn, pid, path, fa, attr, argv, envp);
}
CT_EXPORT int clawtrace_posix_spawn_compat(pid_t* pid, const char* path,
                                           const posix_spawn_file_actions_t* fa,
                                           const posix_spawnattr_t* attr, char* const argv[],
                                           char* const envp[]) {
  resolve();
  return traced_spawn(real.posix_spawn_compat, wire::SpawnKind::posix_spawn, pid, path, fa, attr, argv, envp);
}
CT_EXPORT int clawtrace_posix_spawnp(pid_t* pid, const char* file,
                                     const posix_spawn_file_actions_t* fa,
                                     const posix_spawnattr_t* attr, char* const argv[],
                                     char* const envp[]) {
  resolve();
  return traced_spawn(real.posix_spawnp, wire::SpawnKind::posix_spawnp, pid, file, fa, attr, argv, envp);
}
CT_EXPORT int clawtrace_posix_spawnp_compat(pid_t* pid, const char* file,
                                            const posix_spawn_file_actions_t* fa,
                                            const posix_spawnattr_t* attr, char* const argv[],
                                            char* const envp[]) {
  resolve();
  return traced_spawn(real.posix_spawnp_compat, wire::SpawnKind::posix_spawnp, pid, file, fa, attr, argv, envp);
}
__asm__(".symver clawtrace_posix_spawn,posix_spawn@@GLIBC_2.15");
__asm__(".symver clawtrace_posix_spawn_compat,posix_spawn@GLIBC_2.2.5");
__asm__(".symver clawtrace_posix_spawnp,posix_spawnp@@GLIBC_2.15");
__asm__(".symver clawtrace_posix_spawnp_compat,posix_spawnp@GLIBC_2.2.5");

// ---- exec family -----------------------------------------------------------------------

CT_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  resolve();
  return traced_execve(path, argv, envp);
}

CT_EXPORT int execv(const char* path, char* const argv[]) {
  resolve();
  return traced_execve(path, argv, environ);
}

CT_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  resolve();
  return traced_execvpe(file, argv, envp);
}

CT_EXPORT int execvp(const char* file, char* const argv[]) {
  resolve();
  return traced_execvpe(file, argv, environ);
}

CT_EXPORT int execl(const char* path, const char* arg, ...) {
  resolve();
  Scratch scratch;
  va_list ap;
  va_start(ap, arg);
  char** argv = collect_args(arg, ap, scratch, nullptr);
  va_end(ap);
  if (!argv) {
    errno = ENOMEM;
    return -1;
  }
  return traced_execve(path, argv, environ);
}

CT_EXPORT int execlp(const char* file, const char* arg, ...) {
  resolve();
  Scratch scratch;
  va_list ap;
  va_start(ap, arg);
  char** argv = collect_args(arg, ap, scratch, nullptr);
  va_end(ap);
  if (!argv) {
    errno = ENOMEM;
    return -1;
  }
  return traced_execvpe(file, argv, environ);
}

CT_EXPORT int execle(const char* path, const char* arg, ...) {
  resolve();
  Scratch scratch;
  char** envp = nullptr;
  va_list ap;
  va_start(ap, arg);
  char** argv = collect_args(arg, ap, scratch, &envp);
  va_end(ap);
  if (!argv) {
    errno = ENOMEM;
    return -1;
  }
  return traced_execve(path, argv, envp);
}

CT_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
  resolve();
  Guard g;
  if (!g.entered()) return real.fexecve(fd, argv, envp);
  Scratch scratch;
  bool recorded;
  char* const* env = prepare_exec(nullptr, argv, envp, scratch, &recorded);
  int rc = real.fexecve(fd, argv, env);
  after_failed_exec(recorded, errno);
  return rc;
}

// ---- system / popen --------------------------------------------------------------------

CT_EXPORT int system(const char* command) {
  resolve();
  Guard g;
  if (!command || !traced(g)) return real.system(command);
  const uint64_t span = new_span_id();
  const uint64_t t0 = sys::now_ns();
  const char* argv[] = {"/bin/sh", "-c", command, nullptr};
  emit_spawn(span, wire::SpawnKind::system, t0, 0, 0, "/bin/sh", argv);
  int rc = real.system(command);
  const int err = errno;
  emit_spawn_end(span, sys::now_ns(), rc, rc == -1 ? err : 0);
  errno = err;
  return rc;
}

CT_EXPORT FILE* popen(const char* command, const char* mode) {
  resolve();
  Guard g;
  if (!command || !traced(g)) return real.popen(command, mode);
  const uint64_t span = new_span_id();
  const uint64_t t0 = sys::now_ns();
  const char* argv[] = {"/bin/sh", "-c", command, nullptr};
  emit_spawn(span, wire::SpawnKind::popen, t0, 0, 0, "/bin/sh", argv);
  FILE* f = real.popen(command, mode);
  const int err = errno;
  if (f) remember_popen(f, span, t0);
  else emit_spawn_end(span, sys::now_ns(), 0, err ? err : EINVAL);
  errno = err;
  return f;
}

CT_EXPORT int pclose(FILE* stream) {
  resolve();
  Guard g;
  uint64_t span = 0;
  const bool known = g.entered() && forget_popen(stream, &span);
  int rc = real.pclose(stream);
  const int err = errno;
  if (known && tracing()) emit_spawn_end(span, sys::now_ns(), rc, rc == -1 ? err : 0);
  errno = err;
  return rc;
}

// ---- wait family -----------------------------------------------------------------------

namespace {
// Records a child's final status; stopped/continued reports are not ends.
void reaped(pid_t pid, int status) {
  if (pid <= 0 || !(WIFEXITED(status) || WIFSIGNALED(status))) return;
  const int err = errno;
  if (tracing()) emit_reap(pid, status);
  errno = err;
}
}  // namespace

CT_EXPORT pid_t wait(int* status) {
  resolve();
  Guard g;
  int local = 0;
  pid_t pid = real.wait(status ? status : &local);
  if (g.entered()) reaped(pid, status ? *status : local);
  return pid;
}

CT_EXPORT pid_t waitpid(pid_t which, int* status, int options) {
  resolve();
  Guard g;
  int local = 0;
  pid_t pid = real.waitpid(which, status ? status : &local, options);
  if (g.entered()) reaped(pid, status ? *status : local);
  return pid;
}

CT_EXPORT pid_t wait3(int* status, int options, struct rusage* usage) {
  resolve();
  Guard g;
  int local = 0;
  pid_t pid = real.wait3(status ? status : &local, options, usage);
  if (g.entered()) reaped(pid, status ? *status : local);
  return pid;
}

CT_EXPORT pid_t wait4(pid_t which, int* status, int options, struct rusage* usage) {
  resolve();
  Guard g;
  int local = 0;
  pid_t pid = real.wait4(which, status ? status : &local, options, usage);
  if (g.entered()) reaped(pid, status ? *status : local);
  return pid;
}

CT_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t* info, int options) {
  resolve();
  Guard g;
  int rc = real.waitid(idtype, id, info, options);
  if (rc == 0 && g.entered() && info && info->si_pid > 0) {
    int status = -1;
    if (info->si_code == CLD_EXITED) status = (info->si_status & 0xff) << 8;
    else if (info->si_code == CLD_KILLED) status = info->si_status & 0x7f;
    else if (info->si_code == CLD_DUMPED) status = (info->si_status & 0x7f) | 0x80;
    if (status >= 0) reaped(info->si_pid, status);
  }
  return rc;
}
