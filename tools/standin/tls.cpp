#include "tls.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace clawtrace::standin {

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;

std::string openssl_error(const char* what) {
  char buf[256] = "";
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool set_random_serial(X509* cert) {
  BIGNUM* bn = BN_new();
  bool ok = bn && BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

// Self-signed and marked as its own CA (with the extensions strict verifiers such as
// Python 3.13's want), so a client trusts it by loading this one file.
bool add_extensions(X509* cert) {
  return add_extension(cert, NID_basic_constraints, "critical,CA:TRUE") &&
         add_extension(cert, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
         add_extension(cert, NID_ext_key_usage, "serverAuth") &&
         add_extension(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") &&
         add_extension(cert, NID_subject_key_identifier, "hash") &&
         add_extension(cert, NID_authority_key_identifier, "keyid:always");
}

Result<CertPtr> make_certificate(EVP_PKEY* key) {
  CertPtr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !set_random_serial(cert.get()))
    return fail(openssl_error("X509_new"));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 23 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (!add_extensions(cert.get())) return fail(openssl_error("X509 extensions"));
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return fail(openssl_error("X509_sign"));
  return cert;
}

Result<std::string> prepare_dir(const std::string& dir) {
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/clawtrace-standin-XXXXXX";
    if (!mkdtemp(templ.data())) return fail("mkdtemp: " + std::string(std::strerror(errno)));
    return templ;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail("mkdir " + dir + ": " + std::strerror(errno));
  return dir;
}

Result<void> write_pem(const std::string& path, mode_t mode, X509* cert, EVP_PKEY* key) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return fail("open " + tmp + ": " + std::strerror(errno));
  fchmod(fileno(f), mode);
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) return fail("write " + path);
  return {};
}

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
  static const unsigned char kOffer[] = "\x08http/1.1";
  unsigned char* chosen = nullptr;
  unsigned char chosen_len = 0;
  if (SSL_select_next_proto(&chosen, &chosen_len, kOffer, sizeof kOffer - 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: carry on without ALPN
  *out = chosen;
  *outlen = chosen_len;
  return SSL_TLSEXT_ERR_OK;
}

Result<CtxPtr> make_context(X509* cert, EVP_PKEY* key) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail(openssl_error("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate(ctx.get(), cert) != 1 || SSL_CTX_use_PrivateKey(ctx.get(), key) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1)
    return fail(openssl_error("SSL_CTX certificate"));
  SSL_CTX_set_alpn_select_cb(ctx.get(), select_http11, nullptr);
  return ctx;
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(SSL* ssl, int fd) : ssl_(ssl), fd_(fd) {}
  ~TlsTransport() override { close(true); }

  long read_some(char* buf, std::size_t n) override {
    ERR_clear_error();
    int got = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 20)));
    if (got > 0) return got;
    int err = SSL_get_error(ssl_, got);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    ERR_clear_error();
    return -1;
  }

  bool write_all(std::string_view bytes) override {
    while (!bytes.empty()) {
      ERR_clear_error();
      int n = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
      int put = SSL_write(ssl_, bytes.data(), n);
      if (put <= 0) return ERR_clear_error(), false;
      bytes.remove_prefix(static_cast<std::size_t>(put));
    }
    return true;
  }

  void close(bool clean) override {
    if (!ssl_) return;
    if (clean) SSL_shutdown(ssl_);  // send close_notify; do not wait for the peer's
    SSL_free(ssl_);
    ::close(fd_);
    ssl_ = nullptr;
    ERR_clear_error();
  }

  int fd() const override { return fd_; }

 private:
  SSL* ssl_;
  int fd_;
};

}  // namespace

struct TlsServer::Ctx {
  CtxPtr ssl_ctx;
};

TlsServer::~TlsServer() = default;

void TlsServer::thread_done() { OPENSSL_thread_stop(); }

Result<std::unique_ptr<TlsServer>> TlsServer::create(const std::string& cert_dir) {
  Result<std::string> dir = prepare_dir(cert_dir);
  if (!dir) return fail(dir.error());
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail(openssl_error("EVP_EC_gen"));
  Result<CertPtr> cert = make_certificate(key.get());
  if (!cert) return fail(cert.error());
  std::unique_ptr<TlsServer> server(new TlsServer());
  server->cert_path_ = *dir + "/cert.pem";
  if (auto w = write_pem(*dir + "/key.pem", 0600, nullptr, key.get()); !w) return fail(w.error());
  if (auto w = write_pem(server->cert_path_, 0644, cert->get(), nullptr); !w) return fail(w.error());
  Result<CtxPtr> ctx = make_context(cert->get(), key.get());
  if (!ctx) return fail(ctx.error());
  server->ctx_ = std::make_unique<Ctx>();
  server->ctx_->ssl_ctx = std::move(*ctx);
  return server;
}

Result<std::unique_ptr<Transport>> TlsServer::accept(int fd) const {
  SSL* ssl = SSL_new(ctx_->ssl_ctx.get());
  if (!ssl) return fail(openssl_error("SSL_new"));
  SSL_set_fd(ssl, fd);
  ERR_clear_error();
  if (SSL_accept(ssl) != 1) {
    std::string why = openssl_error("TLS handshake");
    SSL_free(ssl);
    return fail(why);
  }
  return std::unique_ptr<Transport>(std::make_unique<TlsTransport>(ssl, fd));
}

}  // namespace clawtrace::standin
