/* posix_spawn / posix_spawnp, built four times: -DCT_SPAWNP selects posix_spawnp and
 * -DCT_COMPAT binds the call to the old GLIBC_2.2.5 symbol version instead of the
 * default GLIBC_2.15 one. ok = spawn sh -c 'exit 3' and wait; fail = spawn a file that
 * does not exist: ENOENT as the return value. Errno after the call is printed too. */
#include <spawn.h>

#include "common.h"

#ifdef CT_SPAWNP
#define CT_FN posix_spawnp
#define CT_NAME "posix_spawnp"
#define CT_OK_FILE "sh"
#define CT_BAD_FILE "clawtrace-no-such-program"
#ifdef CT_COMPAT
__asm__(".symver posix_spawnp,posix_spawnp@GLIBC_2.2.5");
#endif
#else
#define CT_FN posix_spawn
#define CT_NAME "posix_spawn"
#define CT_OK_FILE "/bin/sh"
#define CT_BAD_FILE "/nonexistent/clawtrace-no-such-program"
#ifdef CT_COMPAT
__asm__(".symver posix_spawn,posix_spawn@GLIBC_2.2.5");
#endif
#endif

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  const int ok = ct_is(mode, "ok");
  char* child_argv[] = {"sh", "-c", "exit 3", NULL};
  pid_t pid = 0;
  fflush(stdout);
  errno = CT_SENTINEL;
  int rc = CT_FN(&pid, ok ? CT_OK_FILE : CT_BAD_FILE, NULL, NULL, child_argv, environ);
  int err = errno;
  printf("%s: returned %s errno=%s\n", CT_NAME, rc == 0 ? "0" : ct_errname(rc), ct_errname(err));
  if (rc == 0) ct_wait_and_report("child", pid);
  return 0;
}
