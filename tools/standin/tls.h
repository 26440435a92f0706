// TLS for the HTTPS listener: a self-signed certificate made at start (written out so
// clients can trust it) and server-side handshakes that offer ALPN http/1.1 only.
#pragma once

#include "http.h"
#include "result.h"

#include <memory>
#include <string>

namespace clawtrace::standin {

class TlsServer {
 public:
  // Makes a fresh key and certificate, writes DIR/cert.pem and DIR/key.pem (DIR is created
  // if missing; an empty DIR means a new temporary directory).
  static Result<std::unique_ptr<TlsServer>> create(const std::string& cert_dir);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  const std::string& cert_path() const { return cert_path_; }
  // Runs the server handshake on an accepted socket; on success the transport owns it.
  Result<std::unique_ptr<Transport>> accept(int fd) const;
  // Frees what OpenSSL keeps for the calling thread (its random generators). A connection
  // thread calls it before it reports itself done: left to the thread's exit, it could still
  // be running when the process exits, and LeakSanitizer reported it.
  static void thread_done();

 private:
  TlsServer() = default;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  std::string cert_path_;
};

}  // namespace clawtrace::standin
