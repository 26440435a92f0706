/* popen()/pclose(): ok = read a line from sh -c 'echo hello; exit 3' and pclose it;
 * fail = an invalid mode: NULL with EINVAL. */
#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  const int ok = ct_is(mode, "ok");
  fflush(stdout);
  errno = CT_SENTINEL;
  FILE* f = popen("echo hello; exit 3", ok ? "r" : "x");
  int err = errno;
  ct_report("popen", f ? 1 : 0, err);
  if (!f) return 0;
  char line[64] = "";
  if (!fgets(line, sizeof line, f)) line[0] = '\0';
  printf("read: %s", line);
  errno = CT_SENTINEL;
  int rc = pclose(f);
  err = errno;
  ct_report("pclose", rc, err);
  if (rc != -1) ct_report_status("shell", rc);
  return 0;
}
