/* execv(): path and argv.
 * ok = the process image becomes sh, which prints a line and exits 3 (same pid, so the
 * same session); fail = ENOENT for a path that does not exist, then main returns 0. */
#include "common.h"

#define CT_SCRIPT "echo from sh mark=$CT_MARK; exit 3"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  char* sh_argv[] = {"sh", "-c", CT_SCRIPT, NULL};
  char* bad_argv[] = {"clawtrace-no-such-program", NULL};
  printf("execv: %s\n", mode);
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = ct_is(mode, "ok") ? execv("/bin/sh", sh_argv)
                             : execv("/nonexistent/clawtrace-no-such-program", bad_argv);
  ct_report("execv", rc, errno);
  return 0;
}
