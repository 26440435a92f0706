/* execl(): varargs argv.
 * ok = the process image becomes sh, which prints a line and exits 3 (same pid, so the
 * same session); fail = ENOENT for a path that does not exist, then main returns 0. */
#include "common.h"

#define CT_SCRIPT "echo from sh mark=$CT_MARK; exit 3"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  printf("execl: %s\n", mode);
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = ct_is(mode, "ok") ? execl("/bin/sh", "sh", "-c", CT_SCRIPT, (char*)NULL)
                             : execl("/nonexistent/clawtrace-no-such-program", "x", (char*)NULL);
  ct_report("execl", rc, errno);
  return 0;
}
