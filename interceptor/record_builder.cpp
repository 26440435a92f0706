#include "record_builder.h"

#include <sys/mman.h>

#include "redact.h"

namespace clawtrace {

Scratch::~Scratch() {
  if (mapped_) munmap(mapped_, mapped_len_);
}

char* Scratch::reserve(size_t n) {
  if (n <= kInline) return inline_;
  if (mapped_ && mapped_len_ >= n) return mapped_;
  if (mapped_) munmap(mapped_, mapped_len_);
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    mapped_ = nullptr;
    mapped_len_ = 0;
    return nullptr;
  }
  mapped_ = static_cast<char*>(p);
  mapped_len_ = n;
  return mapped_;
}

RecordBuilder::RecordBuilder(char* out, wire::RecordType type, uint64_t t_ns, uint32_t pid,
                             uint32_t tid)
    : out_(out), size_(sizeof(wire::RecordHeader)) {
  if (!out_) return;
  wire::RecordHeader h{};
  h.magic = wire::kRecordMagic;
  h.type = static_cast<uint16_t>(type);
  h.t_ns = t_ns;
  h.pid = pid;
  h.tid = tid;
  memcpy(out_, &h, sizeof h);
}

void RecordBuilder::bytes(wire::Field f, const void* data, size_t n, uint16_t flags) {
  if (out_) {
    wire::FieldHeader fh{static_cast<uint16_t>(f), flags, static_cast<uint32_t>(n)};
    memcpy(out_ + size_, &fh, sizeof fh);
    if (n) memcpy(out_ + size_ + sizeof fh, data, n);
  }
  size_ += sizeof(wire::FieldHeader) + n;
}

void RecordBuilder::strv(wire::Field f, const char* const* v) {
  size_t n = 0;
  for (size_t i = 0; v && v[i]; ++i) n += strlen(v[i]) + 1;
  if (out_) {
    wire::FieldHeader fh{static_cast<uint16_t>(f), 0, static_cast<uint32_t>(n)};
    memcpy(out_ + size_, &fh, sizeof fh);
    char* p = out_ + size_ + sizeof fh;
    bool secret_next = false;
    for (size_t i = 0; v && v[i]; ++i) {
      size_t len = strlen(v[i]) + 1;
      memcpy(p, v[i], len);
      // `curl -H "x-api-key: …"`, `--api-key …` must not reach the store.
      if (secret_next) memset(p, '*', len - 1);
      else preload::redact_argument(p, len - 1);
      secret_next = preload::is_secret_flag(v[i]);
      p += len;
    }
  }
  size_ += sizeof(wire::FieldHeader) + n;
}

size_t RecordBuilder::finish() {
  if (out_) {
    uint32_t len = static_cast<uint32_t>(size_);
    memcpy(out_ + 4, &len, sizeof len);
    uint32_t sum = wire::checksum32(out_ + wire::kChecksumOffset, size_ - wire::kChecksumOffset);
    memcpy(out_ + 8, &sum, sizeof sum);
  }
  return size_;
}

}  // namespace clawtrace
