/* A TLS server for the Python client test: tls_server CERT_FILE writes a fresh certificate
 * for api.openai.com to CERT_FILE, prints "port N", serves one connection (common.h's
 * answers) and prints what it received and sent as a transcript. */
#include "tls.h"

static struct ct_conn seen; /* from the server's side: received = what the client sent */

static long record_read(void* ssl, char* p, size_t n) {
  long rc = ct_ssl_server_read(ssl, p, n);
  if (rc > 0) ct_transcript_add(&seen.received, p, (size_t)rc);
  return rc;
}

static long record_write(void* ssl, const char* p, size_t n) {
  long rc = ct_ssl_server_write(ssl, p, n);
  if (rc > 0) ct_transcript_add(&seen.sent, p, (size_t)rc);
  return rc;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CERT_FILE\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  SSL_CTX* ctx = ct_tls_server_ctx(argv[1]);
  int port = 0;
  int lfd = ct_listen(&port);
  printf("port %d\n", port);
  fflush(stdout);
  int fd = accept(lfd, NULL, NULL);
  if (fd < 0) ct_die("accept");
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ct_conn_reset(&seen);
  if (SSL_accept(ssl) != 1) ct_die("TLS handshake");
  struct ct_server_io io = {ssl, record_read, record_write};
  ct_serve(&io);
  SSL_shutdown(ssl);
  SSL_free(ssl);
  close(fd);
  /* as the client saw it: it sent what we received */
  printf("transcript client: sent %llu %016llx received %llu %016llx\n",
         (unsigned long long)seen.received.bytes, (unsigned long long)seen.received.hash,
         (unsigned long long)seen.sent.bytes, (unsigned long long)seen.sent.hash);
  return 0;
}
