/* SSL_read_ex(): the standard TLS run (tls.h). */
#include "tls.h"

static long ssl_read_ex_in(struct ct_conn* c, char* p, size_t n) {
  size_t got = 0;
  return SSL_read_ex((SSL*)c->ssl, p, n, &got) == 1 ? (long)got : -1;
}

static int ssl_read_ex_once(SSL* ssl) {
  char b[16];
  size_t got = 0;
  return SSL_read_ex(ssl, b, sizeof b, &got);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = ct_ssl_write_out;
  ct_in = ssl_read_ex_in;
  return ct_tls_standard_run("SSL_read_ex", 1, ssl_read_ex_once);
}
