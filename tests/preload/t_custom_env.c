/* A child started with an environment that has no LD_PRELOAD and no CLAWTRACE_* or
 * TRACEPARENT variables must still be traced and linked to us.
 * execve = fork, then the child execve()s sh with envp {PATH} only;
 * spawn = posix_spawn() sh with envp {PATH} only.
 * In both, sh runs /bin/true (a traced grandchild when the preload came through) and
 * exits 5; the parent waits and prints the status. */
#include <spawn.h>

#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "execve|spawn");
  char* sh_argv[] = {"sh", "-c", "/bin/true; exit 5", NULL};
  char* envp[] = {"PATH=/usr/bin:/bin", NULL};
  pid_t pid = -1;
  fflush(stdout);
  if (ct_is(mode, "execve")) {
    pid = fork();
    if (pid == 0) {
      execve("/bin/sh", sh_argv, envp);
      _exit(127);
    }
  } else {
    int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, sh_argv, envp);
    if (rc != 0) pid = -1;
  }
  if (pid < 0) {
    printf("%s: could not start the child\n", mode);
    return 1;
  }
  ct_wait_and_report("child", pid);
  return 0;
}
