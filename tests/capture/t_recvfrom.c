/* recvfrom(): ok = the standard run (common.h), asking for the sender's address; peek =
 * the same, each recvfrom preceded by a recvfrom(MSG_PEEK) of the same bytes. */
#include "common.h"

static long recvfrom_flags(int fd, char* p, size_t n, int flags) {
  struct sockaddr_in from;
  socklen_t len = sizeof from;
  return recvfrom(fd, p, n, flags, (struct sockaddr*)&from, &len);
}

static long recvfrom_in(struct ct_conn* c, char* p, size_t n) {
  return recvfrom_flags(c->fd, p, n, 0);
}

static long peek_then_recvfrom_in(struct ct_conn* c, char* p, size_t n) {
  char peeked[1024];
  long k = recvfrom_flags(c->fd, peeked, n < sizeof peeked ? n : sizeof peeked, MSG_PEEK);
  if (k <= 0) return k;
  long rc = recvfrom_flags(c->fd, p, (size_t)k, 0);
  if (rc != k || memcmp(peeked, p, (size_t)k) != 0) ct_die("peek and recvfrom differ");
  return rc;
}

static long recvfrom_once(int fd) {
  char b[16];
  return recvfrom_flags(fd, b, sizeof b, 0);
}

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|peek");
  ct_in = ct_is(mode, "peek") ? peek_then_recvfrom_in : recvfrom_in;
  return ct_standard_run("recvfrom", 1, recvfrom_once);
}
