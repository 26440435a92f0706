#include "sys.h"

#include <errno.h>

namespace clawtrace::sys {

bool write_all(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    long w = write_some(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool writev_all(int fd, const struct iovec* iov, int iovcnt) {
  size_t skip = 0;  // bytes of iov[0] already written
  while (iovcnt > 0) {
    struct iovec first = {static_cast<char*>(iov[0].iov_base) + skip, iov[0].iov_len - skip};
    struct iovec batch[64];
    int n = iovcnt < 64 ? iovcnt : 64;
    batch[0] = first;
    for (int i = 1; i < n; ++i) batch[i] = iov[i];
    long w = syscall(SYS_writev, fd, batch, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    size_t done = static_cast<size_t>(w);
    while (iovcnt > 0 && done >= iov[0].iov_len - skip) {
      done -= iov[0].iov_len - skip;
      skip = 0;
      ++iov;
      --iovcnt;
    }
    skip += done;
  }
  return true;
}

uint64_t random_id() {
  uint64_t v = 0;
  for (int tries = 0; tries < 4 && v == 0; ++tries) {
    long got = syscall(SYS_getrandom, &v, sizeof v, 0x1 /* GRND_NONBLOCK */);
    if (got != static_cast<long>(sizeof v)) {
      static uint64_t counter = 0;  // racy on purpose: only a fallback mix
      v = (now_ns() ^ (static_cast<uint64_t>(pid()) << 32) ^ ++counter) * 0x9E3779B97F4A7C15ull;
    }
  }
  return v;
}

uint64_t self_start_ticks() {
  int fd = open_at("/proc/self/stat", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return 0;
  char buf[1024];
  long n = read_some(fd, buf, sizeof buf - 1);
  close_fd(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const char* p = nullptr;
  for (long i = n - 1; i >= 0; --i)
    if (buf[i] == ')') { p = buf + i + 1; break; }
  if (!p) return 0;
  for (int field = 2; field < 22 && *p; ++p)
    if (*p == ' ') ++field;
  uint64_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  return v;
}

void hex16(uint64_t v, char* out) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = digits[v & 0xF];
}

bool parse_hex16(const char* s, uint64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < 16; ++i) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

size_t str_len(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

bool starts_with(const char* s, const char* prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return false;
  return true;
}

size_t copy_str(char* dst, size_t cap, const char* src) {
  size_t n = 0;
  if (cap == 0) return 0;
  while (src[n] && n + 1 < cap) { dst[n] = src[n]; ++n; }
  dst[n] = '\0';
  return n;
}

}  // namespace clawtrace::sys
