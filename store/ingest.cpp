#include "ingest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include "record_builder.h"
#include "refs.h"
#include "spool_reader.h"
#include "synth.h"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace clawtrace {
namespace {

constexpr std::string_view kDone = "done";

std::string offset_key(const std::string& session) { return "spool/" + session; }
std::string state_key(const std::string& session) { return "sess/" + session; }
std::string refs_key(const std::string& session) { return "refs/" + session; }

// True while the process that owns a spool still runs (a zombie counts as gone).
bool process_alive(uint32_t pid, uint64_t start_ticks) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!in || !std::getline(in, stat)) return false;
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  char state = stat[close + 2];
  if (state == 'Z' || state == 'X') return false;
  if (start_ticks == 0) return true;
  // Field 22 is the 20th after the state field (field 3).
  size_t at = close + 2;
  for (int field = 3; field < 22 && at != std::string::npos; ++field) at = stat.find(' ', at + 1);
  if (at == std::string::npos) return false;
  return std::strtoull(stat.c_str() + at + 1, nullptr, 10) == start_ticks;
}

struct PendingSpool {
  fs::path file;
  std::string session;
  SpoolHeader header;
  bool alive = true;
  uint64_t offset = 0;
  bool offset_stored = false;  // offset came from the store (not the header)
  SpoolChunk chunk;
  RefIndex refs;            // where this spool's sent bytes lie, for conn_ref records
  std::string stored_refs;  // refs as stored, to skip rewriting them unchanged
};

// Turns the chunk's conn_ref records into the bytes they repeat (refs.h).
Result<void> resolve_refs(Store::Writer& w, PendingSpool& p) {
  auto saved = w.get_state(refs_key(p.session));
  if (!saved) return fail(saved.error());
  if (saved.value()) {
    p.stored_refs = *saved.value();
    boost::system::error_code ec;
    json::value v = json::parse(p.stored_refs, ec);
    if (!ec) p.refs = RefIndex::from_json(v);
  }
  p.refs.resolve(p.file, p.chunk.records);
  return {};
}

struct Tagged {
  const SpoolRecord* record;
  size_t spool;
};

// The synthesiser's view of the store inside one write transaction.
class StoreBook final : public SynthBook {
 public:
  explicit StoreBook(Store::Writer& w) : w_(w) {}

  SessionState* find(const std::string& id) override {
    if (auto it = cache_.find(id); it != cache_.end()) return &it->second;
    auto raw = w_.get_state(state_key(id));
    if (!raw) return fail_with(raw.error());
    if (!raw.value()) return find_retired(id);
    boost::system::error_code ec;
    json::value v = json::parse(*raw.value(), ec);
    if (ec) return fail_with("corrupt ingestion state for session " + id);
    auto st = session_state_from_json(v);
    if (!st) return fail_with(st.error());
    stored_.emplace(id, std::move(*raw.value()));
    return &cache_.emplace(id, std::move(st.value())).first->second;
  }

  SessionState& create(const std::string& id) override { return cache_[id]; }

  std::optional<std::string> session_by_pid(const std::string& trace, int64_t pid,
                                            uint64_t at_ns) override {
    std::optional<std::string> best;
    uint64_t best_start = 0;
    for (const auto& [id, st] : cache_) {
      if (st.info.trace == trace && st.info.pid == pid && st.info.start_ns <= at_ns &&
          (!best || st.info.start_ns >= best_start)) {
        best = id;
        best_start = st.info.start_ns;
      }
    }
    auto stored = w_.find_session_by_pid(trace, pid, at_ns);
    if (!stored) {
      fail_with(stored.error());
      return best;
    }
    if (stored.value() && !best) return stored.value();
    if (stored.value() && *stored.value() != *best) {
      SessionState* s = find(*stored.value());
      if (s && s->info.start_ns > best_start) return stored.value();
    }
    return best;
  }

  void emit(Event e) override {
    if (!error_.empty()) return;
    ++events_;
    auto r = w_.append_event(e);
    if (!r) error_ = r.error();
  }

  // Writes what changed (every page rewritten is a page freed, and the last passes' freed
  // pages stay in the file), and retires the state of sessions nothing will need it of.
  Result<void> persist() {
    if (!error_.empty()) return fail(error_);
    for (const auto& [id, st] : cache_) {
      std::string state = json::serialize(to_json(st));
      auto it = stored_.find(id);
      const bool changed = it == stored_.end() || it->second != state;
      auto retire = can_retire(id, st);
      if (!retire) return Error{retire.error()};
      if (changed)
        if (auto r = w_.put_session(st.info); !r) return r;
      if (*retire) {
        if (!retired_.count(id))
          if (auto r = w_.delete_state(state_key(id)); !r) return r;
      } else if (changed) {
        if (auto r = w_.put_state(state_key(id), state); !r) return r;
      }
    }
    return {};
  }

  size_t events() const { return events_; }
  const std::string& error() const { return error_; }

 private:
  SessionState* fail_with(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return nullptr;
  }

