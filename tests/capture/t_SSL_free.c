/* SSL_free(): three TLS connections one after the other, each with one LLM exchange and
 * ended by SSL_free alone (no SSL_shutdown). Once the heap has settled, malloc gives the
 * next SSL object the previous one's address: it must still be a new connection.
 * Transcripts "1", "2", "3". */
#include "tls.h"

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = ct_ssl_write_out;
  ct_in = ct_ssl_read_in;
  struct ct_conn c;
  const void* previous = NULL;
  ct_start_server(3, ct_serve_tls);
  for (int i = 1; i <= 3; ++i) {
    ct_tls_connect(&c, CT_SNI);
    if (i == 3) printf("SSL object at the previous one's address: %s\n", c.ssl == previous ? "yes" : "no");
    ct_llm_exchange(&c, CT_SNI);
    char label[8];
    snprintf(label, sizeof label, "%d", i);
    ct_print_transcript(label, &c);
    previous = c.ssl;
    SSL_free((SSL*)c.ssl);
    close(c.fd);
  }
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
