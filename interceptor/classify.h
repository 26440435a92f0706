// Decides from a connection's first outgoing bytes whether to capture it. The only look
// the wrapped call itself takes at traffic: a few prefix comparisons on the first write.
#pragma once

#include <stddef.h>

namespace clawtrace::preload {

enum class Traffic {
  llm,       // an HTTP/1.x request to an LLM-looking path or host: capture
  http,      // HTTP/1.x but not LLM-looking: look again at the next request
  http2,     // the HTTP/2 connection preface: not supported yet, reported once
  not_http,  // anything else (TLS records, DNS, binary protocols): ignore for good
};

// `host` is the TLS SNI when known (may be null). With `capture_all`, any HTTP/1.x
// request counts as LLM traffic (for endpoints with unusual paths).
Traffic classify_request(const char* data, size_t n, const char* host, bool capture_all);

}  // namespace clawtrace::preload
