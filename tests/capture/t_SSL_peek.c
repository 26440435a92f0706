/* SSL_peek(): the standard TLS run (tls.h), each SSL_read preceded by an SSL_peek of the
 * same bytes (counted once). */
#include "tls.h"

static long peek_then_read_in(struct ct_conn* c, char* p, size_t n) {
  char peeked[1024];
  int k = SSL_peek((SSL*)c->ssl, peeked, (int)(n < sizeof peeked ? n : sizeof peeked));
  if (k <= 0) return k;
  int rc = SSL_read((SSL*)c->ssl, p, k);
  if (rc != k || memcmp(peeked, p, (size_t)k) != 0) ct_die("peek and read differ");
  return rc;
}

static int ssl_peek_once(SSL* ssl) {
  char b[16];
  return SSL_peek(ssl, b, sizeof b);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = ct_ssl_write_out;
  ct_in = peek_then_read_in;
  return ct_tls_standard_run("SSL_peek", 1, ssl_peek_once);
}
