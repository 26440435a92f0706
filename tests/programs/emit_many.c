/* Emits N traced records pairs as fast as the preload allows, without creating processes:
   popen() with an invalid mode fails with EINVAL before forking, yet the wrapper records
   a spawn and its end. argv: N TAG */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  const char* tag = argc > 2 ? argv[2] : "x";
  char cmd[64];
  for (int i = 0; i < n; ++i) {
    snprintf(cmd, sizeof cmd, "%s %d", tag, i);
    if (popen(cmd, "x") != NULL || errno != EINVAL) return 1;
  }
  return 0;
}
