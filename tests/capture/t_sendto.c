/* sendto(): the standard run (common.h), no address (the socket is connected). */
#include "common.h"

static long sendto_out(struct ct_conn* c, const char* p, size_t n) {
  return sendto(c->fd, p, n, 0, NULL, 0);
}
static long sendto_once(int fd) { return sendto(fd, "x", 1, 0, NULL, 0); }

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = sendto_out;
  return ct_standard_run("sendto", 0, sendto_once);
}
