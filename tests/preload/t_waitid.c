/* waitid(): ok = fork a child that _exit(3)s and reap it with waitid(P_PID); fail = the
 * parent is not a child: ECHILD. */
#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  pid_t pid = getppid();
  if (ct_is(mode, "ok")) {
    fflush(stdout);
    pid = fork();
    if (pid == 0) _exit(3);
    if (pid < 0) return 1;
  }
  siginfo_t info;
  memset(&info, 0, sizeof info);
  errno = CT_SENTINEL;
  int rc = waitid(P_PID, (id_t)pid, &info, WEXITED);
  int err = errno;
  ct_report("waitid", rc, err);
  if (rc == 0)
    printf("child: code=%s status=%d\n", info.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
           info.si_status);
  return 0;
}
