/* dup2(), dup3(), close_range(): descriptors closed on the program's behalf. One LLM
 * exchange per connection, then the connection's number is taken over (dup2/dup3 of
 * /dev/null onto it, or close_range and a reopen that gets the same number) and written
 * to: that must not be captured, the connection ended with its conn_close.
 * Modes: dup2, dup3, close_range. Transcript "first". */
#include <fcntl.h>
#include <linux/close_range.h>

#include "common.h"

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "dup2|dup3|close_range");
  struct ct_conn c;
  ct_start_server(1, ct_serve_plain);
  ct_connect(&c);
  ct_llm_exchange(&c, "localhost");
  ct_print_transcript("first", &c);
  int null_fd = open("/dev/null", O_WRONLY);
  int rc;
  errno = CT_SENTINEL;
  if (ct_is(mode, "dup2")) {
    rc = dup2(null_fd, c.fd);
  } else if (ct_is(mode, "dup3")) {
    rc = dup3(null_fd, c.fd, O_CLOEXEC);
  } else {
    rc = close_range((unsigned)c.fd, (unsigned)c.fd, 0);
    int again = open("/dev/null", O_WRONLY);  /* lowest free number: the connection's */
    printf("reopened on the same number: %s\n", again == c.fd ? "yes" : "no");
  }
  ct_report(mode, rc, errno);
  const char junk[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n";
  rc = (int)write(c.fd, junk, sizeof junk - 1);
  printf("write to the old number: %d\n", rc);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
