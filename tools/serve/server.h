// The dashboard's HTTP server (Boost.Beast): one thread, asynchronous, so a slow client
// never blocks the others and the API (api.h) needs no locking.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "api.h"
#include "result.h"

namespace clawtrace::serve {

struct ServerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 8377;  // 0: any free port
};

// Binds, then calls `on_listening` with the port actually bound (useful with port 0) and
// serves until SIGINT or SIGTERM. Errors: the address cannot be bound.
Result<void> run_server(Api& api, const ServerOptions& options, const std::function<void(uint16_t)>& on_listening);

// Loopback addresses (127.0.0.0/8, ::1, localhost) need no token.
bool is_loopback(const std::string& address);

}  // namespace clawtrace::serve
