// Reads spool files written by the preload (interceptor/record_format.h): the header, then
// whole records from a byte offset on. Tolerates a torn or garbage tail: a record that is
// not complete yet is left for the next read, a corrupt one is skipped with a note.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "record_format.h"
#include "result.h"

namespace clawtrace {

struct SpoolHeader {
  uint16_t version = 0;
  uint32_t pid = 0;
  uint64_t proc_start_ticks = 0;
  uint64_t session = 0;
  uint64_t created_ns = 0;
  uint32_t size = 0;  // bytes before the first record
};

// One decoded record. Absent fields stay nullopt/empty.
struct SpoolRecord {
  wire::RecordType type{};
  uint64_t t_ns = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t offset = 0;  // where it starts in the file
  std::optional<uint64_t> session, parent_session, parent_span, trace_hi, trace_lo, span, ppid,
      via, kind, child_pid, wait_status, error, exit_code, proc_start_ticks, exit_via,
      parent_exact, conn, direction, stream_offset, layer, note, ref_length, ref_source;
  std::optional<std::vector<std::string>> argv;
  std::optional<std::string> cwd, path, name, tags, payload, host, peer;
  bool truncated_field = false;
  uint64_t payload_offset = 0;  // where the payload bytes start in the file (if any)
};

struct SpoolChunk {
  std::vector<SpoolRecord> records;
  uint64_t next_offset = 0;    // resume reading here
  uint64_t skipped_bytes = 0;  // corrupt bytes passed over
  bool at_end = false;         // nothing after next_offset right now
};

Result<SpoolHeader> parse_spool_header(const void* data, size_t len);
// Decodes the records in buf (bytes of a spool file starting at file offset `base`).
// Stops before an incomplete record; skips corrupt bytes up to the next valid record.
// With `writer_gone` (buf runs to the end of the file of a process that has exited), an
// incomplete record can never complete: it is a torn write and is skipped like one.
SpoolChunk decode_records(const char* buf, size_t len, uint64_t base, bool writer_gone = false);
// Reads and decodes a file from `offset` (at least the header size), at most max_bytes;
// `writer_gone` as above, applied when the read reaches the end of the file.
Result<SpoolChunk> read_spool(const std::filesystem::path& file, uint64_t offset, size_t max_bytes,
                              bool writer_gone = false);
Result<SpoolHeader> read_spool_header(const std::filesystem::path& file);

}  // namespace clawtrace
