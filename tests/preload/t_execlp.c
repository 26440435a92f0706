/* execlp(): varargs argv, PATH search.
 * ok = the process image becomes sh, which prints a line and exits 3 (same pid, so the
 * same session); fail = ENOENT for a name found nowhere on PATH, then main returns 0. */
#include "common.h"

#define CT_SCRIPT "echo from sh mark=$CT_MARK; exit 3"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  printf("execlp: %s\n", mode);
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = ct_is(mode, "ok") ? execlp("sh", "sh", "-c", CT_SCRIPT, (char*)NULL)
                             : execlp("clawtrace-no-such-program", "x", (char*)NULL);
  ct_report("execlp", rc, errno);
  return 0;
}
