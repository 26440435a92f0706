/* SSL_peek_ex(): the standard TLS run (tls.h), each SSL_read_ex preceded by an
 * SSL_peek_ex of the same bytes (counted once). */
#include "tls.h"

static long peek_ex_then_read_ex_in(struct ct_conn* c, char* p, size_t n) {
  char peeked[1024];
  size_t k = 0, got = 0;
  if (SSL_peek_ex((SSL*)c->ssl, peeked, n < sizeof peeked ? n : sizeof peeked, &k) != 1) return -1;
  if (SSL_read_ex((SSL*)c->ssl, p, k, &got) != 1 || got != k || memcmp(peeked, p, k) != 0)
    ct_die("peek and read differ");
  return (long)got;
}

static int ssl_peek_ex_once(SSL* ssl) {
  char b[16];
  size_t got = 0;
  return SSL_peek_ex(ssl, b, sizeof b, &got);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = ct_ssl_write_out;
  ct_in = peek_ex_then_read_ex_in;
  return ct_tls_standard_run("SSL_peek_ex", 1, ssl_peek_ex_once);
}
