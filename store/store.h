// The LMDB store: one environment per store directory, written by one ClawTrace process at
// a time (LMDB's writer lock), read by any number of processes while that happens.
//
// Layout of <dir>:  db/data.mdb, db/lock.mdb (0600)   spool/ (the preload's record files)
// Named databases:
//   events    session(8, BE) + seq(8, BE) -> event JSON (envelope minus session)
//   sessions  session(8, BE)              -> SessionInfo JSON
//   by_start  start_ns(8, BE) + session(8) -> ""              (listing order, `last`)
//   by_pid    trace(16) + pid(4, BE) + start_ns(8, BE) -> session(8)
//   blobs     sha256(32)                  -> bytes (one copy of each large payload)
//   state     text key                    -> bytes (ingestion state, spool offsets)
//   meta      "schema"                    -> "2"
// Values of events, sessions, blobs and state are packed: zstd-compressed when that is
// smaller (value_codec.h). Schema 1 (all raw) stores read the same and become schema 2
// when opened for writing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "event.h"
#include "result.h"

namespace clawtrace {

struct StoreOptions {
  size_t initial_map_size = size_t{1} << 30;  // virtual; the file grows only as data does
  bool read_only = false;                     // open an existing store without writing
  size_t blob_threshold = 4096;               // strings this long go to the blob table
};

class Store {
 public:
  class Writer;

  // Creates <dir> (0700) and its database when missing unless read_only. Errors are one
  // line: missing store (read_only), not a ClawTrace store, corrupt, permission denied.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir,
                                             StoreOptions options = {});
  // What open() creates before it touches the database: <dir>, <dir>/db and the spool
  // (0700). Never waits on the writer lock, so `clawtrace run` can trace into the spool
  // while another process holds it.
  static Result<void> create_dirs(const std::filesystem::path& dir);
  static std::filesystem::path spool_dir_of(const std::filesystem::path& dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& dir() const;
  std::filesystem::path spool_dir() const;
  size_t map_size() const;

  // Runs fn inside one write transaction and commits if fn succeeds. On MDB_MAP_FULL the
  // transaction is aborted, the map doubled and fn run again from scratch, so fn must not
  // have effects outside the Writer. MDB_MAP_RESIZED (another process grew the map) is
  // absorbed the same way.
  Result<void> write(const std::function<Result<void>(Writer&)>& fn);

  // Readers: each call is one consistent snapshot (a reused, renewed read transaction).
  Result<std::vector<SessionInfo>> sessions();  // by start time, oldest first
  Result<std::optional<SessionInfo>> session(std::string_view id);
  Result<std::vector<Event>> events(std::string_view session);  // seq order, blobs inlined
  // An id, a unique id prefix, or "last" (the most recently started root session).
  Result<std::string> resolve(std::string_view spec);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Store::Writer {
 public:
  // Appends e to its session with the next seq (written into e.seq); large strings in
  // e.data are stored once in the blob table and referenced.
  Result<uint64_t> append_event(Event& e);
  Result<std::optional<SessionInfo>> get_session(std::string_view id);
  Result<void> put_session(const SessionInfo& s);
  // The most recent session of `trace` whose pid is `pid` and that started at or before
  // `at_ns`.
  Result<std::optional<std::string>> find_session_by_pid(std::string_view trace, int64_t pid,
                                                         uint64_t at_ns);
  Result<std::optional<std::string>> get_state(std::string_view key);
  Result<void> put_state(std::string_view key, std::string_view value);
  Result<void> delete_state(std::string_view key);

 private:
  friend class Store;
  struct Impl;
  explicit Writer(Impl* impl) : impl_(impl) {}
  Impl* impl_;
};

}  // namespace clawtrace
