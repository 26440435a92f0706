// clawtrace-standin: a local, scripted, deterministic LLM provider over HTTP and HTTPS.
#pragma once

#include "result.h"

#include <cstdint>
#include <string>

namespace clawtrace::standin {

struct Options {
  int http_port = -1;   // -1: no listener; 0: an ephemeral port
  int https_port = -1;
  std::string cert_dir;     // where cert.pem/key.pem go; empty: a new temporary directory
  std::string script_path;  // empty: the built-in behaviour
  std::string log_path;     // empty: no exchange log
  std::string ready_path;   // written (atomically) once listening
  std::uint64_t max_requests = 0;  // 0: no limit
};

// Serves until SIGTERM/SIGINT or until max_requests exchanges are done. Listens on
// 127.0.0.1 only; with neither port set, HTTP on an ephemeral port.
Result<void> run(const Options& options);

}  // namespace clawtrace::standin
