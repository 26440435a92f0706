/* write(): ok = the standard run (common.h); large = a 300 KB request in one write and a
 * long SSE stream back; keepalive = a page request to a non-LLM host, then an LLM request on
 * the same connection (captured from there on: transcript "llm"); fork = a fork child
 * writes a request of its own on the parent's connection and closes its copy, the parent
 * goes on (transcript "parent": what the parent itself sent and received); binary = binary
 * bytes first, then an LLM request on the same connection (never captured); h2 = the
 * HTTP/2 preface on two connections (one conn_note, nothing captured). */
#include "common.h"

static long write_once(int fd) { return write(fd, "x", 1); }

static void fork_child_writes(struct ct_conn* c) {
  char* req = ct_llm_request("localhost", 100, 2);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    size_t n = strlen(req);
    if (write(c->fd, req, n) != (long)n) _exit(1);
    close(c->fd);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  printf("child: exited %d\n", WEXITSTATUS(status));
  free(req);
  ct_receive_response(c);  /* the answer to the child's request arrives here */
}

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|large|keepalive|fork|binary|h2");
  ct_out = ct_write_out;
  if (ct_is(mode, "ok")) return ct_standard_run("write", 0, write_once);

  ct_start_server(ct_is(mode, "h2") ? 2 : 1, ct_serve_plain);
  struct ct_conn c;
  ct_connect(&c);
  if (ct_is(mode, "large")) {
    char* req = ct_llm_request("localhost", 300 * 1024, 3000);
    ct_exchange(&c, req);
    free(req);
    ct_print_transcript("llm", &c);
  } else if (ct_is(mode, "keepalive")) {
    ct_exchange(&c, "GET /index.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n");
    ct_conn_reset(&c);
    ct_llm_exchange(&c, "www.example.org");
    ct_print_transcript("llm", &c);
  } else if (ct_is(mode, "fork")) {
    ct_llm_exchange(&c, "localhost");
    fork_child_writes(&c);
    ct_llm_exchange(&c, "localhost");
    ct_print_transcript("parent", &c);
  } else if (ct_is(mode, "binary")) {
    char bin[256];
    for (int i = 0; i < 256; ++i) bin[i] = (char)i;
    ct_send(&c, bin, sizeof bin);
    ct_receive_exact(&c, sizeof bin);
    char* req = ct_llm_request("localhost", 200, 3);
    ct_send_str(&c, req);
    ct_receive_exact(&c, strlen(req));
    free(req);
    ct_print_transcript("binary", &c);
  } else { /* h2 */
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
    for (int i = 0; i < 2; ++i) {
      if (i) ct_connect(&c);
      ct_send(&c, preface, sizeof preface - 1);
      ct_receive_exact(&c, sizeof preface - 1);
      ct_print_transcript("h2", &c);
      if (i == 0) close(c.fd);
    }
  }
  close(c.fd);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
