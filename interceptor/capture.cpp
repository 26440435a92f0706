#include "capture.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "classify.h"
#include "redact.h"
#include "runtime.h"
#include "guard.h"
#include "sys.h"

namespace clawtrace::preload {

std::atomic<uint8_t> g_fd_state[kMaxWatchedFd];

namespace {

constexpr int kSlots = 256;                  // connections tracked at once
constexpr size_t kBlockSize = 1u << 20;      // queue memory comes in blocks of this size
constexpr size_t kQueueSoftLimit = 64u << 20; // past this, producers write synchronously
constexpr size_t kMaxPayload = 16u << 20;    // one record carries at most this much
constexpr int kIovBatch = 64;
constexpr long kIdleFlushNs = 100000000;     // held-back bytes wait at most this long
constexpr long kExitWaitNs = 2000000000;     // at exit, how long a writer may make no progress
// Once woken, the writer lets records accumulate a moment before writing: producers then
// find it busy and skip the wake-up system call (a streamed response is dozens of reads).
// The window is shorter when received bytes are queued: a response may be the last thing
// a process does before it leaves by a raw exit_group (Bun does), which no wrapper sees.
constexpr long kBatchWindowNs = 2000000;
constexpr long kReceivedWindowNs = 1000000;
constexpr size_t kBatchBytes = 1u << 20;     // ...unless this much is already queued
constexpr int kWriterNice = 10;
constexpr size_t kMaxHistory = 16u << 20;     // longest request kept for deduplication
constexpr size_t kMinRef = 512;               // shorter repeats are written out

// ---- connection slots ----------------------------------------------------------------

struct Slot {
  std::atomic<uintptr_t> key{0};  // SSL* or (fd << 1 | 1); 0 = free
  uint64_t id = 0;
  uint64_t offset[2] = {0, 0};    // next stream position per direction (under the queue lock)
};
constinit Slot g_slots[kSlots];
std::atomic<int> g_slot_high{0};     // slots at or above this index are free
std::atomic<int> g_ssl_live{0};      // tracked SSL connections
constinit std::atomic<uint16_t> g_fd_slot[kMaxWatchedFd];
std::atomic<int> g_fds_watched{0};   // any fd ever marked (to skip the reset in fork children)
std::atomic<bool> g_h2_reported{false};
std::atomic<bool> g_capture_used{false};  // any connection watched or record queued

uintptr_t fd_key(int fd) { return (static_cast<uintptr_t>(fd) << 1) | 1u; }

int find_slot(uintptr_t key) {
  const int high = g_slot_high.load(std::memory_order_acquire);
  for (int i = 0; i < high; ++i)
    if (g_slots[i].key.load(std::memory_order_acquire) == key) return i;
  return -1;
}

// ---- the queue -------------------------------------------------------------------------

struct Block {
  Block* next;
  size_t cap;   // bytes of data after this header
  size_t used;
  char* data() { return reinterpret_cast<char*>(this + 1); }
};

// Standard-size blocks are recycled (touching fresh mappings costs a page fault per 4 KiB).
constexpr int kPoolMax = 8;
Block* g_pool[kPoolMax];
std::atomic<int> g_pool_lock{0};

bool pool_acquire() {
  int expected = 0;
  while (!g_pool_lock.compare_exchange_weak(expected, 1, std::memory_order_acquire)) expected = 0;
  return true;
}
void pool_release() { g_pool_lock.store(0, std::memory_order_release); }

Block* new_block(size_t need) {
  if (need <= kBlockSize && pool_acquire()) {
    Block* b = nullptr;
    for (auto& slot : g_pool)
      if (!b && slot) {
        b = slot;
        slot = nullptr;
      }
    pool_release();
    if (b) {
      b->next = nullptr;
      b->used = 0;
      return b;
    }
  }
  size_t total = sizeof(Block) + (need > kBlockSize ? need : kBlockSize);
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  Block* b = static_cast<Block*>(p);
  b->next = nullptr;
  b->cap = total - sizeof(Block);
  b->used = 0;
  return b;
}

void free_blocks(Block* b) {
  while (b) {
    Block* next = b->next;
    bool pooled = false;
    if (b->cap == kBlockSize && pool_acquire()) {
      for (auto& slot : g_pool)
        if (!pooled && !slot) {
          slot = b;
          pooled = true;
        }
      pool_release();
    }
    if (!pooled) munmap(b, sizeof(Block) + b->cap);
    b = next;
  }
}

struct Queue {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  pthread_mutex_t io = PTHREAD_MUTEX_INITIALIZER;  // held by whoever writes to the spool
  Block* head = nullptr;
  Block* tail = nullptr;
  size_t bytes = 0;
  bool writer_started = false;
  bool writer_failed = false;
  bool writer_waiting = false;
  bool received = false;  // the queue holds received bytes: a short batch window
  // Whether capture_drain has anything to do. `pending` changes only under `mu`; `busy`
  // (a detached list being written) and `carries` (bytes held back) only under `io`.
  std::atomic<bool> pending{false};
  std::atomic<bool> busy{false};
  std::atomic<bool> carries{false};
  std::atomic<size_t> room{0};  // free bytes at the tail (written under `mu`, peeked without)
  std::atomic<uint64_t> written{0};  // records written so far: whether the io holder moves
};
constinit Queue q;

// Data records have a fixed head; the payload is the last field so it can shrink in place.
struct DataHead {
  wire::RecordHeader h;
  wire::FieldHeader f_conn;
  uint64_t conn;
  wire::FieldHeader f_dir;
  uint64_t dir;
  wire::FieldHeader f_offset;
  uint64_t offset;
  wire::FieldHeader f_payload;
};
static_assert(sizeof(DataHead) == 88);

// The calling thread's id, cached (a fork child resets it: its one thread has a new id).
thread_local uint32_t t_tid __attribute__((tls_model("initial-exec"))) = 0;
uint32_t cached_tid() {
  if (!t_tid) t_tid = static_cast<uint32_t>(sys::tid());
  return t_tid;
}

wire::RecordHeader record_header(wire::RecordType type, uint32_t length, uint64_t t_ns) {
  wire::RecordHeader h{};
  h.magic = wire::kRecordMagic;
  h.length = length;
  h.type = static_cast<uint16_t>(type);
  h.t_ns = t_ns;
  h.pid = self_pid();
  h.tid = cached_tid();
  return h;
}

// Appends a block to the queue. Called with q.mu held.
void link_block(Block* b) {
  if (q.tail) q.tail->next = b;
  else q.head = b;
  q.tail = b;
  q.room.store(b->cap - b->used, std::memory_order_relaxed);
}

// Space for one record at the queue's tail. Called with q.mu held; lock_with_room made
// the room beforehand, so mapping memory here happens only when another thread took it.
char* reserve(size_t len) {
  if (!q.tail || q.tail->cap - q.tail->used < len) {
    Block* b = new_block(len);
    if (!b) return nullptr;
    link_block(b);
  }
  char* p = q.tail->data() + q.tail->used;
  q.tail->used += len;
  q.bytes += len;
  q.room.store(q.tail->cap - q.tail->used, std::memory_order_relaxed);
  return p;
}

// Takes the queue lock with room for `need` more bytes at the tail: a block that is needed
// is mapped (or taken from the pool) before the lock, not while holding it.
void lock_with_room(size_t need) {
  Block* spare = q.room.load(std::memory_order_relaxed) < need ? new_block(need) : nullptr;
  pthread_mutex_lock(&q.mu);
  if (!spare) return;
  if (!q.tail || q.tail->cap - q.tail->used < need) link_block(spare);
  else free_blocks(spare);  // another thread made room meanwhile
}

void fill_data_head(char* p, uint64_t conn, wire::Direction d, uint64_t offset, size_t n,
                    uint64_t t_ns) {
  DataHead dh{};
  dh.h = record_header(wire::RecordType::conn_data, static_cast<uint32_t>(sizeof dh + n), t_ns);
  dh.f_conn = {static_cast<uint16_t>(wire::Field::conn), 0, 8};
  dh.conn = conn;
  dh.f_dir = {static_cast<uint16_t>(wire::Field::direction), 0, 8};
  dh.dir = static_cast<uint64_t>(d);
  dh.f_offset = {static_cast<uint16_t>(wire::Field::stream_offset), 0, 8};
  dh.offset = offset;
  dh.f_payload = {static_cast<uint16_t>(wire::Field::payload), 0, static_cast<uint32_t>(n)};
  memcpy(p, &dh, sizeof dh);
}

// A small record (open/close/note) built with RecordBuilder-like appends.
class SmallRecord {
 public:
  static constexpr size_t kMax = 1024;
  SmallRecord(wire::RecordType type, uint64_t t_ns) : type_(type), t_ns_(t_ns) {}
  void u64(wire::Field f, uint64_t v) { add(f, &v, sizeof v); }
  void str(wire::Field f, const char* s) {
    if (s && *s) add(f, s, strlen(s));
  }
  void add(wire::Field f, const void* v, size_t n) {
    if (len_ + sizeof(wire::FieldHeader) + n > sizeof buf_) return;
    wire::FieldHeader fh{static_cast<uint16_t>(f), 0, static_cast<uint32_t>(n)};
    memcpy(buf_ + len_, &fh, sizeof fh);
    memcpy(buf_ + len_ + sizeof fh, v, n);
    len_ += sizeof fh + n;
  }
  // Appends to the queue; called with q.mu held.
  void enqueue() {
    char* p = reserve(len_);
    if (!p) return;
    wire::RecordHeader h = record_header(type_, static_cast<uint32_t>(len_), t_ns_);
    memcpy(buf_, &h, sizeof h);
    memcpy(p, buf_, len_);
  }

