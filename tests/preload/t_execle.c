/* execle(): varargs argv then a custom envp (CT_MARK must reach sh unchanged).
 * ok = the process image becomes sh, which prints a line and exits 3 (same pid, so the
 * same session); fail = ENOENT for a path that does not exist, then main returns 0. */
#include "common.h"

#define CT_SCRIPT "echo from sh mark=$CT_MARK; exit 3"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  char* envp[] = {"CT_MARK=custom", "PATH=/usr/bin:/bin", NULL};
  printf("execle: %s\n", mode);
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = ct_is(mode, "ok")
               ? execle("/bin/sh", "sh", "-c", CT_SCRIPT, (char*)NULL, envp)
               : execle("/nonexistent/clawtrace-no-such-program", "x", (char*)NULL, envp);
  ct_report("execle", rc, errno);
  return 0;
}
