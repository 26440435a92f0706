// The traffic wrappers: OpenSSL's read/write calls (TLS, after decryption) and libc's
// socket calls (plaintext HTTP). Each calls the real function, then hands the bytes of a
// tracked connection to capture.cpp; errno is what the real call left.
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>

#include "capture.h"
#include "guard.h"
#include "runtime.h"

#define CT_EXPORT extern "C" __attribute__((visibility("default")))

namespace clawtrace::preload {
namespace {

// ---- OpenSSL -----------------------------------------------------------------------------

using ssl_io_fn = int (*)(void*, void*, int);
using ssl_io_ex_fn = int (*)(void*, void*, size_t, size_t*);
using ssl_void_fn = void (*)(void*);
using ssl_int_fn = int (*)(void*);
using servername_fn = const char* (*)(const void*, int);
using alpn_fn = void (*)(const void*, const unsigned char**, unsigned int*);

struct RealSsl {
  ssl_io_fn write, read, peek;
  ssl_io_ex_fn write_ex, read_ex, peek_ex;
  ssl_void_fn free;
  ssl_int_fn shutdown;
  ssl_int_fn is_server;
  servername_fn servername;
  alpn_fn alpn;
};
RealSsl real_ssl;
std::atomic<bool> g_ssl_resolved{false};

constexpr const char* kSslVersions[] = {"OPENSSL_3.0.0", "OPENSSL_1_1_0"};
constexpr const char* kSslLibs[] = {"libssl.so.3", "libssl.so.1.1", "libssl.so"};

// The real libssl function. The library may be loaded privately (Python's _ssl module
// pulls it in with RTLD_LOCAL), so RTLD_NEXT can miss it: then ask the loaded copy.
void* ssl_symbol(const char* name) {
  for (const char* v : kSslVersions)
    if (void* p = dlvsym(RTLD_NEXT, name, v)) return p;
  if (void* p = dlsym(RTLD_NEXT, name)) return p;
  for (const char* lib : kSslLibs) {
    void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    if (!h) continue;
    void* p = nullptr;
    for (const char* v : kSslVersions)
      if (!p) p = dlvsym(h, name, v);
    if (!p) p = dlsym(h, name);
    dlclose(h);  // NOLOAD took a reference; the library stays loaded by its owner
    if (p) return p;
  }
  return nullptr;
}

void resolve_ssl() {
  if (g_ssl_resolved.load(std::memory_order_acquire)) return;
  RealSsl s{};
  s.write = reinterpret_cast<ssl_io_fn>(ssl_symbol("SSL_write"));
  s.read = reinterpret_cast<ssl_io_fn>(ssl_symbol("SSL_read"));
  s.peek = reinterpret_cast<ssl_io_fn>(ssl_symbol("SSL_peek"));
  s.write_ex = reinterpret_cast<ssl_io_ex_fn>(ssl_symbol("SSL_write_ex"));
  s.read_ex = reinterpret_cast<ssl_io_ex_fn>(ssl_symbol("SSL_read_ex"));
  s.peek_ex = reinterpret_cast<ssl_io_ex_fn>(ssl_symbol("SSL_peek_ex"));
  s.free = reinterpret_cast<ssl_void_fn>(ssl_symbol("SSL_free"));
  s.shutdown = reinterpret_cast<ssl_int_fn>(ssl_symbol("SSL_shutdown"));
  s.is_server = reinterpret_cast<ssl_int_fn>(ssl_symbol("SSL_is_server"));
  s.servername = reinterpret_cast<servername_fn>(ssl_symbol("SSL_get_servername"));
  s.alpn = reinterpret_cast<alpn_fn>(ssl_symbol("SSL_get0_alpn_selected"));
  real_ssl = s;
  g_ssl_resolved.store(true, std::memory_order_release);
}

bool alpn_is_h2(void* ssl) {
  if (!real_ssl.alpn) return false;
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  real_ssl.alpn(ssl, &proto, &len);
  return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

void ssl_sent(void* ssl, const void* buf, size_t n) {
  if (!capturing()) return;
  if (capture_ssl_tracked(ssl)) {
    capture_ssl_io(ssl, wire::Direction::out, buf, n);
    return;
  }
  // The accepting side of a TLS connection (this process serves it) writes responses, and
  // its SNI and ALPN are the peer's: like accepted sockets, never a connection of ours.
  // Without this, a server-side h2 connection would be reported as uncaptured HTTP/2.
  if (real_ssl.is_server && real_ssl.is_server(ssl)) return;
  constexpr int kSniHostName = 0;  // TLSEXT_NAMETYPE_host_name
  const char* sni = real_ssl.servername ? real_ssl.servername(ssl, kSniHostName) : nullptr;
  capture_ssl_first_write(ssl, buf, n, sni, alpn_is_h2(ssl));
}

// Shared shape of the four byte-moving calls: real call, then record what moved.
template <class Call>
int ssl_io(void* ssl, wire::Direction d, const void* buf, Call&& call) {
  Guard g;
  resolve_ssl();
  size_t moved = 0;
  int rc = call(&moved);
  if (!g.entered() || moved == 0) return rc;
  if (d == wire::Direction::in && !capture_ssl_tracked(ssl)) return rc;
  const int err = errno;
  if (d == wire::Direction::out) ssl_sent(ssl, buf, moved);
  else if (capturing()) capture_ssl_io(ssl, d, buf, moved);
  errno = err;
  return rc;
}

void ssl_ended(void* ssl) {
  Guard g;
  if (g.entered() && capture_ssl_tracked(ssl)) {
    const int err = errno;
    capture_ssl_ended(ssl);
    errno = err;
  }
}

// ---- libc sockets ------------------------------------------------------------------------

struct RealNet {
  int (*connect)(int, const struct sockaddr*, socklen_t);
  ssize_t (*write)(int, const void*, size_t);
  ssize_t (*writev)(int, const struct iovec*, int);
  ssize_t (*send)(int, const void*, size_t, int);
  ssize_t (*sendto)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
  ssize_t (*sendmsg)(int, const struct msghdr*, int);
  ssize_t (*read)(int, void*, size_t);
  ssize_t (*readv)(int, const struct iovec*, int);
  ssize_t (*recv)(int, void*, size_t, int);
  ssize_t (*recvfrom)(int, void*, size_t, int, struct sockaddr*, socklen_t*);
  ssize_t (*recvmsg)(int, struct msghdr*, int);
  int (*close)(int);
  int (*dup2)(int, int);
  int (*dup3)(int, int, int);
  int (*close_range)(unsigned, unsigned, int);
  void (*closefrom)(int);
  ssize_t (*read_chk)(int, void*, size_t, size_t);
  ssize_t (*recv_chk)(int, void*, size_t, size_t, int);
  ssize_t (*recvfrom_chk)(int, void*, size_t, size_t, int, struct sockaddr*, socklen_t*);
};
RealNet real_net;
std::atomic<int> g_net_state{0};  // 0 unresolved, 1 resolving, 2 resolved

// Resolves once. A call that arrives while resolving (dlsym itself may read or write, or
// another thread is resolving) gets nullptr slots and falls back to the raw system call.
void resolve_net() {
  if (g_net_state.load(std::memory_order_acquire) == 2) return;
  int expected = 0;
  if (!g_net_state.compare_exchange_strong(expected, 1)) return;
  RealNet s{};
  s.connect = reinterpret_cast<decltype(s.connect)>(dlsym(RTLD_NEXT, "connect"));
  s.write = reinterpret_cast<decltype(s.write)>(dlsym(RTLD_NEXT, "write"));
  s.writev = reinterpret_cast<decltype(s.writev)>(dlsym(RTLD_NEXT, "writev"));
  s.send = reinterpret_cast<decltype(s.send)>(dlsym(RTLD_NEXT, "send"));
  s.sendto = reinterpret_cast<decltype(s.sendto)>(dlsym(RTLD_NEXT, "sendto"));
  s.sendmsg = reinterpret_cast<decltype(s.sendmsg)>(dlsym(RTLD_NEXT, "sendmsg"));
  s.read = reinterpret_cast<decltype(s.read)>(dlsym(RTLD_NEXT, "read"));
  s.readv = reinterpret_cast<decltype(s.readv)>(dlsym(RTLD_NEXT, "readv"));
  s.recv = reinterpret_cast<decltype(s.recv)>(dlsym(RTLD_NEXT, "recv"));
  s.recvfrom = reinterpret_cast<decltype(s.recvfrom)>(dlsym(RTLD_NEXT, "recvfrom"));
  s.recvmsg = reinterpret_cast<decltype(s.recvmsg)>(dlsym(RTLD_NEXT, "recvmsg"));
  s.close = reinterpret_cast<decltype(s.close)>(dlsym(RTLD_NEXT, "close"));
  s.dup2 = reinterpret_cast<decltype(s.dup2)>(dlsym(RTLD_NEXT, "dup2"));
  s.dup3 = reinterpret_cast<decltype(s.dup3)>(dlsym(RTLD_NEXT, "dup3"));
  s.close_range = reinterpret_cast<decltype(s.close_range)>(dlsym(RTLD_NEXT, "close_range"));
  s.closefrom = reinterpret_cast<decltype(s.closefrom)>(dlsym(RTLD_NEXT, "closefrom"));
  s.read_chk = reinterpret_cast<decltype(s.read_chk)>(dlsym(RTLD_NEXT, "__read_chk"));
  s.recv_chk = reinterpret_cast<decltype(s.recv_chk)>(dlsym(RTLD_NEXT, "__recv_chk"));
  s.recvfrom_chk = reinterpret_cast<decltype(s.recvfrom_chk)>(dlsym(RTLD_NEXT, "__recvfrom_chk"));
  real_net = s;
  g_net_state.store(2, std::memory_order_release);
}

const RealNet& net() {
  resolve_net();
  static const RealNet none{};
  return g_net_state.load(std::memory_order_acquire) == 2 ? real_net : none;
}

// After a real call moved `rc` bytes through these buffers on a watched descriptor.
void moved(int fd, wire::Direction d, const struct iovec* iov, int iovcnt, ssize_t rc,
           const Guard& g) {
  if (rc <= 0 || !g.entered() || !capturing()) return;
  const int err = errno;
  capture_fd_io(fd, d, iov, iovcnt, static_cast<size_t>(rc));
  errno = err;
}

void moved1(int fd, wire::Direction d, const void* buf, ssize_t rc, const Guard& g) {
  struct iovec v = {const_cast<void*>(buf), rc > 0 ? static_cast<size_t>(rc) : 0};
  moved(fd, d, &v, 1, rc, g);
}

// Reads worth recording: a tracked descriptor, and not a peek.
bool watch_read(int fd, int flags) { return fd_state(fd) == kFdTracked && !(flags & MSG_PEEK); }
bool watch_write(int fd) { return fd_state(fd) != kFdIgnored; }

}  // namespace
}  // namespace clawtrace::preload

using namespace clawtrace::preload;
using clawtrace::wire::Direction;

// ---- OpenSSL wrappers --------------------------------------------------------------------

CT_EXPORT int SSL_write(void* ssl, const void* buf, int num) {
  return ssl_io(ssl, Direction::out, buf, [&](size_t* n) {
    if (!real_ssl.write) return -1;
    int rc = real_ssl.write(ssl, const_cast<void*>(buf), num);
    *n = rc > 0 ? static_cast<size_t>(rc) : 0;
    return rc;
  });
}

CT_EXPORT int SSL_write_ex(void* ssl, const void* buf, size_t num, size_t* written) {
  return ssl_io(ssl, Direction::out, buf, [&](size_t* n) {
    if (!real_ssl.write_ex) return 0;
    size_t w = 0;
    int rc = real_ssl.write_ex(ssl, const_cast<void*>(buf), num, &w);
    if (written) *written = w;
    *n = rc == 1 ? w : 0;
    return rc;
  });
}

CT_EXPORT int SSL_read(void* ssl, void* buf, int num) {
  return ssl_io(ssl, Direction::in, buf, [&](size_t* n) {
    if (!real_ssl.read) return -1;
    int rc = real_ssl.read(ssl, buf, num);
    *n = rc > 0 ? static_cast<size_t>(rc) : 0;
    return rc;
  });
}

CT_EXPORT int SSL_read_ex(void* ssl, void* buf, size_t num, size_t* readbytes) {
  return ssl_io(ssl, Direction::in, buf, [&](size_t* n) {
    if (!real_ssl.read_ex) return 0;
    size_t r = 0;
    int rc = real_ssl.read_ex(ssl, buf, num, &r);
    if (readbytes) *readbytes = r;
    *n = rc == 1 ? r : 0;
    return rc;
  });
}

// Peeked bytes are recorded when they are read, not here. The wrappers exist so that a
// peek implemented on top of SSL_read inside libssl is not recorded twice (the guard).
CT_EXPORT int SSL_peek(void* ssl, void* buf, int num) {
  Guard g;
  resolve_ssl();
  return real_ssl.peek ? real_ssl.peek(ssl, buf, num) : -1;
}

CT_EXPORT int SSL_peek_ex(void* ssl, void* buf, size_t num, size_t* readbytes) {
  Guard g;
  resolve_ssl();
  return real_ssl.peek_ex ? real_ssl.peek_ex(ssl, buf, num, readbytes) : 0;
}

CT_EXPORT int SSL_shutdown(void* ssl) {
  resolve_ssl();
  ssl_ended(ssl);
  Guard g;
  return real_ssl.shutdown ? real_ssl.shutdown(ssl) : -1;
}

CT_EXPORT void SSL_free(void* ssl) {
  resolve_ssl();
  if (ssl) ssl_ended(ssl);  // before the address can be reused by a new SSL object
  Guard g;
  if (real_ssl.free) real_ssl.free(ssl);
}

// ---- libc socket wrappers ----------------------------------------------------------------

CT_EXPORT int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  Guard g;
  const auto& r = net();
  int rc = r.connect ? r.connect(fd, addr, len)
                     : static_cast<int>(syscall(SYS_connect, fd, addr, len));
  if ((rc == 0 || errno == EINPROGRESS) && g.entered() && addr &&
      (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) && tracing() && !is_relay_peer(addr, len)) {
    const int err = errno;
    capture_connected(fd);
    errno = err;
  }
  return rc;
}