 private:
  wire::RecordType type_;
  uint64_t t_ns_;
  char buf_[kMax];
  size_t len_ = sizeof(wire::RecordHeader);
};

// ---- the writer (background thread, or the draining thread) ----------------------------

// Bytes of one request, kept by the writer to find what the next request repeats.
struct History {
  char* data = nullptr;
  size_t len = 0;
  size_t cap = 0;

  // False when the request is too long to keep (then it is simply not deduplicated).
  bool append(const char* p, size_t n) {
    if (len + n > cap) {
      size_t want = cap ? cap : 64 * 1024;
      while (want < len + n) want *= 2;
      if (want > kMaxHistory) return false;
      void* m = mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) return false;
      if (len) memcpy(m, data, len);
      if (data) munmap(data, cap);
      data = static_cast<char*>(m);
      cap = want;
    }
    memcpy(data + len, p, n);
    len += n;
    return true;
  }
  void release() {
    if (data) munmap(data, cap);
    *this = History{};
  }
};

// Deduplication of sent bytes: agents re-send their whole conversation with every request,
// so most of a request repeats the previous one. Those bytes go to the spool as a conn_ref
// to the earlier copy instead of again (ingestion copies them back).
struct Dedup {
  History prev, cur;         // the previous request's bytes, and this one's so far
  uint64_t prev_start = 0;   // stream offset of prev's first byte
  uint64_t cur_start = 0;
  bool matching = false;     // every byte of cur so far equals prev at the same position
  bool new_request = true;   // bytes were received since the last sent: next sent bytes start one
  bool off = false;          // a request was too long to keep
};

struct WriterConn {
  uint64_t id = 0;
  Redactor red[2];
  char carry[2][kMaxHoldBack];
  size_t carry_len[2] = {0, 0};
  uint64_t carry_t[2] = {0, 0};
  uint64_t carry_offset[2] = {0, 0};
  Dedup dedup;
};
constinit WriterConn g_wconns[kSlots];
SecretSet g_secrets;  // count = 0 at start; the rest is filled as keys are learned

WriterConn* writer_conn(uint64_t id, bool create) {
  WriterConn* free_one = nullptr;
  for (auto& w : g_wconns) {
    if (w.id == id) return &w;
    if (!free_one && w.id == 0) free_one = &w;
  }
  if (!create || !free_one) return nullptr;
  *free_one = WriterConn{};
  free_one->id = id;
  return free_one;
}

// Output of one batch: iovecs into queue blocks and into an arena of rebuilt records.
struct Batch {
  struct iovec iov[kIovBatch];
  int n = 0;
  Block* arena = nullptr;
  bool ok = true;

