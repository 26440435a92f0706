/* wait4(): ok = fork a child that _exit(3)s and reap it with wait4(); fail = the parent
 * is not a child: ECHILD. */
#include <sys/resource.h>

#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  int status = 0;
  pid_t pid = -1;
  if (ct_is(mode, "ok")) {
    fflush(stdout);
    pid = fork();
    if (pid == 0) _exit(3);
    if (pid < 0) return 1;
  }
  errno = CT_SENTINEL;
  long rc = ct_is(mode, "ok") ? (long)wait4(pid, &status, 0, &(struct rusage){0})
                              : (long)wait4(getppid(), &status, 0, NULL);
  int err = errno;
  ct_report("wait4", rc > 0 ? 1 : rc, err);
  if (rc > 0) ct_report_status("child", status);
  return 0;
}
