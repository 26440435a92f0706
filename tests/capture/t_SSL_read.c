/* SSL_read(): the standard TLS run (tls.h). */
#include "tls.h"

static int ssl_read_once(SSL* ssl) {
  char b[16];
  return SSL_read(ssl, b, sizeof b);
}

int main(int argc, char** argv) {
  ct_mode(argc, argv, "ok");
  ct_out = ct_ssl_write_out;
  ct_in = ct_ssl_read_in;
  return ct_tls_standard_run("SSL_read", 1, ssl_read_once);
}
