/* SSL_write(): ok = the standard TLS run (tls.h); large = a 300 KB request in one
 * SSL_write and a long SSE stream back; keepalive = SNI www.example.org, a page request,
 * then an LLM request on the same connection (captured from there on: transcript "llm");
 * h2 = ALPN h2 negotiated, the HTTP/2 preface sent on two connections (one conn_note,
 * nothing captured). The socket below carries only ciphertext: never captured. */
#include "tls.h"

static int ssl_write_once(SSL* ssl) { return SSL_write(ssl, "x", 1); }

int main(int argc, char** argv) {
  const char* mode = ct_mode(argc, argv, "ok|large|keepalive|h2");
  ct_out = ct_ssl_write_out;
  ct_in = ct_ssl_read_in;
  if (ct_is(mode, "ok")) return ct_tls_standard_run("SSL_write", 0, ssl_write_once);

  const int h2 = ct_is(mode, "h2");
  ct_tls_offer_h2 = h2;
  ct_start_server(h2 ? 2 : 1, ct_serve_tls);
  struct ct_conn c;
  ct_tls_connect(&c, ct_is(mode, "keepalive") ? "www.example.org" : CT_SNI);
  if (ct_is(mode, "large")) {
    char* req = ct_llm_request(CT_SNI, 300 * 1024, 3000);
    ct_exchange(&c, req);
    free(req);
    ct_print_transcript("llm", &c);
  } else if (ct_is(mode, "keepalive")) {
    ct_exchange(&c, "GET /index.html HTTP/1.1\r\nHost: www.example.org\r\n\r\n");
    ct_conn_reset(&c);
    ct_llm_exchange(&c, "www.example.org");
    ct_print_transcript("llm", &c);
  } else { /* h2 */
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4\0\0\0\0\0";
    for (int i = 0; i < 2; ++i) {
      if (i) ct_tls_connect(&c, CT_SNI);
      const unsigned char* proto = NULL;
      unsigned int len = 0;
      SSL_get0_alpn_selected((SSL*)c.ssl, &proto, &len);
      printf("alpn: %.*s\n", (int)len, proto ? (const char*)proto : "");
      ct_send(&c, preface, sizeof preface - 1);
      ct_receive_exact(&c, sizeof preface - 1);
      ct_print_transcript("h2", &c);
      if (i == 0) ct_tls_close(&c);
    }
  }
  ct_tls_close(&c);
  ct_print_errno_kept();
  ct_wait_server();
  return 0;
}
