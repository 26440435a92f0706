/* writev(): the standard run (common.h), each send split over two iovecs. */
#include <sys/uio.h>

#include "common.h"

static long writev_out(struct ct_conn* c, const char* p, size_t n) {
  struct iovec v[2] = {{(void*)p, n / 2}, {(void*)(p + n / 2), n - n / 2}};
  return writev(c->fd, v, 2);
}

static long writev_once(int fd) {
  struct iovec v = {"x", 1};
  return writev(fd, &v, 1);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = writev_out;
  return ct_standard_run("writev", 0, writev_once);
}
