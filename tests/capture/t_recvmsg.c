/* recvmsg(): ok = the standard run (common.h), each read into two iovecs; peek = the same,
 * each recvmsg preceded by a recvmsg(MSG_PEEK) of the same bytes. */
#include "common.h"

static long recvmsg_flags(int fd, char* p, size_t n, int flags) {
  const size_t first = n < 5 ? n : 5;
  struct iovec v[2] = {{p, first}, {p + first, n - first}};
  struct msghdr m = {.msg_iov = v, .msg_iovlen = 2};
  return recvmsg(fd, &m, flags);
}

static long recvmsg_in(struct ct_conn* c, char* p, size_t n) { return recvmsg_flags(c->fd, p, n, 0); }

static long peek_then_recvmsg_in(struct ct_conn* c, char* p, size_t n) {
  char peeked[1024];
  long k = recvmsg_flags(c->fd, peeked, n < sizeof peeked ? n : sizeof peeked, MSG_PEEK);
  if (k <= 0) return k;
  long rc = recvmsg_flags(c->fd, p, (size_t)k, 0);
  if (rc != k || memcmp(peeked, p, (size_t)k) != 0) ct_die("peek and recvmsg differ");
  return rc;
}

static long recvmsg_once(int fd) {
  char b[16];
  return recvmsg_flags(fd, b, sizeof b, 0);
}

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|peek");
  ct_in = ct_is(mode, "peek") ? peek_then_recvmsg_in : recvmsg_in;
  return ct_standard_run("recvmsg", 1, recvmsg_once);
}
