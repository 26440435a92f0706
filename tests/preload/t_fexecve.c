/* fexecve(): ok = execute /bin/sh through a descriptor (sh prints a line and exits 3; same
 * session); fail = a descriptor of /dev/null, which is not executable: EACCES. */
#include <fcntl.h>

#include "common.h"

#define CT_SCRIPT "echo from sh mark=$CT_MARK; exit 3"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  char* sh_argv[] = {"sh", "-c", CT_SCRIPT, NULL};
  int fd = open(ct_is(mode, "ok") ? "/bin/sh" : "/dev/null", O_RDONLY);
  if (fd < 0) {
    printf("fexecve: cannot open (%s)\n", ct_errname(errno));
    return 1;
  }
  printf("fexecve: %s\n", mode);
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = fexecve(fd, sh_argv, environ);
  ct_report("fexecve", rc, errno);
  return 0;
}
