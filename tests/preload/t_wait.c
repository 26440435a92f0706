/* wait(): ok = fork a child that _exit(3)s and reap it with wait(); fail = no children
 * at all: ECHILD. */
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
  long rc = (long)wait(&status);
  int err = errno;
  ct_report("wait", rc > 0 ? 1 : rc, err);
  if (rc > 0) ct_report_status("child", status);
  return 0;
}
