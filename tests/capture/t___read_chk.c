/* __read_chk() (what read() becomes under _FORTIFY_SOURCE): the standard run (common.h),
 * calling it directly. */
#include "common.h"

extern ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen);

static long read_chk_in(struct ct_conn* c, char* p, size_t n) { return __read_chk(c->fd, p, n, n); }

static long read_chk_once(int fd) {
  char b[16];
  return __read_chk(fd, b, sizeof b, sizeof b);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_in = read_chk_in;
  return ct_standard_run("__read_chk", 1, read_chk_once);
}
