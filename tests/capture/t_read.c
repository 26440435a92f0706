/* read(): the standard run (common.h). */
#include "common.h"

static long read_once(int fd) {
  char b[16];
  return read(fd, b, sizeof b);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_in = ct_read_in;
  return ct_standard_run("read", 1, read_once);
}