  void add(const void* p, size_t len) {
    if (n == kIovBatch) flush();
    iov[n].iov_base = const_cast<void*>(p);
    iov[n].iov_len = len;
    ++n;
  }
  void flush() {
    if (n && ok) ok = append_records(iov, n);
    n = 0;
  }
  char* alloc(size_t len) {
    if (!arena || arena->cap - arena->used < len) {
      Block* b = new_block(len);
      if (!b) return nullptr;
      b->next = arena;
      arena = b;
    }
    char* p = arena->data() + arena->used;
    arena->used += len;
    return p;
  }
  void finish() {
    flush();
    free_blocks(arena);
    arena = nullptr;
  }
};

void seal(char* rec) {
  wire::RecordHeader h;
  memcpy(&h, rec, sizeof h);
  uint32_t sum = wire::checksum32(rec + wire::kChecksumOffset, h.length - wire::kChecksumOffset);
  memcpy(rec + 8, &sum, sizeof sum);
}

void emit_sent(WriterConn& w, char* rec, size_t n, Batch& out);

// Emits a data record built from the held-back bytes of one direction (redacted as final).
void flush_carry(WriterConn& w, int d, Batch& out) {
  size_t n = w.carry_len[d];
  if (!n) return;
  w.red[d].process(w.carry[d], n, g_secrets, true);
  char* rec = out.alloc(sizeof(DataHead) + n);
  w.carry_len[d] = 0;
  if (!rec) return;
  fill_data_head(rec, w.id, static_cast<wire::Direction>(d), w.carry_offset[d], n, w.carry_t[d]);
  memcpy(rec + sizeof(DataHead), w.carry[d], n);
  if (d == 0) {
    emit_sent(w, rec, n, out);
    return;
  }
  w.dedup.new_request = true;
  seal(rec);
  out.add(rec, sizeof(DataHead) + n);
}

size_t common_prefix(const char* a, const char* b, size_t n) {
  size_t i = 0;
  while (i + 64 <= n && memcmp(a + i, b + i, 64) == 0) i += 64;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

void add_ref(Batch& out, const DataHead& dh, uint64_t length, uint64_t source) {
  struct RefRecord {
    wire::RecordHeader h;
    wire::FieldHeader f_conn;
    uint64_t conn;
    wire::FieldHeader f_dir;
    uint64_t dir;
    wire::FieldHeader f_offset;
    uint64_t offset;
    wire::FieldHeader f_length;
    uint64_t length;
    wire::FieldHeader f_source;
    uint64_t source;
  } r{};
  char* rec = out.alloc(sizeof r);
  if (!rec) return;
  r.h = dh.h;
  r.h.type = static_cast<uint16_t>(wire::RecordType::conn_ref);
  r.h.length = sizeof r;
  r.f_conn = dh.f_conn;
  r.conn = dh.conn;
  r.f_dir = dh.f_dir;
  r.dir = dh.dir;
  r.f_offset = dh.f_offset;
  r.offset = dh.offset;
  r.f_length = {static_cast<uint16_t>(wire::Field::ref_length), 0, 8};
  r.length = length;
  r.f_source = {static_cast<uint16_t>(wire::Field::ref_source), 0, 8};
  r.source = source;
  memcpy(rec, &r, sizeof r);
  seal(rec);
  out.add(rec, sizeof r);
}

// Emits the (redacted) data record `rec` holding n payload bytes: what repeats the previous
// request on this connection as a conn_ref, the rest as data.
void emit_sent(WriterConn& w, char* rec, size_t n, Batch& out) {
  Dedup& dd = w.dedup;
  DataHead dh;
  memcpy(&dh, rec, sizeof dh);
  const char* payload = rec + sizeof dh;
  if (dd.new_request) {
    History done = dd.prev;
    dd.prev = dd.cur;
    dd.cur = done;
    dd.cur.len = 0;
    dd.prev_start = dd.cur_start;
    dd.cur_start = dh.offset;
    dd.matching = dd.prev.len > 0 && !dd.off;
    dd.new_request = false;
    dd.off = false;
  }
  size_t m = 0;
  const size_t pos = dd.cur.len;
  if (dd.matching) {
    const size_t avail = dd.prev.len > pos ? dd.prev.len - pos : 0;
    m = common_prefix(payload, dd.prev.data + pos, n < avail ? n : avail);
    dd.matching = m == n;
  }
  if (!dd.off && !dd.cur.append(payload, n)) dd.off = true;
  if (m < kMinRef) {
    seal(rec);
    out.add(rec, sizeof dh + n);
    return;
  }
  add_ref(out, dh, m, dd.prev_start + pos);
  if (m == n) return;
  // The rest as a data record, its head written over the bytes the reference replaced.
  char* rest = rec + sizeof dh + m - sizeof dh;
  dh.h.length = static_cast<uint32_t>(sizeof dh + (n - m));
  dh.f_payload.len = static_cast<uint32_t>(n - m);
  dh.offset += m;
  memcpy(rest, &dh, sizeof dh);
  seal(rest);
  out.add(rest, sizeof dh + (n - m));
}

// Redacts one data record, prepending bytes held back from the previous one of the same
// direction and holding back a new tail when redaction asks for it.
void write_data(char* rec, Batch& out, bool final) {
  DataHead dh;
  memcpy(&dh, rec, sizeof dh);
  WriterConn* w = writer_conn(dh.conn, false);
  const int d = dh.dir == 0 ? 0 : 1;
  size_t n = dh.f_payload.len;
  if (!w) return;  // no open record seen (the writer table was full): unredacted, so dropped
  char* payload = rec + sizeof dh;
  if (w->carry_len[d]) {
    const size_t c = w->carry_len[d];
    char* combined = out.alloc(sizeof dh + c + n);
    if (!combined) return;
    memcpy(combined + sizeof dh, w->carry[d], c);
    memcpy(combined + sizeof dh + c, payload, n);
    dh.offset = w->carry_offset[d];
    dh.h.t_ns = w->carry_t[d];
    rec = combined;
    payload = combined + sizeof dh;
    n += c;
    w->carry_len[d] = 0;
  }
  size_t hold = w->red[d].process(payload, n, g_secrets, final);
  if (hold > n) hold = n;
  if (hold > kMaxHoldBack) hold = kMaxHoldBack;
  if (hold) {
    memcpy(w->carry[d], payload + n - hold, hold);
    w->carry_len[d] = hold;
    w->carry_t[d] = dh.h.t_ns;
    w->carry_offset[d] = dh.offset + (n - hold);
    n -= hold;
  }
  if (!n) return;
  dh.h.length = static_cast<uint32_t>(sizeof dh + n);
  dh.f_payload.len = static_cast<uint32_t>(n);
  memcpy(rec, &dh, sizeof dh);
  if (d == 0) {
    emit_sent(*w, rec, n, out);
    return;
  }
  w->dedup.new_request = true;
  seal(rec);
  out.add(rec, sizeof dh + n);
}

uint64_t conn_field(const char* rec) {
  // conn is the first field of every connection record.
  uint64_t id;
  memcpy(&id, rec + sizeof(wire::RecordHeader) + sizeof(wire::FieldHeader), sizeof id);
  return id;
}

void write_record(char* rec, Batch& out, bool final) {
  wire::RecordHeader h;
  memcpy(&h, rec, sizeof h);
  switch (static_cast<wire::RecordType>(h.type)) {
    case wire::RecordType::conn_data:
      write_data(rec, out, final);
      return;
    case wire::RecordType::conn_open:
      writer_conn(conn_field(rec), true);
      break;
    case wire::RecordType::conn_close:
      if (WriterConn* w = writer_conn(conn_field(rec), false)) {
        flush_carry(*w, 0, out);
        flush_carry(*w, 1, out);
        w->dedup.prev.release();
        w->dedup.cur.release();
        w->id = 0;
      }
      break;
    default:
      break;
  }
  seal(rec);
  out.add(rec, h.length);
}

void flush_all_carries(Batch& out) {
  for (auto& w : g_wconns) {
    if (!w.id) continue;
    flush_carry(w, 0, out);
    flush_carry(w, 1, out);
  }
}

bool any_carry() {
  for (auto& w : g_wconns)
    if (w.id && (w.carry_len[0] || w.carry_len[1])) return true;
  return false;
}

// Writes a detached list of blocks. Called with q.io held.
void write_blocks(Block* list, bool final) {
  Batch out;
  for (Block* b = list; b; b = b->next) {
    for (size_t at = 0; at + sizeof(wire::RecordHeader) <= b->used;) {
      char* rec = b->data() + at;
      wire::RecordHeader h;
      memcpy(&h, rec, sizeof h);
      write_record(rec, out, final);
      q.written.fetch_add(1, std::memory_order_relaxed);
      at += h.length;
    }
  }
  if (final) flush_all_carries(out);
  out.finish();  // the iovecs point into `list`: write before freeing it
  free_blocks(list);
  q.carries.store(any_carry(), std::memory_order_release);
  q.busy.store(false, std::memory_order_release);
}

struct timespec deadline_in(long ns) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += ns % 1000000000;
  ts.tv_sec += ns / 1000000000 + ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  return ts;
}

// Locks q.io, waiting while its holder makes progress: a writer that is slow (niced, on a
// loaded machine) is waited for, one stuck for `patience_ns` (a hung file system) is not.
bool lock_io_while_progressing(long patience_ns) {
  for (;;) {
    const uint64_t seen = q.written.load(std::memory_order_relaxed);
    struct timespec deadline = deadline_in(patience_ns);
    const int rc = pthread_mutex_timedlock(&q.io, &deadline);
    if (rc == 0) return true;
    if (rc != ETIMEDOUT || q.written.load(std::memory_order_relaxed) == seen) return false;
  }
}

// Takes the queue and the right to write, in that order, so batches reach the spool in
// the order they were queued. With `patience_ns`, gives up (returns false) when a lock
// cannot be had: q.mu in that time, q.io after that long without progress.
bool take_queue(Block** list, long patience_ns) {
  if (patience_ns) {
    struct timespec deadline = deadline_in(patience_ns);
    if (pthread_mutex_timedlock(&q.mu, &deadline)) return false;
    if (!lock_io_while_progressing(patience_ns)) {
      pthread_mutex_unlock(&q.mu);
      return false;
    }
  } else {
    pthread_mutex_lock(&q.mu);
    pthread_mutex_lock(&q.io);
  }
  *list = q.head;
  q.head = q.tail = nullptr;
  q.bytes = 0;
  q.room.store(0, std::memory_order_relaxed);
  q.received = false;
  q.busy.store(true, std::memory_order_release);
  q.pending.store(false, std::memory_order_release);
  pthread_mutex_unlock(&q.mu);
  return true;
}

void* writer_main(void*) {
  t_busy = true;  // nothing this thread calls is traced
  // Below the program's own threads: the writer uses idle CPU, and exit drains anyway.
  syscall(SYS_setpriority, PRIO_PROCESS, sys::tid(), kWriterNice);
  for (;;) {
    pthread_mutex_lock(&q.mu);
    bool idle_flush = false;
    while (!q.head) {
      q.writer_waiting = true;
      // The flag, not the carries: those belong to whoever holds q.io (an exit drain may be
      // writing them right now), and this thread holds q.mu only.
      if (q.carries.load(std::memory_order_acquire)) {
        struct timespec ts = deadline_in(kIdleFlushNs);
        if (pthread_cond_timedwait(&q.cv, &q.mu, &ts) == ETIMEDOUT && !q.head) {
          idle_flush = true;
          break;
        }
      } else {
        pthread_cond_wait(&q.cv, &q.mu);
      }
    }
    q.writer_waiting = false;
    const bool batch = !idle_flush && q.bytes < kBatchBytes;
    const long window_ns = q.received ? kReceivedWindowNs : kBatchWindowNs;
    pthread_mutex_unlock(&q.mu);
    if (batch) {
      struct timespec window = {0, window_ns};
      nanosleep(&window, nullptr);
    }
    Block* list = nullptr;
    if (!take_queue(&list, 0)) continue;
    write_blocks(list, idle_flush);
    pthread_mutex_unlock(&q.io);
  }
  return nullptr;
}

// Called with q.mu held, after queueing.
void wake_writer_locked(bool* signal) {
  q.pending.store(true, std::memory_order_release);
  g_capture_used.store(true, std::memory_order_relaxed);
  if (!q.writer_started && !q.writer_failed) {
    // Start with every signal blocked so the thread never runs the program's handlers.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    q.writer_started = pthread_create(&t, &attr, writer_main, nullptr) == 0;
    q.writer_failed = !q.writer_started;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  *signal = q.writer_waiting;
}

// Finishes a producer's critical section: unlocks, wakes the writer, applies back-pressure.
void release_queue(bool signal) {
  const bool overloaded = q.bytes > kQueueSoftLimit || q.writer_failed;
  pthread_mutex_unlock(&q.mu);
  if (signal) pthread_cond_signal(&q.cv);
  if (overloaded) capture_drain(false);
}

// ---- tracking ----------------------------------------------------------------------------

// Claims a slot and queues conn_open. Called with q.mu held. Returns the slot or -1.
int open_conn(uintptr_t key, wire::Layer layer, const char* sni, int fd, uint64_t t_ns) {
  int i = 0;
  while (i < kSlots && g_slots[i].key.load(std::memory_order_relaxed) != 0) ++i;
  if (i == kSlots) return -1;
  g_capture_used.store(true, std::memory_order_relaxed);
  Slot& s = g_slots[i];
  s.id = sys::random_id();
  s.offset[0] = s.offset[1] = 0;
  s.key.store(key, std::memory_order_release);
  if (i >= g_slot_high.load(std::memory_order_relaxed)) g_slot_high.store(i + 1, std::memory_order_release);
  SmallRecord r(wire::RecordType::conn_open, t_ns);
  r.u64(wire::Field::conn, s.id);
  r.u64(wire::Field::layer, static_cast<uint64_t>(layer));
  r.str(wire::Field::host, sni);
  if (fd >= 0) {
    char peer[80];
    if (format_peer(fd, peer, sizeof peer)) r.str(wire::Field::peer, peer);
  }
  r.enqueue();
  return i;
}

// Queues conn_close and frees the slot. Called with q.mu held.
void close_conn(int i, uint64_t t_ns) {
  Slot& s = g_slots[i];
  SmallRecord r(wire::RecordType::conn_close, t_ns);
  r.u64(wire::Field::conn, s.id);
  r.enqueue();
  s.key.store(0, std::memory_order_release);
}

void note_http2(uintptr_t key, const char* sni, int fd, uint64_t t_ns) {
  if (g_h2_reported.exchange(true)) return;
  lock_with_room(SmallRecord::kMax);
  SmallRecord r(wire::RecordType::conn_note, t_ns);
  r.u64(wire::Field::conn, static_cast<uint64_t>(key));
  r.u64(wire::Field::note, static_cast<uint64_t>(wire::NoteKind::http2_unsupported));
  r.str(wire::Field::host, sni);
  char peer[80];
  if (fd >= 0 && format_peer(fd, peer, sizeof peer)) r.str(wire::Field::peer, peer);
  r.enqueue();
  bool signal = false;
  wake_writer_locked(&signal);
  release_queue(signal);
}

// Queues the bytes of one call (gathered from iovecs). Called with q.mu held.
void queue_bytes(int slot, wire::Direction d, const struct iovec* iov, int iovcnt, size_t n,
                 uint64_t t_ns) {
  Slot& s = g_slots[slot];
  const int di = d == wire::Direction::out ? 0 : 1;
  int v = 0;
  size_t v_off = 0;
  while (n > 0) {
    const size_t part = n < kMaxPayload ? n : kMaxPayload;
    char* rec = reserve(sizeof(DataHead) + part);
    if (!rec) return;
    fill_data_head(rec, s.id, d, s.offset[di], part, t_ns);
    char* dst = rec + sizeof(DataHead);
    for (size_t left = part; left > 0 && v < iovcnt;) {
      const size_t avail = iov[v].iov_len - v_off;
      const size_t take = avail < left ? avail : left;
      memcpy(dst, static_cast<const char*>(iov[v].iov_base) + v_off, take);
      dst += take;
      left -= take;
      v_off += take;
      if (v_off == iov[v].iov_len) {
        ++v;
        v_off = 0;
      }
    }
    s.offset[di] += part;
    n -= part;
  }
}

void record_io(int slot, wire::Direction d, const struct iovec* iov, int iovcnt, size_t n) {
  const uint64_t t = sys::now_ns();
  lock_with_room(sizeof(DataHead) + (n < kMaxPayload ? n : kMaxPayload));
  queue_bytes(slot, d, iov, iovcnt, n, t);
  q.received = q.received || d == wire::Direction::in;
  bool signal = false;
  wake_writer_locked(&signal);
  release_queue(signal);
}

// The first bytes of a request: up to 8 KiB gathered from the iovecs into `buf`.
size_t gather_prefix(const struct iovec* iov, int iovcnt, size_t n, char* buf, size_t cap) {
  size_t got = 0;
  for (int i = 0; i < iovcnt && got < cap && got < n; ++i) {
    size_t take = iov[i].iov_len;
    if (take > cap - got) take = cap - got;
    if (take > n - got) take = n - got;
    memcpy(buf + got, iov[i].iov_base, take);
    got += take;
  }
  return got;
}

// Starts tracking `key` if these first bytes are LLM traffic. Returns the slot or -1.
int classify_and_open(uintptr_t key, wire::Layer layer, const char* sni, int fd,
                      const char* head, size_t head_len, bool* http, bool* http2) {
  const Traffic t = classify_request(head, head_len, sni, capture_all_http());
  *http = t == Traffic::http;
  *http2 = t == Traffic::http2;
  if (t != Traffic::llm) return -1;
  lock_with_room(SmallRecord::kMax);
  int slot = open_conn(key, layer, sni, fd, sys::now_ns());
  pthread_mutex_unlock(&q.mu);
  return slot;
}

}  // namespace

// ---- socket layer ----------------------------------------------------------------------

void capture_connected(int fd) {
  if (fd < 0 || fd >= kMaxWatchedFd) return;
  if (fd_state(fd) == kFdTracked) capture_fd_closed(fd);  // a stale entry: the fd was reused
  g_fd_state[fd].store(kFdCandidate, std::memory_order_relaxed);
  g_fds_watched.store(1, std::memory_order_relaxed);
  g_capture_used.store(true, std::memory_order_relaxed);
}

void capture_fd_io(int fd, wire::Direction d, const struct iovec* iov, int iovcnt, size_t n) {
  if (n == 0) return;
  FdState st = fd_state(fd);
  if (st == kFdTracked) {
    record_io(g_fd_slot[fd].load(std::memory_order_relaxed), d, iov, iovcnt, n);
    return;
  }
  if (d != wire::Direction::out) return;  // untracked reads are not ours to look at
  char head[8192];
  size_t head_len = gather_prefix(iov, iovcnt, n, head, sizeof head);
  bool http = false, http2 = false;
  int slot = classify_and_open(fd_key(fd), wire::Layer::socket, nullptr, fd, head, head_len,
                               &http, &http2);
  if (slot >= 0) {
    g_fd_slot[fd].store(static_cast<uint16_t>(slot), std::memory_order_relaxed);
    g_fd_state[fd].store(kFdTracked, std::memory_order_relaxed);
    record_io(slot, d, iov, iovcnt, n);
    return;
  }
  if (http2) note_http2(fd_key(fd), nullptr, fd, sys::now_ns());
  // Not HTTP at all: never look again. HTTP: look at the next request on it.
  if (!http && st == kFdCandidate) g_fd_state[fd].store(kFdIgnored, std::memory_order_relaxed);
  else if (http) g_fd_state[fd].store(kFdHttp, std::memory_order_relaxed);
}

void capture_fd_closed(int fd) {
  FdState st = fd_state(fd);
  if (st == kFdIgnored) return;
  g_fd_state[fd].store(kFdIgnored, std::memory_order_relaxed);
  if (st != kFdTracked) return;
  const int slot = g_fd_slot[fd].load(std::memory_order_relaxed);
  lock_with_room(SmallRecord::kMax);
  if (g_slots[slot].key.load(std::memory_order_relaxed) == fd_key(fd)) close_conn(slot, sys::now_ns());
  bool signal = false;
  wake_writer_locked(&signal);
  release_queue(signal);
}

void capture_fds_closed(unsigned first, unsigned last) {
  if (!g_fds_watched.load(std::memory_order_relaxed)) return;
  const unsigned end = last < kMaxWatchedFd - 1 ? last : kMaxWatchedFd - 1;
  for (unsigned fd = first; fd <= end; ++fd)
    if (fd_state(static_cast<int>(fd)) != kFdIgnored) capture_fd_closed(static_cast<int>(fd));
}

// ---- TLS layer -------------------------------------------------------------------------

bool capture_ssl_tracked(const void* ssl) {
  return g_ssl_live.load(std::memory_order_relaxed) > 0 &&
         find_slot(reinterpret_cast<uintptr_t>(ssl)) >= 0;
}

void capture_ssl_io(const void* ssl, wire::Direction d, const void* buf, size_t n) {
  if (n == 0 || g_ssl_live.load(std::memory_order_relaxed) == 0) return;
  const int slot = find_slot(reinterpret_cast<uintptr_t>(ssl));
  if (slot < 0) return;
  struct iovec v = {const_cast<void*>(buf), n};
  record_io(slot, d, &v, 1, n);
}

void capture_ssl_first_write(const void* ssl, const void* buf, size_t n, const char* sni,
                             bool alpn_h2) {
  const uintptr_t key = reinterpret_cast<uintptr_t>(ssl);
  if (alpn_h2) {
    note_http2(key, sni, -1, sys::now_ns());
    return;
  }
  bool http = false, http2 = false;
  const size_t head_len = n < 8192 ? n : 8192;
  int slot = classify_and_open(key, wire::Layer::tls, sni, -1, static_cast<const char*>(buf),
                               head_len, &http, &http2);
  if (http2) note_http2(key, sni, -1, sys::now_ns());
  if (slot < 0) return;
  g_ssl_live.fetch_add(1, std::memory_order_relaxed);
  struct iovec v = {const_cast<void*>(buf), n};
  record_io(slot, wire::Direction::out, &v, 1, n);
}

void capture_ssl_ended(const void* ssl) {
  if (g_ssl_live.load(std::memory_order_relaxed) == 0) return;
  const uintptr_t key = reinterpret_cast<uintptr_t>(ssl);
  lock_with_room(SmallRecord::kMax);
  const int slot = find_slot(key);
  if (slot >= 0) {
    close_conn(slot, sys::now_ns());
    g_ssl_live.fetch_sub(1, std::memory_order_relaxed);
  }
  bool signal = false;
  if (slot >= 0) wake_writer_locked(&signal);
  release_queue(signal);
}

// ---- draining and forks ------------------------------------------------------------------

void capture_drain(bool final) {
  if (!q.pending.load(std::memory_order_acquire) && !q.busy.load(std::memory_order_acquire) &&
      !q.carries.load(std::memory_order_acquire))
    return;
  Block* list = nullptr;
  if (!take_queue(&list, final ? kExitWaitNs : 0)) return;
  write_blocks(list, final);
  pthread_mutex_unlock(&q.io);
}

void capture_after_fork_child() {
  // Only this thread survived: the parent's queue, writer and locks are not ours.
  t_tid = 0;
  const pthread_mutex_t fresh_mutex = PTHREAD_MUTEX_INITIALIZER;
  const pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
  q.mu = fresh_mutex;
  q.io = fresh_mutex;
  q.cv = fresh_cond;
  g_pool_lock.store(0);
  if (!g_capture_used.load(std::memory_order_relaxed)) return;  // nothing else was touched:
  // leave the (large, still untouched) tables alone, a fork child should not fault them in
  free_blocks(q.head);
  q.head = q.tail = nullptr;
  q.bytes = 0;
  q.room.store(0);
  q.writer_started = q.writer_failed = q.writer_waiting = q.received = false;
  q.pending.store(false);
  q.busy.store(false);
  q.carries.store(false);
  const int high = g_slot_high.exchange(0);
  for (int i = 0; i < high; ++i) g_slots[i].key.store(0, std::memory_order_relaxed);
  g_ssl_live.store(0);
  for (auto& w : g_wconns) {
    if (!w.id) continue;
    w.dedup.prev.release();  // the parent's copies, mapped in us too
    w.dedup.cur.release();
    w.id = 0;
  }
  if (g_fds_watched.exchange(0))
    for (auto& st : g_fd_state) st.store(kFdIgnored, std::memory_order_relaxed);
}

}  // namespace clawtrace::preload