CT_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.write ? r.write(fd, buf, n) : syscall(SYS_write, fd, buf, n);
  if (watch_write(fd)) moved1(fd, Direction::out, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.writev ? r.writev(fd, iov, iovcnt) : syscall(SYS_writev, fd, iov, iovcnt);
  if (watch_write(fd)) moved(fd, Direction::out, iov, iovcnt, rc, g);
  return rc;
}

CT_EXPORT ssize_t send(int fd, const void* buf, size_t n, int flags) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.send ? r.send(fd, buf, n, flags)
                      : syscall(SYS_sendto, fd, buf, n, flags, nullptr, 0);
  if (watch_write(fd)) moved1(fd, Direction::out, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags,
                         const struct sockaddr* addr, socklen_t len) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.sendto ? r.sendto(fd, buf, n, flags, addr, len)
                        : syscall(SYS_sendto, fd, buf, n, flags, addr, len);
  if (watch_write(fd)) moved1(fd, Direction::out, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.sendmsg ? r.sendmsg(fd, msg, flags) : syscall(SYS_sendmsg, fd, msg, flags);
  if (watch_write(fd) && msg)
    moved(fd, Direction::out, msg->msg_iov, static_cast<int>(msg->msg_iovlen), rc, g);
  return rc;
}

CT_EXPORT ssize_t read(int fd, void* buf, size_t n) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.read ? r.read(fd, buf, n) : syscall(SYS_read, fd, buf, n);
  if (watch_read(fd, 0)) moved1(fd, Direction::in, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.read_chk ? r.read_chk(fd, buf, n, buflen) : syscall(SYS_read, fd, buf, n);
  if (watch_read(fd, 0)) moved1(fd, Direction::in, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.readv ? r.readv(fd, iov, iovcnt) : syscall(SYS_readv, fd, iov, iovcnt);
  if (watch_read(fd, 0)) moved(fd, Direction::in, iov, iovcnt, rc, g);
  return rc;
}

CT_EXPORT ssize_t recv(int fd, void* buf, size_t n, int flags) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.recv ? r.recv(fd, buf, n, flags)
                      : syscall(SYS_recvfrom, fd, buf, n, flags, nullptr, nullptr);
  if (watch_read(fd, flags)) moved1(fd, Direction::in, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.recv_chk ? r.recv_chk(fd, buf, n, buflen, flags)
                          : syscall(SYS_recvfrom, fd, buf, n, flags, nullptr, nullptr);
  if (watch_read(fd, flags)) moved1(fd, Direction::in, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* addr,
                           socklen_t* len) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.recvfrom ? r.recvfrom(fd, buf, n, flags, addr, len)
                          : syscall(SYS_recvfrom, fd, buf, n, flags, addr, len);
  if (watch_read(fd, flags)) moved1(fd, Direction::in, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags,
                                 struct sockaddr* addr, socklen_t* len) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.recvfrom_chk ? r.recvfrom_chk(fd, buf, n, buflen, flags, addr, len)
                              : syscall(SYS_recvfrom, fd, buf, n, flags, addr, len);
  if (watch_read(fd, flags)) moved1(fd, Direction::in, buf, rc, g);
  return rc;
}

CT_EXPORT ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  Guard g;
  const auto& r = net();
  ssize_t rc = r.recvmsg ? r.recvmsg(fd, msg, flags) : syscall(SYS_recvmsg, fd, msg, flags);
  if (watch_read(fd, flags) && msg)
    moved(fd, Direction::in, msg->msg_iov, static_cast<int>(msg->msg_iovlen), rc, g);
  return rc;
}

