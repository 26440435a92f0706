/* vfork(): ok = child _exit(3)s; exec = child execs /bin/sh -c 'exit 3'; fail = EAGAIN
 * under RLIMIT_NPROC 0. The parent waits and prints the child's status. */
#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|exec|fail");
  const int exec = ct_is(mode, "exec");
  if (ct_is(mode, "fail")) ct_forbid_processes();
  fflush(stdout);
  errno = CT_SENTINEL;
  pid_t pid = vfork();
  if (pid == 0) {
    if (exec) execl("/bin/sh", "sh", "-c", "exit 3", (char*)NULL);
    _exit(exec ? 127 : 3);
  }
  int err = errno;
  ct_report("vfork", pid < 0 ? -1 : 1, err);
  if (pid > 0) ct_wait_and_report("child", pid);
  return 0;
}
