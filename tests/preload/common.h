/* Shared helpers of the preload test programs (tests/preload/t_*.c).
 *
 * Every program takes one argument, the variant: "ok" uses the function successfully,
 * "fail" makes the real libc call fail with a real errno; a few programs have extra
 * variants. Programs print only deterministic lines (no pids, no addresses), so the
 * test can require byte-identical stdout with and without the preload. Errno is printed
 * by name, after being set to a sentinel (EDOM) before the call, so a wrapper that
 * changes errno in any way shows up as a difference.
 *
 * Exit code 77 means "this variant cannot run here" (the test skips, printing stdout). */
#ifndef CLAWTRACE_TESTS_PRELOAD_COMMON_H
#define CLAWTRACE_TESTS_PRELOAD_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#define CT_SKIP 77
#define CT_SENTINEL EDOM /* errno value set before each call under test */

static inline const char* ct_errname(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : "E?";
}

/* The variant, one of the '|'-separated words of `allowed`, or exit 2 with a usage line. */
static inline const char* ct_mode(int argc, char** argv, const char* allowed) {
  if (argc == 2 && argv[1][0]) {
    size_t n = strlen(argv[1]);
    for (const char* p = allowed; (p = strstr(p, argv[1])) != NULL; p += n)
      if ((p == allowed || p[-1] == '|') && (p[n] == '|' || p[n] == '\0')) return argv[1];
  }
  fprintf(stderr, "usage: %s %s\n", argv[0], allowed);
  exit(2);
}

static inline int ct_is(const char* mode, const char* want) { return strcmp(mode, want) == 0; }

/* "<what>: rc=<rc> errno=<NAME>" */
static inline void ct_report(const char* what, long rc, int err) {
  printf("%s: rc=%ld errno=%s\n", what, rc, ct_errname(err));
}

/* "<what>: exited N" / "killed by signal N" / "status 0x..." */
static inline void ct_report_status(const char* what, int status) {
  if (WIFEXITED(status))
    printf("%s: exited %d\n", what, WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    printf("%s: killed by signal %d\n", what, WTERMSIG(status));
  else
    printf("%s: status 0x%x\n", what, (unsigned)status);
}

/* Makes every later fork() fail with EAGAIN: RLIMIT_NPROC = 0 applies only to processes
 * without CAP_SYS_RESOURCE/CAP_SYS_ADMIN, so as root we first become uid/gid 65534
 * (nobody), which drops all capabilities. Exits CT_SKIP when that is not possible. */
static inline void ct_forbid_processes(void) {
  if (geteuid() == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
      printf(
          "skip: running as root and cannot drop to uid 65534 (%s), so RLIMIT_NPROC "
          "cannot make fork fail\n",
          ct_errname(errno));
      exit(CT_SKIP);
    }
  }
  struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_NPROC, &none) != 0) {
    printf("skip: setrlimit(RLIMIT_NPROC) failed (%s)\n", ct_errname(errno));
    exit(CT_SKIP);
  }
  fflush(stdout);
}

/* Waits for `pid` with waitpid and prints its status. */
static inline void ct_wait_and_report(const char* what, pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    printf("%s: waitpid failed errno=%s\n", what, ct_errname(errno));
    return;
  }
  ct_report_status(what, status);
}

#endif