  bool spool_done(const std::string& id) {
    auto off = w_.get_state(offset_key(id));
    if (!off) fail_with(off.error());
    return off && off.value() && *off.value() == kDone;
  }

  // A session whose state was retired is found again from its session record: what is
  // left to ask of it (argv, exit code, parent links, llm_calls) is all there.
  SessionState* find_retired(const std::string& id) {
    if (!spool_done(id)) return nullptr;
    auto info = w_.get_session(id);
    if (!info) return fail_with(info.error());
    if (!info.value()) return nullptr;
    SessionState st;
    st.info = std::move(*info.value());
    st.ended = st.info.status != SessionStatus::running;
    stored_.emplace(id, json::serialize(to_json(st)));
    retired_.insert(id);
    return &cache_.emplace(id, std::move(st)).first->second;
  }

  // Nothing but its session record will be asked of a session once it has ended, its spool
  // is read to the end, it made no LLM calls (so it anchors no sub-agent) and each of its
  // process spans is closed and linked to its child (a late child could not be placed).
  Result<bool> can_retire(const std::string& id, const SessionState& st) {
    if (!st.ended || st.info.llm_calls != 0 || st.nested_calls != 0 || st.subagent_of) return false;
    for (const auto& sp : st.spans)
      if (!sp.closed || !sp.child_session) return false;
    const bool done = spool_done(id);
    if (!error_.empty()) return fail(error_);
    return done;
  }
  Store::Writer& w_;
  std::map<std::string, SessionState> cache_;
  std::map<std::string, std::string> stored_;  // the state as read, by session
  std::set<std::string> retired_;              // found from their session record
  std::string error_;
  size_t events_ = 0;
};

std::vector<fs::path> list_spools(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".spool") files.push_back(it->path());
  std::sort(files.begin(), files.end());
  return files;
}

// Reads what each spool has beyond its committed offset. Runs inside the write
// transaction so the offsets it sees are the latest.
Result<std::vector<PendingSpool>> read_pending(Store::Writer& w, const std::vector<fs::path>& files,
                                               const IngestOptions& opt, IngestStats& stats) {
  std::vector<PendingSpool> out;
  for (const auto& file : files) {
    PendingSpool p;
    p.file = file;
    p.session = file.stem().string();
    auto off = w.get_state(offset_key(p.session));
    if (!off) return fail(off.error());
    if (off.value() && *off.value() == kDone) continue;  // finished; file removal pending
    auto header = read_spool_header(file);
    if (!header) {
      std::error_code ec;
      const auto size = fs::file_size(file, ec);
      // Gone (another ingester finished it) or its header is still being written.
      if (ec || size < sizeof(wire::FileHeader)) continue;
      stats.warnings.push_back(file.filename().string() + ": " + header.error());
      continue;
    }
    p.header = header.value();
    // Liveness before reading: if the process is gone now, everything it wrote is on disk.
    p.alive = process_alive(p.header.pid, p.header.proc_start_ticks);
    p.offset = off.value() ? std::strtoull(off.value()->c_str(), nullptr, 10) : p.header.size;
    p.offset_stored = off.value().has_value();
    // A gone process's incomplete last record (cut by ENOSPC or SIGKILL) is torn for good.
    auto chunk = read_spool(file, p.offset, opt.max_bytes_per_spool, !p.alive);
    if (!chunk) {
      stats.warnings.push_back(chunk.error());
      continue;
    }
    p.chunk = std::move(chunk.value());
    if (auto r = resolve_refs(w, p); !r) return fail(r.error());
    if (p.chunk.skipped_bytes)
      stats.warnings.push_back(file.filename().string() + ": skipped " +
                               std::to_string(p.chunk.skipped_bytes) + " corrupt bytes");
    stats.skipped_bytes += p.chunk.skipped_bytes;
    out.push_back(std::move(p));
  }
  return out;
}

void show_progress(const IngestOptions& opt, size_t done, size_t total) {
  if (!opt.progress || total < 64) return;
  std::fprintf(stderr, "\rclawtrace: ingesting %zu/%zu spool files", done, total);
  if (done == total) std::fputc('\n', stderr);
}

