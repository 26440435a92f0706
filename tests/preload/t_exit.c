/* exit(): ok = exit code 0, fail = exit code 7. An atexit handler prints a line, so the
 * output shows whether handlers ran (they do for exit()). */
#include "common.h"

static void on_exit_handler(void) { printf("atexit handler ran\n"); }

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  const int code = ct_is(mode, "ok") ? 0 : 7;
  atexit(on_exit_handler);
  printf("exit: code %d\n", code);
  fflush(stdout);
  exit(code);
}
