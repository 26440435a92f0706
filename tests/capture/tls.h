/* TLS for the capture test programs: a throwaway self-signed certificate made in the
 * program, a TLS server child (common.h's server behind SSL_accept) and a client that
 * connects with SNI. The client's calls default to SSL_write / SSL_read; programs point
 * ct_out / ct_in at the OpenSSL call under test. */
#ifndef CLAWTRACE_TESTS_CAPTURE_TLS_H
#define CLAWTRACE_TESTS_CAPTURE_TLS_H

#include "common.h" /* first: it defines _GNU_SOURCE */

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define CT_SNI "api.openai.com"

/* The client offers ALPN h2 (and http/1.1); the server picks h2 when offered. */
static int ct_tls_offer_h2 = 0;

static inline void ct_tls_add_ext(X509* x, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ext || !X509_add_ext(x, ext, -1)) ct_die("certificate extension");
  X509_EXTENSION_free(ext);
}

/* A self-signed certificate for CT_SNI (EC P-256, valid for a day) and its key. */
static inline void ct_tls_make_cert(X509** cert, EVP_PKEY** key) {
  *key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  if (!*key || !x) ct_die("key generation");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, *key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char*)CT_SNI, -1, -1, 0);
  X509_set_issuer_name(x, name);
  ct_tls_add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
  ct_tls_add_ext(x, NID_subject_key_identifier, "hash");
  ct_tls_add_ext(x, NID_subject_alt_name, "DNS:" CT_SNI);
  if (!X509_sign(x, *key, EVP_sha256())) ct_die("signing the certificate");
  *cert = x;
}

static inline int ct_tls_pick_h2(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                                 const unsigned char* in, unsigned int inlen, void* arg) {
  (void)ssl;
  (void)arg;
  static const unsigned char h2[] = "\x02h2";
  unsigned char* picked = NULL;
  if (SSL_select_next_proto(&picked, outlen, h2, 3, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = picked;
  return SSL_TLSEXT_ERR_OK;
}

/* The server's context, with a fresh certificate (written as PEM to cert_file if given). */
static inline SSL_CTX* ct_tls_server_ctx(const char* cert_file) {
  static SSL_CTX* ctx;
  if (ctx) return ctx;
  X509* cert;
  EVP_PKEY* key;
  ct_tls_make_cert(&cert, &key);
  ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
    ct_die("server context");
  SSL_CTX_set_alpn_select_cb(ctx, ct_tls_pick_h2, NULL);
  if (cert_file) {
    FILE* f = fopen(cert_file, "w");
    if (!f || !PEM_write_X509(f, cert) || fclose(f) != 0) ct_die("writing the certificate");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

static inline long ct_ssl_server_read(void* ssl, char* p, size_t n) {
  size_t got = 0;
  return SSL_read_ex((SSL*)ssl, p, n, &got) == 1 ? (long)got : -1;
}

static inline long ct_ssl_server_write(void* ssl, const char* p, size_t n) {
  size_t put = 0;
  return SSL_write_ex((SSL*)ssl, p, n, &put) == 1 ? (long)put : -1;
}

/* Serves one connection over TLS until the client's close_notify (or EOF). */
static inline void ct_serve_tls(int fd) {
  SSL* ssl = SSL_new(ct_tls_server_ctx(NULL));
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    struct ct_server_io io = {ssl, ct_ssl_server_read, ct_ssl_server_write};
    ct_serve(&io);
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
}

/* A TCP connection to the server with a TLS client on it (SNI `sni`, no verification). */
static inline void ct_tls_connect(struct ct_conn* c, const char* sni) {
  static SSL_CTX* ctx;
  if (!ctx && !(ctx = SSL_CTX_new(TLS_client_method()))) ct_die("client context");
  ct_errno_zero_ok = 1;
  ct_connect(c);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, c->fd);
  SSL_set_tlsext_host_name(ssl, sni);
  if (ct_tls_offer_h2) SSL_set_alpn_protos(ssl, (const unsigned char*)"\x02h2\x08http/1.1", 12);
  if (SSL_connect(ssl) != 1) ct_die("TLS handshake");
  c->ssl = ssl;
}

static inline long ct_ssl_write_out(struct ct_conn* c, const char* p, size_t n) {
  return SSL_write((SSL*)c->ssl, p, (int)n);
}
static inline long ct_ssl_read_in(struct ct_conn* c, char* p, size_t n) {
  return SSL_read((SSL*)c->ssl, p, (int)n);
}

/* Ends a TLS connection: SSL_shutdown (sends close_notify), SSL_free, close. */
static inline void ct_tls_close(struct ct_conn* c) {
  SSL_shutdown((SSL*)c->ssl);
  SSL_free((SSL*)c->ssl);
  c->ssl = NULL;
  close(c->fd);
}

/* One call of the OpenSSL function under test with a tiny buffer; returns its result. */
typedef int (*ct_ssl_call_fn)(SSL* ssl);

/* One LLM exchange over TLS (SNI CT_SNI; transcript "llm"), then the function under test
 * fails on the still-tracked connection: a read on a non-blocking socket with nothing to
 * read (SSL_ERROR_WANT_READ), a write after shutdown(SHUT_WR) (SSL_ERROR_SYSCALL, EPIPE). */
static inline int ct_tls_standard_run(const char* fn, int reads, ct_ssl_call_fn call) {
  struct ct_conn c;
  ct_start_server(1, ct_serve_tls);
  ct_tls_connect(&c, CT_SNI);
  ct_llm_exchange(&c, CT_SNI);
  ct_print_transcript("llm", &c);
  if (reads) fcntl(c.fd, F_SETFL, O_NONBLOCK);
  else shutdown(c.fd, SHUT_WR);
  errno = CT_SENTINEL;
  int rc = call((SSL*)c.ssl);
  int err = errno;
  printf("%s %s: rc=%d ssl_error=%d errno=%s\n", fn, reads ? "with nothing to read" : "after shutdown",
         rc, SSL_get_error((SSL*)c.ssl, rc), ct_errname(err));
  fcntl(c.fd, F_SETFL, 0);
  ct_tls_close(&c);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}

#endif
