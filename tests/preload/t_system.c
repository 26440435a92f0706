/* system(): ok = system("exit 3"); fail = with SIGCHLD ignored the kernel reaps the shell
 * itself, so system()'s waitpid fails and it returns -1 with ECHILD; nested = the shell
 * starts a program of its own: system("/bin/true; exit 3"). */
#include <signal.h>

#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail|nested");
  if (ct_is(mode, "fail")) signal(SIGCHLD, SIG_IGN);
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = system(ct_is(mode, "nested") ? "/bin/true; exit 3" : "exit 3");
  int err = errno;
  ct_report("system", rc, err);
  if (rc != -1) ct_report_status("shell", rc);
  return 0;
}
