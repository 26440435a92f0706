/* SSL_shutdown(): one LLM exchange over TLS (transcript "llm"), SSL_shutdown (sends
 * close_notify: the connection ends here), SSL_shutdown again (receives the server's),
 * then SSL_free: one conn_close in all. */
#include "tls.h"

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = ct_ssl_write_out;
  ct_in = ct_ssl_read_in;
  struct ct_conn c;
  ct_start_server(1, ct_serve_tls);
  ct_tls_connect(&c, CT_SNI);
  ct_llm_exchange(&c, CT_SNI);
  ct_print_transcript("llm", &c);
  for (int i = 0; i < 2; ++i) {
    errno = CT_SENTINEL;
    int rc = SSL_shutdown((SSL*)c.ssl);
    ct_report("SSL_shutdown", rc, errno);
  }
  SSL_free((SSL*)c.ssl);
  close(c.fd);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
