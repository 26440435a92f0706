// Capture of LLM traffic inside the traced process. The wrapped calls only look up the
// connection and copy the bytes into a queue (under a short lock); a background writer
// thread redacts credentials (redact.h) and appends the records to the spool. Nothing
// here parses HTTP: hooks/ reassembles it at ingestion.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <atomic>

#include "record_format.h"

namespace clawtrace::preload {

inline constexpr int kMaxWatchedFd = 65536;

enum FdState : uint8_t {
  kFdIgnored = 0,    // not a connection we saw being made, or not HTTP
  kFdCandidate = 1,  // connected, nothing written yet
  kFdHttp = 2,       // HTTP/1.x, not LLM-looking so far: each new request is looked at
  kFdTracked = 3,    // captured
};
extern std::atomic<uint8_t> g_fd_state[kMaxWatchedFd];

// The hot-path test of every libc read/write wrapper: one load.
inline FdState fd_state(int fd) {
  if (fd < 0 || fd >= kMaxWatchedFd) return kFdIgnored;
  return static_cast<FdState>(g_fd_state[fd].load(std::memory_order_relaxed));
}

// Socket layer (plaintext HTTP).
void capture_connected(int fd);
// `n` bytes went out (or came in) through these buffers.
void capture_fd_io(int fd, wire::Direction d, const struct iovec* iov, int iovcnt, size_t n);
void capture_fd_closed(int fd);
// close_range/closefrom: every watched descriptor in [first, last] ends.
void capture_fds_closed(unsigned first, unsigned last);

// TLS layer. Connections are keyed by the SSL object.
bool capture_ssl_tracked(const void* ssl);
// Bytes on an SSL object: recorded when it is tracked; the first write of an unknown one is
// classified with its SNI (may be null) and negotiated ALPN protocol (h2 or not).
void capture_ssl_io(const void* ssl, wire::Direction d, const void* buf, size_t n);
void capture_ssl_first_write(const void* ssl, const void* buf, size_t n, const char* sni,
                             bool alpn_h2);
void capture_ssl_ended(const void* ssl);

// Writes everything queued so far to the spool from the calling thread, in order (before
// records written synchronously, so the spool keeps causal order). `final` also flushes
// bytes held back by redaction: use it before exec and at exit.
void capture_drain(bool final);
// In a fork child: forget the parent's queue, writer thread, locks and connections.
void capture_after_fork_child();

}  // namespace clawtrace::preload
