// Per-call cost of the wrapped SSL_write/SSL_read: a client and a server SSL object in
// one process joined by a memory BIO pair (no sockets, no kernel), the client sending an
// LLM-shaped request once and then SIZE-byte writes that the server reads, and back. Run
// bare and under the preload; bench/run.sh prints the difference per call in ns.
//   ssl_calls CERT KEY [ITERATIONS=200000] [SIZE=1024]
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

bool pump_handshake(SSL* client, SSL* server) {
  for (int i = 0; i < 100; ++i) {
    int c = SSL_do_handshake(client);
    int s = SSL_do_handshake(server);
    if (c == 1 && s == 1) return true;
  }
  return false;
}

void transfer(SSL* from, SSL* to, const char* data, int n, char* buf) {
  if (SSL_write(from, data, n) != n) std::abort();
  for (int got = 0; got < n;) {
    int r = SSL_read(to, buf, 16384);
    if (r <= 0) std::abort();
    got += r;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ssl_calls CERT KEY [ITERATIONS] [SIZE]\n");
    return 2;
  }
  const long iterations = argc > 3 ? std::atol(argv[3]) : 200000;
  const int size = argc > 4 ? std::atoi(argv[4]) : 1024;
  SSL_CTX* sctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_use_certificate_file(sctx, argv[1], SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(sctx, argv[2], SSL_FILETYPE_PEM) != 1) {
    std::fprintf(stderr, "cannot load %s / %s\n", argv[1], argv[2]);
    return 1;
  }
  SSL* server = SSL_new(sctx);
  SSL* client = SSL_new(cctx);
  BIO *cbio, *sbio;
  BIO_new_bio_pair(&cbio, 1 << 20, &sbio, 1 << 20);
  SSL_set_bio(client, cbio, cbio);
  SSL_set_bio(server, sbio, sbio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  SSL_set_tlsext_host_name(client, "api.anthropic.com");
  if (!pump_handshake(client, server)) {
    std::fprintf(stderr, "handshake failed\n");
    return 1;
  }
  std::string head = "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n";
  std::string chunk(static_cast<size_t>(size), 'x');
  std::string buf(16384, '\0');
  transfer(client, server, head.data(), static_cast<int>(head.size()), buf.data());
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < iterations; ++i) {
    transfer(client, server, chunk.data(), size, buf.data());  // request bytes: captured
    transfer(server, client, chunk.data(), size, buf.data());  // response bytes: captured
  }
  const auto t1 = std::chrono::steady_clock::now();
  // Two SSL_write and two SSL_read per iteration.
  std::printf("%.1f\n", std::chrono::duration<double, std::nano>(t1 - t0).count() / (4.0 * static_cast<double>(iterations)));
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(cctx);
  SSL_CTX_free(sctx);
  return 0;
}
