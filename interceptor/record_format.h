// The spool wire format: what the preload writes and what ingestion (hooks/) reads.
// Versioned and length-prefixed; every multi-byte integer is little-endian (x86-64/arm64
// native). Header-only and free of the C++ library so the preload can use it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace clawtrace::wire {

// One spool file per session: <store>/spool/<session hex>.spool. Written only with
// O_APPEND write(2), so a record either lands whole or is detected as torn (checksum).
inline constexpr char kFileMagic[8] = {'C', 'T', 'S', 'P', 'O', 'O', 'L', '\0'};
inline constexpr uint16_t kFormatVersion = 1;

struct FileHeader {
  char magic[8];
  uint16_t version;
  uint16_t header_size;      // sizeof(FileHeader) at write time; readers skip extra bytes
  uint32_t pid;              // the process that owns the session
  uint64_t proc_start_ticks; // /proc/PID/stat field 22: tells a live pid from a reused one
  uint64_t session;
  uint64_t created_ns;       // CLOCK_REALTIME
};
static_assert(sizeof(FileHeader) == 40);

inline constexpr uint32_t kRecordMagic = 0x52544C43;  // "CLTR"
inline constexpr uint32_t kMaxRecordSize = 64u << 20;

struct RecordHeader {
  uint32_t magic;
  uint32_t length;    // whole record, header included
  uint32_t checksum;  // checksum32() of the bytes after this field
  uint16_t type;      // RecordType
  uint16_t reserved;
  uint64_t t_ns;      // CLOCK_REALTIME when the event happened
  uint32_t pid;
  uint32_t tid;
};
static_assert(sizeof(RecordHeader) == 32);
inline constexpr size_t kChecksumOffset = 12;  // checksum covers [12, length)

enum class RecordType : uint16_t {
  proc_start = 1,     // a session begins, or a new image continues it after exec
  exec = 2,           // about to exec (argv, path); the image may be untraceable
  exec_failed = 3,    // exec returned: errno
  spawn = 4,          // a child process was started (fork/posix_spawn/system/popen)
  spawn_end = 5,      // system()/pclose() returned the child's status
  reap = 6,           // wait-family call reported a child's status
  proc_exit = 7,      // the process is exiting (exit, _exit, return from main)
  observed_exit = 8,  // written by `clawtrace run`: the root's wait status
  conn_open = 9,      // a connection carrying LLM-looking HTTP/1.x is tracked from now on
  conn_data = 10,     // bytes sent or received on a tracked connection (already redacted)
  conn_close = 11,    // the tracked connection ended (close, SSL_free, SSL_shutdown)
  conn_note = 12,     // something about a connection the user should know (NoteKind)
  conn_ref = 13,      // bytes sent that repeat earlier bytes of the same direction (an
                      // agent re-sending its conversation): ingestion copies them from there
};

// Fields are tag-length-value: FieldHeader then `len` bytes. Unknown tags are skipped.
struct FieldHeader {
  uint16_t tag;
  uint16_t flags;
  uint32_t len;
};
static_assert(sizeof(FieldHeader) == 8);
inline constexpr uint16_t kFieldTruncated = 1;  // the value was cut to fit

enum class Field : uint16_t {
  session = 1,          // u64
  parent_session = 2,   // u64
  parent_span = 3,      // u64; 0 = resolve by parent pid and time at ingestion
  trace_hi = 4,         // u64
  trace_lo = 5,         // u64
  span = 6,             // u64
  ppid = 7,             // u64
  argv = 8,             // NUL-terminated strings, one after another
  cwd = 9,              // string
  path = 10,            // string
  name = 11,            // string
  tags = 12,            // string, "k=v" pairs separated by ','
  via = 13,             // u64, Via
  kind = 14,            // u64, SpawnKind
  child_pid = 15,       // u64
  wait_status = 16,     // u64, raw wait(2) status
  error = 17,           // u64, errno
  exit_code = 18,       // u64
  proc_start_ticks = 19,// u64
  exit_via = 20,        // u64, ExitVia
  parent_exact = 21,    // u64 0/1: parent_session's pid is our ppid
  conn = 22,            // u64, connection id (random, unique per process)
  direction = 23,       // u64, Direction
  stream_offset = 24,   // u64, position of the first payload byte in its direction
  payload = 25,         // bytes
  layer = 26,           // u64, Layer
  host = 27,            // string: TLS SNI, else empty (the Host header is in the bytes)
  peer = 28,            // string: "address:port" of a socket connection
  note = 29,            // u64, NoteKind
  ref_length = 30,      // u64, conn_ref: how many bytes
  ref_source = 31,      // u64, conn_ref: stream offset of the earlier copy (same direction)
};

enum class Via : uint64_t { root = 1, child = 2, fork = 3, exec = 4 };
enum class SpawnKind : uint64_t {
  fork = 1, vfork = 2, fork_raw = 3, posix_spawn = 4, posix_spawnp = 5, system = 6, popen = 7,
};
enum class Direction : uint64_t { out = 0, in = 1 };  // out: bytes the process sent
enum class Layer : uint64_t { tls = 1, socket = 2, relay = 3 };  // relay: `clawtrace relay` forwarded it
enum class NoteKind : uint64_t { http2_unsupported = 1, capture_overflow = 2 };
enum class ExitVia : uint64_t { main_return = 1, exit = 2, exit_now = 3, destructor = 4 };

// Fast, dependency-free 32-bit checksum (64-bit multiply-xor over 8-byte words). It only
// has to catch torn or garbage bytes, not adversaries.
inline uint32_t checksum32(const void* data, size_t len) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xFF51AFD7ED558CCDull);
  while (len >= 8) {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    p += 8;
    len -= 8;
  }
  uint64_t tail = 0;
  for (size_t i = 0; i < len; ++i) tail |= static_cast<uint64_t>(p[i]) << (8 * i);
  h = (h ^ tail) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 32;
  return static_cast<uint32_t>(h);
}

}  // namespace clawtrace::wire
