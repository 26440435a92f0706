/* execvpe(): PATH search with a custom envp (CT_MARK must reach sh unchanged).
 * ok = the process image becomes sh, which prints a line and exits 3 (same pid, so the
 * same session); fail = ENOENT for a name found nowhere on PATH, then main returns 0. */
#include "common.h"

#define CT_SCRIPT "echo from sh mark=$CT_MARK; exit 3"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  char* sh_argv[] = {"sh", "-c", CT_SCRIPT, NULL};
  char* bad_argv[] = {"clawtrace-no-such-program", NULL};
  char* envp[] = {"CT_MARK=custom", "PATH=/usr/bin:/bin", NULL};
  printf("execvpe: %s\n", mode);
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = ct_is(mode, "ok") ? execvpe("sh", sh_argv, envp)
                             : execvpe("clawtrace-no-such-program", bad_argv, envp);
  ct_report("execvpe", rc, errno);
  return 0;
}
