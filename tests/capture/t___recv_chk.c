/* __recv_chk() (what recv() becomes under _FORTIFY_SOURCE): ok = the standard run
 * (common.h), calling it directly; peek = each call preceded by a MSG_PEEK one. */
#include "common.h"

extern ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags);

static long recv_chk_in(struct ct_conn* c, char* p, size_t n) {
  return __recv_chk(c->fd, p, n, n, 0);
}

static long peek_then_recv_chk_in(struct ct_conn* c, char* p, size_t n) {
  char peeked[1024];
  const size_t want = n < sizeof peeked ? n : sizeof peeked;
  long k = __recv_chk(c->fd, peeked, want, sizeof peeked, MSG_PEEK);
  if (k <= 0) return k;
  long rc = __recv_chk(c->fd, p, (size_t)k, n, 0);
  if (rc != k || memcmp(peeked, p, (size_t)k) != 0) ct_die("peek and __recv_chk differ");
  return rc;
}

static long recv_chk_once(int fd) {
  char b[16];
  return __recv_chk(fd, b, sizeof b, sizeof b, 0);
}

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|peek");
  ct_in = ct_is(mode, "peek") ? peek_then_recv_chk_in : recv_chk_in;
  return ct_standard_run("__recv_chk", 1, recv_chk_once);
}
