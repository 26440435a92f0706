/* SSL_write_ex(): the standard TLS run (tls.h). */
#include "tls.h"

static long ssl_write_ex_out(struct ct_conn* c, const char* p, size_t n) {
  size_t written = 0;
  return SSL_write_ex((SSL*)c->ssl, p, n, &written) == 1 ? (long)written : -1;
}

static int ssl_write_ex_once(SSL* ssl) {
  size_t written = 0;
  return SSL_write_ex(ssl, "x", 1, &written);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = ssl_write_ex_out;
  ct_in = ct_ssl_read_in;
  return ct_tls_standard_run("SSL_write_ex", 0, ssl_write_ex_once);
}
