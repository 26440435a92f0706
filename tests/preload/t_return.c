/* return from main: the exit code reaches exit() inside __libc_start_main, which the
 * preload cannot interpose, so it comes through the wrapped __libc_start_main.
 * ok = exit code 0, fail = exit code 7. An atexit handler prints a line, so the output
 * shows whether handlers ran (they do after main returns). */
#include "common.h"

static void on_exit_handler(void) { printf("atexit handler ran\n"); }

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|fail");
  const int code = ct_is(mode, "ok") ? 0 : 7;
  atexit(on_exit_handler);
  printf("return: code %d\n", code);
  fflush(stdout);
  return code;
}
