// `clawtrace relay`: a local HTTP endpoint an agent uses as its provider base URL. Each
// request is forwarded upstream through libcurl (TLS, HTTP/2 where offered, proxies from
// the environment); the response, SSE streams included, goes back to the client piece by
// piece as it arrives, and the exchange is recorded (recorder.h) as the preload would.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "result.h"

namespace clawtrace::relay {

class Recorder;

// Requests whose path starts with `prefix` ("/openai"; "" for the default) go to `upstream`
// ("https://api.openai.com/v1") with the prefix replaced by the upstream's URL.
struct Mount {
  std::string prefix;
  std::string upstream;
};

struct RelayOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  std::vector<Mount> mounts;
  std::string ca_file;  // trusted instead of the system's CA bundle (a self-signed upstream)
  // Non-empty: every request path must begin with /TOKEN (base URL http://host:port/TOKEN/…);
  // a header would collide with the providers' own Authorization.
  std::string token;
  long connect_timeout_s = 30;
  size_t max_body_bytes = size_t{64} << 20;
};

// "openai=https://api.openai.com/v1" → {"/openai", …}; checks the URL's scheme.
[[nodiscard]] Result<Mount> parse_mount(const std::string& name_eq_url);
[[nodiscard]] Result<Mount> default_mount(const std::string& url);

class RelayServer {
 public:
  // Binds and starts serving on background threads. `recorder` may be null (forward only)
  // and must outlive the server.
  [[nodiscard]] static Result<std::unique_ptr<RelayServer>> start(const RelayOptions& options, Recorder* recorder);
  ~RelayServer();  // stop()s
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  uint16_t port() const;
  // Stops accepting, ends open exchanges (the clients see their connection close) and joins
  // every thread.
  void stop();

  struct Impl;

 private:
  explicit RelayServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace clawtrace::relay
