// Raw system calls and small helpers for the preload. They go straight to the kernel, so
// our own I/O never re-enters a wrapper, takes no lock and allocates nothing: usable in a
// fork child of a multithreaded process and on the exec path.
#pragma once

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

namespace clawtrace::sys {

inline long write_some(int fd, const void* buf, size_t n) { return syscall(SYS_write, fd, buf, n); }
inline long read_some(int fd, void* buf, size_t n) { return syscall(SYS_read, fd, buf, n); }
inline int open_at(const char* path, int flags, int mode) {
  return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags, mode));
}
inline int close_fd(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }
inline int fstat_fd(int fd, struct stat* st) { return static_cast<int>(syscall(SYS_fstat, fd, st)); }
inline int mkdir_at(const char* path, int mode) {
  return static_cast<int>(syscall(SYS_mkdirat, AT_FDCWD, path, mode));
}
inline int dup_min(int fd, int min_fd) { return static_cast<int>(syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, min_fd)); }
inline pid_t pid() { return static_cast<pid_t>(syscall(SYS_getpid)); }
inline pid_t ppid() { return static_cast<pid_t>(syscall(SYS_getppid)); }
inline pid_t tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

inline uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);  // vDSO: no lock, no allocation
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Writes all of buf, retrying on EINTR and short writes. Returns false on error.
bool write_all(int fd, const void* buf, size_t n);
// The same for a gather list (not modified).
bool writev_all(int fd, const struct iovec* iov, int iovcnt);

// A fresh random 64-bit id, never 0. getrandom(2), with a time/pid mix as fallback.
uint64_t random_id();

// Field 22 of /proc/self/stat (start time in clock ticks), or 0 when unreadable.
uint64_t self_start_ticks();

// Lower-case hex of v, exactly 16 chars, no terminator.
void hex16(uint64_t v, char* out);
// Parses exactly 16 hex chars; false on anything else.
bool parse_hex16(const char* s, uint64_t* out);

size_t str_len(const char* s);
bool starts_with(const char* s, const char* prefix);
// Copies at most cap-1 chars and terminates; returns the length copied.
size_t copy_str(char* dst, size_t cap, const char* src);

}  // namespace clawtrace::sys
