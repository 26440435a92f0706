/* _Fork() (glibc 2.34): ok = child _exit(3)s, parent waits; fail = EAGAIN under
 * RLIMIT_NPROC 0. */
#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  if (ct_is(mode, "fail")) ct_forbid_processes();
  fflush(stdout);
  errno = CT_SENTINEL;
  pid_t pid = _Fork();
  int err = errno;
  if (pid == 0) _exit(3);
  ct_report("_Fork", pid < 0 ? -1 : 1, err);
  if (pid > 0) ct_wait_and_report("child", pid);
  return 0;
}
