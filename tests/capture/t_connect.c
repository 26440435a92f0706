/* connect(): ok = blocking connect, one LLM exchange (transcript "llm"); nonblocking = the
 * same after a non-blocking connect completed with poll; refused = connect to a port
 * nobody listens on (ECONNREFUSED) and on a bad descriptor (EBADF). */
#include <poll.h>

#include "common.h"

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  return a;
}

static void connect_nonblocking(struct ct_conn* c) {
  struct sockaddr_in a = loopback(ct_port);
  ct_conn_reset(c);
  c->ssl = NULL;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  errno = CT_SENTINEL;
  int rc = connect(c->fd, (struct sockaddr*)&a, sizeof a);
  /* loopback may finish at once or report EINPROGRESS: print the same either way */
  printf("connect: %s\n", rc == 0 || errno == EINPROGRESS ? "started" : ct_errname(errno));
  struct pollfd p = {c->fd, POLLOUT, 0};
  int err = -1;
  socklen_t len = sizeof err;
  if (poll(&p, 1, 60000) != 1 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    ct_die("waiting for connect");
  printf("connect: completed, SO_ERROR=%s\n", err ? ct_errname(err) : "0");
  fcntl(c->fd, F_SETFL, 0);
}

static void refused(void) {
  /* bound but not listening, and kept bound so nobody else can take the port */
  int bound = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (bound < 0 || bind(bound, (struct sockaddr*)&a, sizeof a) != 0 ||
      getsockname(bound, (struct sockaddr*)&a, &len) != 0)
    ct_die("binding");
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  errno = CT_SENTINEL;
  int rc = connect(fd, (struct sockaddr*)&a, sizeof a);
  ct_report("connect to a closed port", rc, errno);
  close(fd);
  errno = CT_SENTINEL;
  rc = connect(fd, (struct sockaddr*)&a, sizeof a);
  ct_report("connect on a closed descriptor", rc, errno);
  close(bound);
}

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|nonblocking|refused");
  if (ct_is(mode, "refused")) {
    refused();
    return 0;
  }
  struct ct_conn c;
  ct_start_server(1, ct_serve_plain);
  if (ct_is(mode, "ok")) {
    ct_conn_reset(&c);
    c.ssl = NULL;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(ct_port);
    errno = CT_SENTINEL;
    int rc = connect(c.fd, (struct sockaddr*)&a, sizeof a);
    ct_report("connect", rc, errno);
  } else {
    connect_nonblocking(&c);
  }
  ct_llm_exchange(&c, "localhost");
  ct_print_transcript("llm", &c);
  close(c.fd);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
