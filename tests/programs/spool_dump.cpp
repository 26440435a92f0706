// Prints the records of spool files, one line each (a debugging and test aid).
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "spool_reader.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    auto head = clawtrace::read_spool_header(argv[i]);
    if (!head) {
      std::cerr << argv[i] << ": " << head.error() << "\n";
      return 1;
    }
    auto chunk = clawtrace::read_spool(argv[i], head->size, size_t{1} << 30);
    if (!chunk) {
      std::cerr << argv[i] << ": " << chunk.error() << "\n";
      return 1;
    }
    for (const auto& r : chunk->records) {
      std::printf("type=%u t=%llu pid=%u", static_cast<unsigned>(r.type),
                  static_cast<unsigned long long>(r.t_ns), r.pid);
      if (r.conn) std::printf(" conn=%016llx", static_cast<unsigned long long>(*r.conn));
      if (r.direction) std::printf(" dir=%llu", static_cast<unsigned long long>(*r.direction));
      if (r.stream_offset) std::printf(" off=%llu", static_cast<unsigned long long>(*r.stream_offset));
      if (r.host) std::printf(" host=%s", r.host->c_str());
      if (r.peer) std::printf(" peer=%s", r.peer->c_str());
      if (r.note) std::printf(" note=%llu", static_cast<unsigned long long>(*r.note));
      if (r.payload) std::printf(" len=%zu", r.payload->size());
      std::printf("\n");
      if (r.payload && std::getenv("SPOOL_DUMP_PAYLOAD")) std::fwrite(r.payload->data(), 1, r.payload->size(), stdout), std::printf("\n");
    }
    if (chunk->skipped_bytes) std::printf("skipped=%llu\n", static_cast<unsigned long long>(chunk->skipped_bytes));
  }
}
