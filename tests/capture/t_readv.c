/* readv(): the standard run (common.h), each read into two iovecs (the first one small). */
#include <sys/uio.h>

#include "common.h"

static long readv_in(struct ct_conn* c, char* p, size_t n) {
  struct iovec v[2] = {{p, n < 7 ? n : 7}, {p + (n < 7 ? n : 7), n < 7 ? 0 : n - 7}};
  return readv(c->fd, v, 2);
}

static long readv_once(int fd) {
  char b[16];
  struct iovec v = {b, sizeof b};
  return readv(fd, &v, 1);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_in = readv_in;
  return ct_standard_run("readv", 1, readv_once);
}