// One pass: every spool's pending bytes (up to the cap) in one transaction. Returns
// whether any spool has more to read now.
Result<bool> ingest_pass(Store& store, const std::vector<fs::path>& files, const IngestOptions& opt,
                         IngestStats& stats, std::vector<fs::path>& finished) {
  bool more = false;
  auto r = store.write([&](Store::Writer& w) -> Result<void> {
    IngestStats pass;
    finished.clear();
    more = false;
    auto pending = read_pending(w, files, opt, pass);
    if (!pending) return fail(pending.error());
    // Spools created while we read: a child whose parent's wait we just read started (and
    // made its spool) before that wait, so listing again now catches it; its start then
    // sorts before the wait in this pass and the span gets the child's name.
    std::vector<fs::path> late;
    for (const auto& f : list_spools(store.spool_dir()))
      if (!std::binary_search(files.begin(), files.end(), f)) late.push_back(f);
    if (!late.empty()) {
      auto more_pending = read_pending(w, late, opt, pass);
      if (!more_pending) return fail(more_pending.error());
      for (auto& p : *more_pending) pending->push_back(std::move(p));
    }
    std::vector<Tagged> order;
    for (size_t i = 0; i < pending->size(); ++i)
      for (const auto& rec : (*pending)[i].chunk.records) order.push_back({&rec, i});
    // One timeline across processes: a parent's spawn comes before its child's start.
    std::stable_sort(order.begin(), order.end(), [](const Tagged& a, const Tagged& b) {
      return a.record->t_ns < b.record->t_ns;
    });
    StoreBook book(w);
    Synthesizer synth(book);
    for (size_t i = 0; i < order.size(); ++i) {
      synth.apply((*pending)[order[i].spool].session, *order[i].record);
      if (i % 4096 == 0) show_progress(opt, i, order.size());
    }
    for (auto& p : *pending) {
      const bool drained = p.chunk.at_end;
      // Another pass only when this one got somewhere: an incomplete last record of a live
      // writer (one whose tracing stopped mid-write on a full disk) must not spin us.
      more = more || (!drained && p.chunk.next_offset != p.offset);
      if (drained && !p.alive) {
        uint64_t last = p.chunk.records.empty() ? p.header.created_ns : p.chunk.records.back().t_ns;
        synth.finish_truncated(p.session, last);
        finished.push_back(p.file);
        if (auto s = w.put_state(offset_key(p.session), kDone); !s) return s;
        if (auto s = w.delete_state(refs_key(p.session)); !s) return s;
      } else {
        if (!p.offset_stored || p.chunk.next_offset != p.offset)
          if (auto s = w.put_state(offset_key(p.session), std::to_string(p.chunk.next_offset)); !s) return s;
        if (!p.refs.empty())
          if (std::string refs = json::serialize(p.refs.to_json()); refs != p.stored_refs)
            if (auto s = w.put_state(refs_key(p.session), refs); !s) return s;
      }
    }
    if (auto s = book.persist(); !s) return s;
    pass.spools = pending->size();
    pass.records = order.size();
    pass.events = book.events();
    stats.spools = std::max(stats.spools, pass.spools);
    stats.records += pass.records;
    stats.events += pass.events;
    stats.skipped_bytes += pass.skipped_bytes;
    stats.warnings.insert(stats.warnings.end(), pass.warnings.begin(), pass.warnings.end());
    return {};
  });
  if (!r) return fail(r.error());
  return more;
}

}  // namespace

Result<IngestStats> ingest_pending(Store& store, const IngestOptions& options) {
  IngestStats stats;
  const fs::path dir = store.spool_dir();
  for (;;) {
    std::vector<fs::path> files = list_spools(dir);
    if (files.empty()) break;
    std::vector<fs::path> finished;
    auto more = ingest_pass(store, files, options, stats, finished);
    if (!more) return fail(more.error());
    for (const auto& f : finished) {
      std::error_code ec;
      if (fs::remove(f, ec)) ++stats.finished;
    }
    if (!more.value()) break;
  }
  show_progress(options, 1, 1);
  return stats;
}

Result<void> record_observed_exit(Store& store, const std::string& session, int wait_status) {
  // Under the writer lock, so no ingestion pass finishes the spool between the check and
  // the append.
  return store.write([&](Store::Writer& w) -> Result<void> {
    auto off = w.get_state(offset_key(session));
    if (!off) return fail(off.error());
    const bool done = off.value() && *off.value() == kDone;
    if (!done) {
      if (append_observed_exit(store.spool_dir(), session, wait_status)) return {};
      if (!off.value()) return fail("no spool for session " + session + " (the command was not traced)");
    }
    // Already ingested to its end (a live pass saw the process gone): apply it directly.
    StoreBook book(w);
    Synthesizer synth(book);
    if (!book.find(session)) return fail("no session " + session + " (the command was not traced)");
    const uint64_t now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                   std::chrono::system_clock::now().time_since_epoch())
                                                   .count());
    synth.observed_exit(session, wait_status, now);
    return book.persist();
  });
}

Result<void> append_observed_exit(const fs::path& spool_dir, const std::string& session, int wait_status) {
  const fs::path file = spool_dir / (session + ".spool");
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return fail("no spool for session " + session + " (the command was not traced)");
  auto fill = [&](RecordBuilder& b) {
    b.u64(wire::Field::wait_status, static_cast<uint64_t>(static_cast<uint32_t>(wait_status)));
  };
  const uint64_t now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  RecordBuilder measure(nullptr, wire::RecordType::observed_exit, now, 0, 0);
  fill(measure);
  std::string buf(measure.size(), '\0');
  RecordBuilder b(buf.data(), wire::RecordType::observed_exit, now, static_cast<uint32_t>(getpid()),
                  static_cast<uint32_t>(gettid()));
  fill(b);
  b.finish();
  bool ok = ::write(fd, buf.data(), buf.size()) == static_cast<ssize_t>(buf.size());
  ::close(fd);
  if (!ok) return fail("cannot append to " + file.string());
  return {};
}

}  // namespace clawtrace
