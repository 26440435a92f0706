#include "spool_reader.h"

#include <cstring>
#include <fstream>

namespace clawtrace {
namespace {

uint64_t load_u64(const char* p, uint32_t len) {
  uint64_t v = 0;
  std::memcpy(&v, p, len < 8 ? len : 8);
  return v;
}

std::vector<std::string> split_nul(const char* p, uint32_t len) {
  std::vector<std::string> out;
  uint32_t start = 0;
  for (uint32_t i = 0; i < len; ++i) {
    if (p[i] == '\0') {
      out.emplace_back(p + start, i - start);
      start = i + 1;
    }
  }
  if (start < len) out.emplace_back(p + start, len - start);  // cut short: keep the part
  return out;
}

void set_field(SpoolRecord& r, uint16_t tag, const char* p, uint32_t len) {
  using F = wire::Field;
  auto u = [&] { return load_u64(p, len); };
  switch (static_cast<F>(tag)) {
    case F::session: r.session = u(); break;
    case F::parent_session: r.parent_session = u(); break;
    case F::parent_span: r.parent_span = u(); break;
    case F::trace_hi: r.trace_hi = u(); break;
    case F::trace_lo: r.trace_lo = u(); break;
    case F::span: r.span = u(); break;
    case F::ppid: r.ppid = u(); break;
    case F::argv: r.argv = split_nul(p, len); break;
    case F::cwd: r.cwd.emplace(p, len); break;
    case F::path: r.path.emplace(p, len); break;
    case F::name: r.name.emplace(p, len); break;
    case F::tags: r.tags.emplace(p, len); break;
    case F::via: r.via = u(); break;
    case F::kind: r.kind = u(); break;
    case F::child_pid: r.child_pid = u(); break;
    case F::wait_status: r.wait_status = u(); break;
    case F::error: r.error = u(); break;
    case F::exit_code: r.exit_code = u(); break;
    case F::proc_start_ticks: r.proc_start_ticks = u(); break;
    case F::exit_via: r.exit_via = u(); break;
    case F::parent_exact: r.parent_exact = u(); break;
    case F::conn: r.conn = u(); break;
    case F::direction: r.direction = u(); break;
    case F::stream_offset: r.stream_offset = u(); break;
    case F::payload: r.payload.emplace(p, len); break;
    case F::layer: r.layer = u(); break;
    case F::host: r.host.emplace(p, len); break;
    case F::peer: r.peer.emplace(p, len); break;
    case F::note: r.note = u(); break;
    case F::ref_length: r.ref_length = u(); break;
    case F::ref_source: r.ref_source = u(); break;
    default: break;  // a newer writer's field: ignore
  }
}

// Checks that the bytes at p form a whole, intact record. 0 = not enough bytes yet,
// -1 = not a record here, else its length.
long record_at(const char* p, size_t avail) {
  if (avail < sizeof(wire::RecordHeader)) {
    // Could be the start of a record still being written; the magic decides.
    uint32_t magic = 0;
    std::memcpy(&magic, p, avail < 4 ? avail : 4);
    uint32_t want = wire::kRecordMagic;
    return std::memcmp(&magic, &want, avail < 4 ? avail : 4) == 0 ? 0 : -1;
  }
  wire::RecordHeader h;
  std::memcpy(&h, p, sizeof h);
  if (h.magic != wire::kRecordMagic || h.length < sizeof h || h.length > wire::kMaxRecordSize)
    return -1;
  if (h.length > avail) return 0;
  if (wire::checksum32(p + wire::kChecksumOffset, h.length - wire::kChecksumOffset) != h.checksum)
    return -1;
  return static_cast<long>(h.length);
}

SpoolRecord decode_one(const char* p, uint32_t length, uint64_t offset) {
  wire::RecordHeader h;
  std::memcpy(&h, p, sizeof h);
  SpoolRecord r;
  r.type = static_cast<wire::RecordType>(h.type);
  r.t_ns = h.t_ns;
  r.pid = h.pid;
  r.tid = h.tid;
  r.offset = offset;
  size_t at = sizeof h;
  while (at + sizeof(wire::FieldHeader) <= length) {
    wire::FieldHeader f;
    std::memcpy(&f, p + at, sizeof f);
    at += sizeof f;
    if (f.len > length - at) break;  // cannot happen with a valid checksum; be safe
    set_field(r, f.tag, p + at, f.len);
    if (f.tag == static_cast<uint16_t>(wire::Field::payload)) r.payload_offset = offset + at;
    if (f.flags & wire::kFieldTruncated) r.truncated_field = true;
    at += f.len;
  }
  return r;
}

}  // namespace

Result<SpoolHeader> parse_spool_header(const void* data, size_t len) {
  if (len < sizeof(wire::FileHeader)) return fail("spool file is shorter than its header");
  wire::FileHeader h;
  std::memcpy(&h, data, sizeof h);
  if (std::memcmp(h.magic, wire::kFileMagic, sizeof h.magic) != 0)
    return fail("not a ClawTrace spool file (bad magic)");
  if (h.version != wire::kFormatVersion)
    return fail("spool format version " + std::to_string(h.version) + " is not supported (expected " +
                std::to_string(wire::kFormatVersion) + ")");
  if (h.header_size < sizeof h) return fail("spool header is too small");
  return SpoolHeader{h.version, h.pid, h.proc_start_ticks, h.session, h.created_ns, h.header_size};
}

SpoolChunk decode_records(const char* buf, size_t len, uint64_t base, bool writer_gone) {
  SpoolChunk chunk;
  size_t at = 0;
  // Not a record here: corrupt, or incomplete when nobody will ever finish it.
  auto unusable = [&](long n) { return n < 0 || (n == 0 && writer_gone); };
  while (at < len) {
    long n = record_at(buf + at, len - at);
    if (n > 0) {
      chunk.records.push_back(decode_one(buf + at, static_cast<uint32_t>(n), base + at));
      at += static_cast<size_t>(n);
      continue;
    }
    if (!unusable(n)) break;  // incomplete: wait for the writer
    // Corrupt bytes (a torn write): resynchronise on the next intact record.
    size_t skip = 1;
    while (at + skip < len && unusable(record_at(buf + at + skip, len - at - skip))) ++skip;
    chunk.skipped_bytes += skip;
    at += skip;
  }
  chunk.next_offset = base + at;
  chunk.at_end = at == len;
  return chunk;
}

Result<SpoolHeader> read_spool_header(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot open " + file.string());
  char buf[sizeof(wire::FileHeader)];
  in.read(buf, sizeof buf);
  return parse_spool_header(buf, static_cast<size_t>(in.gcount()));
}

Result<SpoolChunk> read_spool(const std::filesystem::path& file, uint64_t offset, size_t max_bytes,
                              bool writer_gone) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot open " + file.string());
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  if (offset >= size) return SpoolChunk{{}, offset, 0, true};
  const size_t want = static_cast<size_t>(std::min<uint64_t>(size - offset, max_bytes));
  std::string buf(want, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(buf.data(), static_cast<std::streamsize>(want));
  buf.resize(static_cast<size_t>(in.gcount()));
  SpoolChunk chunk = decode_records(buf.data(), buf.size(), offset,
                                    writer_gone && offset + buf.size() == size);
  // A record larger than max_bytes: read exactly that record next time.
  if (chunk.records.empty() && chunk.skipped_bytes == 0 && buf.size() >= sizeof(wire::RecordHeader) &&
      want < size - offset) {
    wire::RecordHeader h;
    std::memcpy(&h, buf.data(), sizeof h);
    if (h.magic == wire::kRecordMagic && h.length <= wire::kMaxRecordSize && h.length > want)
      return read_spool(file, offset, h.length, writer_gone);
  }
  chunk.at_end = chunk.at_end && offset + buf.size() == size;
  return chunk;
}

}  // namespace clawtrace
