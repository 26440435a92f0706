/* fork(): ok = child _exit(3)s, parent waits; fail = EAGAIN under RLIMIT_NPROC 0;
 * work = fork without exec, both sides do traced work: the child runs system("true")
 * and exit(3)s, the parent waits for it; signal = the child dies of SIGKILL (it can
 * never report its own end), the parent waits for it. */
#include <signal.h>

#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail|work|signal");
  if (ct_is(mode, "fail")) ct_forbid_processes();
  fflush(stdout);
  errno = CT_SENTINEL;
  pid_t pid = fork();
  int err = errno;
  if (pid == 0) {
    if (ct_is(mode, "work")) {
      int rc = system("true");
      printf("child: system(true) -> %d\n", rc);
      exit(3);
    }
    if (ct_is(mode, "signal")) kill(getpid(), SIGKILL);
    _exit(3);
  }
  ct_report("fork", pid < 0 ? -1 : 1, err);
  if (pid > 0) ct_wait_and_report("child", pid);
  return 0;
}
