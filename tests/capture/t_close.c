/* close(): one LLM exchange, close (the connection ends: conn_close), a second connection
 * that gets the same descriptor number (a new connection, not the old one continued),
 * close, and close again (EBADF). Transcripts "first" and "second". */
#include "common.h"

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  struct ct_conn c;
  ct_start_server(2, ct_serve_plain);
  ct_connect(&c);
  ct_llm_exchange(&c, "localhost");
  ct_print_transcript("first", &c);
  const int first_fd = c.fd;
  errno = CT_SENTINEL;
  int rc = close(c.fd);
  ct_report("close", rc, errno);

  ct_connect(&c);
  printf("same descriptor number: %s\n", c.fd == first_fd ? "yes" : "no");
  ct_llm_exchange(&c, "localhost");
  ct_print_transcript("second", &c);
  errno = CT_SENTINEL;
  rc = close(c.fd);
  ct_report("close", rc, errno);
  errno = CT_SENTINEL;
  rc = close(c.fd);
  ct_report("close again", rc, errno);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
