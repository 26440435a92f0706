/* sendmsg(): the standard run (common.h), each send split over three iovecs (the middle
 * one empty). */
#include "common.h"

static long sendmsg_out(struct ct_conn* c, const char* p, size_t n) {
  struct iovec v[3] = {{(void*)p, n / 3}, {(void*)p, 0}, {(void*)(p + n / 3), n - n / 3}};
  struct msghdr m = {.msg_iov = v, .msg_iovlen = 3};
  return sendmsg(c->fd, &m, 0);
}

static long sendmsg_once(int fd) {
  struct iovec v = {"x", 1};
  struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
  return sendmsg(fd, &m, 0);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = sendmsg_out;
  return ct_standard_run("sendmsg", 0, sendmsg_once);
}
