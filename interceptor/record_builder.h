// Builds one spool record without touching the heap: measure, then fill a buffer that is
// on the stack when small and an anonymous mapping when large (argv can be megabytes).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record_format.h"

namespace clawtrace {

// A byte buffer: inline when it fits, mmap'd otherwise. No malloc, so it is safe in a fork
// child and on the exec path.
class Scratch {
 public:
  static constexpr size_t kInline = 2048;
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();
  // Returns nullptr when the mapping fails.
  char* reserve(size_t n);

 private:
  alignas(16) char inline_[kInline];
  char* mapped_ = nullptr;
  size_t mapped_len_ = 0;
};

// Appends fields into `out` (which may be null: then it only measures). Use the same
// sequence of calls twice: once to size, once to write.
class RecordBuilder {
 public:
  RecordBuilder(char* out, wire::RecordType type, uint64_t t_ns, uint32_t pid, uint32_t tid);

  void u64(wire::Field f, uint64_t v) { bytes(f, &v, sizeof v, 0); }
  void str(wire::Field f, const char* s) {
    if (s) bytes(f, s, strlen(s), 0);
  }
  void str(wire::Field f, const char* s, size_t n) { bytes(f, s, n, 0); }
  // argv-style NULL-terminated vector, each string NUL-terminated in the record, with
  // credentials masked (redact_argument).
  void strv(wire::Field f, const char* const* v);
  void bytes(wire::Field f, const void* data, size_t n, uint16_t flags);

  size_t size() const { return size_; }
  // Seals the record (length and checksum) and returns its size.
  size_t finish();

 private:
  char* out_;
  size_t size_;
};

}  // namespace clawtrace