CT_EXPORT int close(int fd) {
  Guard g;
  if (g.entered() && fd_state(fd) != kFdIgnored) capture_fd_closed(fd);
  const auto& r = net();
  return r.close ? r.close(fd) : static_cast<int>(syscall(SYS_close, fd));
}

// Descriptors closed on the program's behalf: a captured connection ends here too, so the
// number, reused for a file or pipe, is not taken for the connection.
CT_EXPORT int dup2(int old_fd, int new_fd) {
  Guard g;
  if (g.entered() && old_fd != new_fd && fd_state(new_fd) != kFdIgnored) capture_fd_closed(new_fd);
  const auto& r = net();
  return r.dup2 ? r.dup2(old_fd, new_fd) : static_cast<int>(syscall(SYS_dup2, old_fd, new_fd));
}

CT_EXPORT int dup3(int old_fd, int new_fd, int flags) {
  Guard g;
  if (g.entered() && old_fd != new_fd && fd_state(new_fd) != kFdIgnored) capture_fd_closed(new_fd);
  const auto& r = net();
  return r.dup3 ? r.dup3(old_fd, new_fd, flags) : static_cast<int>(syscall(SYS_dup3, old_fd, new_fd, flags));
}

CT_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  Guard g;
  constexpr int kCloexecOnly = 4;  // CLOSE_RANGE_CLOEXEC: marks, does not close
  if (g.entered() && !(flags & kCloexecOnly)) capture_fds_closed(first, last);
  const auto& r = net();
  return r.close_range ? r.close_range(first, last, flags)
                       : static_cast<int>(syscall(SYS_close_range, first, last, flags));
}

CT_EXPORT void closefrom(int low) {
  Guard g;
  if (g.entered() && low >= 0) capture_fds_closed(static_cast<unsigned>(low), ~0u);
  const auto& r = net();
  if (r.closefrom) r.closefrom(low);
  else syscall(SYS_close_range, static_cast<unsigned>(low), ~0u, 0);
}
