/* recv(): ok = the standard run (common.h); peek = the same, each recv preceded by a
 * recv(MSG_PEEK) of the same bytes (counted once). */
#include "common.h"

static long recv_in(struct ct_conn* c, char* p, size_t n) { return recv(c->fd, p, n, 0); }

static long peek_then_recv_in(struct ct_conn* c, char* p, size_t n) {
  char peeked[1024];
  long k = recv(c->fd, peeked, n < sizeof peeked ? n : sizeof peeked, MSG_PEEK);
  if (k <= 0) return k;
  long rc = recv(c->fd, p, (size_t)k, 0);
  if (rc != k || memcmp(peeked, p, (size_t)k) != 0) ct_die("peek and recv differ");
  return rc;
}

static long recv_once(int fd) {
  char b[16];
  return recv(fd, b, sizeof b, 0);
}

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|peek");
  ct_in = ct_is(mode, "peek") ? peek_then_recv_in : recv_in;
  return ct_standard_run("recv", 1, recv_once);
}
