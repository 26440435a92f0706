// The LMDB store. See store.h for the layout and the contract.
#include "store.h"

#include "redact.h"
#include "value_codec.h"

#include <lmdb.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <utility>

namespace json = boost::json;
namespace fs = std::filesystem;

namespace clawtrace {
namespace {

// Schema 2 packs record values (value_codec.h); schema 1 stores, all raw, read the same
// and become schema 2 when opened for writing.
constexpr const char* kSchema = "2";
constexpr const char* kSchemaRaw = "1";
constexpr size_t kMaxMapSize = size_t{1} << 40;  // 1 TiB: beyond this, MAP_FULL is an error
constexpr int kMaxResizedRetries = 16;
constexpr unsigned kMaxDbs = 8;
constexpr size_t kAmbiguousShown = 5;

// ---- byte helpers ----------------------------------------------------------------------

void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_be32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
uint64_t get_be64(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}

MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_val(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}
std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 0xF]);
  }
  return s;
}
std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (!is_hex(hex[i]) || !is_hex(hex[i + 1])) return std::nullopt;
    out.push_back(static_cast<char>(hex_val(hex[i]) * 16 + hex_val(hex[i + 1])));
  }
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1 || len != 32)
    throw std::runtime_error("SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(md), 32);
}

std::string session_key(uint64_t id) {
  std::string k;
  put_be64(k, id);
  return k;
}
std::string event_key(uint64_t session, uint64_t seq) {
  std::string k;
  put_be64(k, session);
  put_be64(k, seq);
  return k;
}
std::string by_start_key(uint64_t start_ns, uint64_t session) {
  std::string k;
  put_be64(k, start_ns);
  put_be64(k, session);
  return k;
}
// 16 bytes of trace id: the raw id when it is 32 hex digits, else the first 16 bytes of its
// SHA-256 (consistent for any string).
std::string trace_bytes(std::string_view trace) {
  if (trace.size() == 32)
    if (auto raw = from_hex(trace)) return *raw;
  return sha256(trace).substr(0, 16);
}
std::string by_pid_prefix(std::string_view trace, int64_t pid) {
  std::string k = trace_bytes(trace);
  put_be32(k, static_cast<uint32_t>(pid));
  return k;
}
std::string by_pid_key(std::string_view trace, int64_t pid, uint64_t start_ns) {
  std::string k = by_pid_prefix(trace, pid);
  put_be64(k, start_ns);
  return k;
}

std::string lmdb_error(int rc) { return mdb_strerror(rc); }

Error db_error(std::string_view what, int rc) {
  return fail("store: " + std::string(what) + ": " + lmdb_error(rc));
}

std::optional<uint64_t> parse_id(std::string_view s) {
  if (s.size() != 16 || !std::all_of(s.begin(), s.end(), is_hex)) return std::nullopt;
  return parse_hex_id(s);
}

// An event's data as stored: large strings become {"$blob": sha-hex, "len": N}; a user
// object that itself has a "$blob" or "$lit" key is escaped as {"$lit": object}.
bool needs_escape(const json::object& o) { return o.contains("$blob") || o.contains("$lit"); }

struct Cursor {
  MDB_cursor* c = nullptr;
  Cursor() = default;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor() {
    if (c) mdb_cursor_close(c);
  }
};

// Runs f and turns any exception into an Error (the public API never throws).
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& ex) {
    return fail(std::string("store: ") + ex.what());
  } catch (...) {
    return fail("store: unexpected error");
  }
}

}  // namespace

// ---- Store::Impl -----------------------------------------------------------------------

struct Store::Impl {
  fs::path dir;
  StoreOptions options;
  MDB_env* env = nullptr;
  MDB_dbi events = 0, sessions = 0, by_start = 0, by_pid = 0, blobs = 0, state = 0, meta = 0;
  MDB_txn* rtxn = nullptr;  // cached read transaction, always reset outside a reader call
  ValueCodec codec;         // used under mu, like everything else here
  std::recursive_mutex mu;

  ~Impl() {
    if (rtxn) mdb_txn_abort(rtxn);
    if (env) mdb_env_close(env);
  }

  void drop_read_txn() {
    if (rtxn) {
      mdb_txn_abort(rtxn);
      rtxn = nullptr;
    }
  }

  size_t current_map_size() const {
    MDB_envinfo info{};
    mdb_env_info(env, &info);
    return info.me_mapsize;
  }

  // Begins (or renews) the cached read transaction. MAP_RESIZED adopts the new size.
  Result<MDB_txn*> begin_read() {
    for (int attempt = 0;; ++attempt) {
      int rc;
      if (rtxn) {
        rc = mdb_txn_renew(rtxn);
        if (rc != 0) drop_read_txn();
      } else {
        rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &rtxn);
        if (rc != 0) rtxn = nullptr;
      }
      if (rc == 0) return rtxn;
      if (rc == MDB_MAP_RESIZED && attempt < kMaxResizedRetries) {
        int r2 = mdb_env_set_mapsize(env, 0);
        if (r2 != 0) return db_error("adopting the new map size", r2);
        continue;
      }
      return db_error("beginning a read transaction", rc);
    }
  }

  void end_read() {
    if (rtxn) mdb_txn_reset(rtxn);
  }

  // Runs a reader body inside one snapshot.
  template <class T, class F>
  Result<T> read(F&& body) {
    std::lock_guard lock(mu);
    return guarded([&]() -> Result<T> {
      auto txn = begin_read();
      if (!txn) return Error{txn.error()};
      struct Reset {
        Impl* self;
        ~Reset() { self->end_read(); }
      } reset{this};
      return body(*txn);
    });
  }

  // Doubles the map after MDB_MAP_FULL; no transaction of this process may be active.
  Result<void> grow() {
    drop_read_txn();
    size_t cur = current_map_size();
    if (cur >= kMaxMapSize)
      return fail("store: the database map is full (" + std::to_string(cur >> 20) +
                  " MiB, the limit)");
    size_t next = std::min(cur * 2, kMaxMapSize);
    int rc = mdb_env_set_mapsize(env, next);
    if (rc != 0) return db_error("growing the database map", rc);
    return {};
  }

  // One write transaction, retried from scratch after MAP_FULL (map doubled) or
  // MAP_RESIZED (map adopted). body sets map_full when an LMDB call reported MAP_FULL.
  Result<void> write_loop(const std::function<Result<void>(MDB_txn*, bool& map_full)>& body) {
    int resized = 0;
    for (;;) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env, nullptr, 0, &txn);
      if (rc == MDB_MAP_RESIZED && resized++ < kMaxResizedRetries) {
        drop_read_txn();
        int r2 = mdb_env_set_mapsize(env, 0);
        if (r2 != 0) return db_error("adopting the new map size", r2);
        continue;
      }
      if (rc == MDB_MAP_FULL) {  // possible when the free list must grow at begin
        if (auto g = grow(); !g) return g;
        continue;
      }
      if (rc != 0) return db_error("beginning a write transaction", rc);
      bool map_full = false;
      Result<void> r = guarded([&]() -> Result<void> { return body(txn, map_full); });
      if (map_full) {
        mdb_txn_abort(txn);
        if (auto g = grow(); !g) return g;
        continue;
      }
      if (!r) {
        mdb_txn_abort(txn);
        return r;
      }
      rc = mdb_txn_commit(txn);  // frees txn whatever the outcome
      if (rc == MDB_MAP_FULL) {
        if (auto g = grow(); !g) return g;
        continue;
      }
      if (rc != 0) return db_error("committing", rc);
      return {};
    }
  }

  // ---- shared by readers and the writer ----

  static Result<std::optional<std::string>> get(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
    MDB_val k = to_val(key), v{};
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>{};
    if (rc != 0) return db_error("reading", rc);
    return std::optional<std::string>(std::string(view(v)));
  }

  // A packed value (events, sessions, blobs, state) as it was written; `what` names the
  // record in the error.
  Result<std::optional<std::string>> get_unpacked(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                                  const std::string& what) {
    MDB_val k = to_val(key), v{};
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>{};
    if (rc != 0) return db_error("reading", rc);
    std::string buf;
    auto raw = codec.unpack(view(v), buf);
    if (!raw) return fail("store: corrupt " + what + ": " + raw.error());
    return std::optional<std::string>(std::string(*raw));
  }

  Result<std::optional<SessionInfo>> get_session(MDB_txn* txn, uint64_t id) {
    auto raw = get_unpacked(txn, sessions, session_key(id), "session record " + hex_id(id));
    if (!raw) return Error{raw.error()};
    if (!raw->has_value()) return std::optional<SessionInfo>{};
    return parse_session(**raw, id);
  }

  static Result<std::optional<SessionInfo>> parse_session(std::string_view raw, uint64_t id) {
    boost::system::error_code ec;
    json::value v = json::parse(raw, ec);
    if (ec) return fail("store: corrupt session record " + hex_id(id) + ": " + ec.message());
    auto s = session_from_json(v);
    if (!s) return fail("store: corrupt session record " + hex_id(id) + ": " + s.error());
    return std::optional<SessionInfo>(std::move(*s));
  }

  // Replaces blob references and unwraps escapes in place.
  Result<void> inline_blobs(MDB_txn* txn, json::value& v) {
    if (auto* arr = v.if_array()) {
      for (auto& x : *arr)
        if (auto r = inline_blobs(txn, x); !r) return r;
      return {};
    }
    auto* o = v.if_object();
    if (!o) return {};
    if (auto it = o->find("$blob"); it != o->end() && it->value().is_string()) {
      std::string hex(it->value().get_string());
      auto key = from_hex(hex);
      if (!key || key->size() != 32) return fail("store: bad blob reference " + hex);
      auto raw = get_unpacked(txn, blobs, *key, "blob " + hex);
      if (!raw) return Error{raw.error()};
      if (!raw->has_value()) return fail("store: missing blob " + hex);
      v = json::string(**raw);
      return {};
    }
    if (o->size() == 1 && o->contains("$lit")) {
      json::value inner = std::move(o->at("$lit"));
      v = std::move(inner);
      if (auto* io = v.if_object()) {
        for (auto& kv : *io)
          if (auto r = inline_blobs(txn, kv.value()); !r) return r;
      }
      return {};
    }
    for (auto& kv : *o)
      if (auto r = inline_blobs(txn, kv.value()); !r) return r;
    return {};
  }

  Result<void> open_dbs(bool writable);
};

// ---- Store::Writer::Impl ---------------------------------------------------------------

struct Store::Writer::Impl {
  Store::Impl* store;
  MDB_txn* txn;
  bool* map_full;

  Error lmdb_fail(std::string_view what, int rc) {
    if (rc == MDB_MAP_FULL) *map_full = true;
    return db_error(what, rc);
  }

  Result<void> put(MDB_dbi dbi, std::string_view key, std::string_view value,
                   unsigned flags = 0) {
    MDB_val k = to_val(key), v = to_val(value);
    int rc = mdb_put(txn, dbi, &k, &v, flags);
    if (rc == MDB_KEYEXIST && (flags & MDB_NOOVERWRITE)) return {};
    if (rc != 0) return lmdb_fail("writing", rc);
    return {};
  }

  // Packs the value first (value_codec.h): for events, sessions, blobs and state.
  Result<void> put_packed(MDB_dbi dbi, std::string_view key, std::string_view value) {
    return put(dbi, key, store->codec.pack(value));
  }

  Result<void> del(MDB_dbi dbi, std::string_view key) {
    MDB_val k = to_val(key);
    int rc = mdb_del(txn, dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) return {};
    if (rc != 0) return lmdb_fail("deleting", rc);
    return {};
  }

  // Moves large strings of v to the blob table; escapes objects that look like references.
  Result<void> extract_blobs(json::value& v) {
    if (auto* s = v.if_string()) {
      if (s->size() < store->options.blob_threshold) return {};
      std::string_view bytes(s->data(), s->size());
      std::string key = sha256(bytes);
      auto known = Store::Impl::get(txn, store->blobs, key);  // skip packing a known blob
      if (!known) return Error{known.error()};
      if (!known->has_value())
        if (auto r = put_packed(store->blobs, key, bytes); !r) return r;
      json::object ref;
      ref["$blob"] = to_hex(key);
      ref["len"] = static_cast<uint64_t>(bytes.size());
      v = std::move(ref);
      return {};
    }
    if (auto* arr = v.if_array()) {
      for (auto& x : *arr)
        if (auto r = extract_blobs(x); !r) return r;
      return {};
    }
    if (auto* o = v.if_object()) {
      for (auto& kv : *o)
        if (auto r = extract_blobs(kv.value()); !r) return r;
      if (needs_escape(*o)) {
        json::object wrap;
        wrap["$lit"] = std::move(*o);
        v = std::move(wrap);
      }
    }
    return {};
  }
};

// ---- opening ---------------------------------------------------------------------------

namespace {

// Creates dir and its missing parents with mode 0700.
std::error_code make_dirs(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (auto pe = make_dirs(dir.parent_path())) return pe;
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST && fs::is_directory(dir, ec)) return {};
    return std::error_code(errno, std::generic_category());
  }
  ::chmod(dir.c_str(), 0700);  // whatever the umask
  return {};
}

bool is_permission(int err) { return err == EACCES || err == EPERM || err == EROFS; }

}  // namespace

Result<void> Store::Impl::open_dbs(bool writable) {
  const std::string d = dir.string();
  auto not_ours = [&](const std::string& why) {
    return fail(d + " is not a ClawTrace store or is corrupt (" + why + ")");
  };
  struct Named {
    const char* name;
    MDB_dbi* dbi;
  };
  const Named named[] = {{"events", &events}, {"sessions", &sessions}, {"by_start", &by_start},
                         {"by_pid", &by_pid}, {"blobs", &blobs},       {"state", &state}};

  // The store's schema, if this ClawTrace reads it.
  auto check_schema = [&](MDB_txn* txn) -> Result<std::string> {
    auto schema = get(txn, meta, "schema");
    if (!schema) return Error{schema.error()};
    if (!schema->has_value()) return not_ours("no schema version");
    if (**schema != kSchema && **schema != kSchemaRaw)
      return fail(d + " has store schema " + **schema + ", this ClawTrace reads schemas " +
                  kSchemaRaw + " and " + kSchema);
    return std::move(**schema);
  };

  if (!writable) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    if (rc == MDB_MAP_RESIZED) {
      mdb_env_set_mapsize(env, 0);
      rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    }
    if (rc != 0) return not_ours(lmdb_error(rc));
    auto r = [&]() -> Result<void> {
      int orc = mdb_dbi_open(txn, "meta", 0, &meta);
      if (orc == MDB_NOTFOUND) return not_ours("no meta table");
      if (orc != 0) return not_ours(lmdb_error(orc));
      if (auto s = check_schema(txn); !s) return Error{s.error()};
      for (const auto& n : named) {
        orc = mdb_dbi_open(txn, n.name, 0, n.dbi);
        if (orc == MDB_NOTFOUND) return not_ours(std::string("no ") + n.name + " table");
        if (orc != 0) return not_ours(lmdb_error(orc));
      }
      return {};
    }();
    if (!r) {
      mdb_txn_abort(txn);
      return r;
    }
    rc = mdb_txn_commit(txn);  // keeps the handles
    if (rc != 0) return db_error("opening tables", rc);
    return {};
  }

  return write_loop([&](MDB_txn* txn, bool& map_full) -> Result<void> {
    auto lfail = [&](int rc) -> Error {
      if (rc == MDB_MAP_FULL) map_full = true;
      if (rc == MDB_INCOMPATIBLE) return not_ours(lmdb_error(rc));
      return db_error("creating tables", rc);
    };
    // Schema 1 kept values as they were; one beginning with 0x00 or 0x01 (a blob of a
    // string that starts with a control character) would read as packed under schema 2:
    // escape those (0x00 + the value), as schema 2 writes them.
    auto escape_marker_values = [&](MDB_txn* t, MDB_dbi dbi) -> Result<void> {
      MDB_cursor* c = nullptr;
      int crc = mdb_cursor_open(t, dbi, &c);
      if (crc != 0) return lfail(crc);
      std::vector<std::pair<std::string, std::string>> fix;
      MDB_val k{}, v{};
      for (crc = mdb_cursor_get(c, &k, &v, MDB_FIRST); crc == 0; crc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const auto* b = static_cast<const unsigned char*>(v.mv_data);
        if (v.mv_size > 0 && b[0] <= 0x01)
          fix.emplace_back(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                           std::string(1, '\0') + std::string(static_cast<const char*>(v.mv_data), v.mv_size));
      }
      mdb_cursor_close(c);
      if (crc != MDB_NOTFOUND) return lfail(crc);
      for (const auto& [key, value] : fix) {
        MDB_val fk = to_val(key), fv = to_val(value);
        if (int prc = mdb_put(t, dbi, &fk, &fv, 0); prc != 0) return lfail(prc);
      }
      return {};
    };
    bool upgrading = false;
    int rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == MDB_NOTFOUND) {
      // A fresh environment, unless its main table already holds something else.
      MDB_dbi main_dbi;
      rc = mdb_dbi_open(txn, nullptr, 0, &main_dbi);
      if (rc != 0) return lfail(rc);
      MDB_stat st{};
      rc = mdb_stat(txn, main_dbi, &st);
      if (rc != 0) return lfail(rc);
      if (st.ms_entries != 0) return not_ours("an LMDB environment of something else");
      rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta);
      if (rc != 0) return lfail(rc);
      MDB_val k = to_val("schema"), v = to_val(kSchema);
      rc = mdb_put(txn, meta, &k, &v, 0);
      if (rc != 0) return lfail(rc);
    } else if (rc != 0) {
      if (rc == MDB_INCOMPATIBLE) return not_ours(lmdb_error(rc));
      return lfail(rc);
    } else if (auto s = check_schema(txn); !s) {
      return Error{s.error()};
    } else if (*s == kSchemaRaw) {
      // Its raw records still read; the packed ones written from now on need schema 2.
      MDB_val k = to_val("schema"), v = to_val(kSchema);
      rc = mdb_put(txn, meta, &k, &v, 0);
      if (rc != 0) return lfail(rc);
      upgrading = true;
    }
    for (const auto& n : named) {
      rc = mdb_dbi_open(txn, n.name, MDB_CREATE, n.dbi);
      if (rc != 0) return lfail(rc);
    }
    if (upgrading)
      for (MDB_dbi dbi : {events, sessions, blobs, state})
        if (auto r = escape_marker_values(txn, dbi); !r) return r;
    return {};
  });
}

Result<void> Store::create_dirs(const fs::path& dir) {
  return guarded([&]() -> Result<void> {
    const std::string d = dir.string();
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
      return fail(d + " is not a ClawTrace store (not a directory)");
    for (const fs::path& p : {dir, dir / "db", spool_dir_of(dir)}) {
      if (auto mk = make_dirs(p)) {
        if (is_permission(mk.value()))
          return fail("permission denied creating the ClawTrace store at " + d + " (" + p.string() + ")");
        return fail("cannot create the ClawTrace store at " + d + ": " + mk.message());
      }
    }
    return {};
  });
}

fs::path Store::spool_dir_of(const fs::path& dir) { return dir / "spool"; }

Result<std::unique_ptr<Store>> Store::open(const fs::path& dir, StoreOptions options) {
  return guarded([&]() -> Result<std::unique_ptr<Store>> {
    const std::string d = dir.string();
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->options = options;
    const fs::path db_dir = dir / "db";

    std::error_code ec;
    if (options.read_only) {
      bool exists = fs::exists(db_dir / "data.mdb", ec);
      if (ec && is_permission(ec.value()))
        return fail("permission denied reading the ClawTrace store at " + d);
      if (!exists) return fail("no ClawTrace store at " + d);
    } else if (auto made = create_dirs(dir); !made) {
      return Error{made.error()};
    }

    int rc = mdb_env_create(&impl->env);
    if (rc != 0) {
      impl->env = nullptr;
      return db_error("creating the environment", rc);
    }
    mdb_env_set_maxdbs(impl->env, kMaxDbs);
    size_t map = std::max<size_t>(options.initial_map_size, 64 * 1024);
    mdb_env_set_mapsize(impl->env, map);
    unsigned flags = MDB_NOTLS | (options.read_only ? MDB_RDONLY : 0);
    rc = mdb_env_open(impl->env, db_dir.c_str(), flags, 0600);
    if (rc != 0) {
      mdb_env_close(impl->env);  // required after a failed open
      impl->env = nullptr;
      if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
          rc == MDB_PAGE_NOTFOUND || rc == MDB_PANIC)
        return fail(d + " is not a ClawTrace store or is corrupt (" + lmdb_error(rc) + ")");
      if (is_permission(rc))
        return fail("permission denied opening the ClawTrace store at " + d + " (" +
                    lmdb_error(rc) + ")");
      if (rc == ENOENT && options.read_only) return fail("no ClawTrace store at " + d);
      return fail("cannot open the ClawTrace store at " + d + ": " + lmdb_error(rc));
    }
    int dead = 0;
    mdb_reader_check(impl->env, &dead);

    if (auto r = impl->open_dbs(!options.read_only); !r) return Error{r.error()};
    return std::unique_ptr<Store>(new Store(std::move(impl)));
  });
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const fs::path& Store::dir() const { return impl_->dir; }
fs::path Store::spool_dir() const { return spool_dir_of(impl_->dir); }
size_t Store::map_size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->current_map_size();
}

Result<void> Store::write(const std::function<Result<void>(Writer&)>& fn) {
  if (impl_->options.read_only) return fail("store: " + impl_->dir.string() + " is open read-only");
  std::lock_guard lock(impl_->mu);
  return impl_->write_loop([&](MDB_txn* txn, bool& map_full) -> Result<void> {
    Writer::Impl wi{impl_.get(), txn, &map_full};
    Writer w(&wi);
    return fn(w);
  });
}

// ---- readers ---------------------------------------------------------------------------

Result<std::vector<SessionInfo>> Store::sessions() {
  return impl_->read<std::vector<SessionInfo>>([&](MDB_txn* txn) -> Result<std::vector<SessionInfo>> {
    std::vector<SessionInfo> out;
    Cursor cur;
    int rc = mdb_cursor_open(txn, impl_->by_start, &cur.c);
    if (rc != 0) return db_error("listing sessions", rc);
    MDB_val k{}, v{};
    for (rc = mdb_cursor_get(cur.c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 16) continue;
      uint64_t id = get_be64(static_cast<const char*>(k.mv_data) + 8);
      auto s = impl_->get_session(txn, id);
      if (!s) return Error{s.error()};
      if (s->has_value()) out.push_back(std::move(**s));
    }
    if (rc != MDB_NOTFOUND) return db_error("listing sessions", rc);
    return out;
  });
}

Result<std::optional<SessionInfo>> Store::session(std::string_view id) {
  auto n = parse_id(id);
  if (!n) return fail("'" + std::string(id) + "' is not a session id");
  return impl_->read<std::optional<SessionInfo>>(
      [&](MDB_txn* txn) { return impl_->get_session(txn, *n); });
}

Result<std::vector<Event>> Store::events(std::string_view session) {
  auto n = parse_id(session);
  if (!n) return fail("'" + std::string(session) + "' is not a session id");
  const std::string sid = hex_id(*n);
  return impl_->read<std::vector<Event>>([&](MDB_txn* txn) -> Result<std::vector<Event>> {
    std::vector<Event> out;
    std::string buf;  // a decompressed record, reused
    Cursor cur;
    int rc = mdb_cursor_open(txn, impl_->events, &cur.c);
    if (rc != 0) return db_error("reading events", rc);
    const std::string start = event_key(*n, 0);
    MDB_val k = to_val(start), v{};
    for (rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 16 || get_be64(k.mv_data) != *n) break;
      uint64_t seq = get_be64(static_cast<const char*>(k.mv_data) + 8);
      auto corrupt = [&](std::string_view why) {
        return fail("store: corrupt event " + sid + "/" + std::to_string(seq) + std::string(why));
      };
      auto text = impl_->codec.unpack(view(v), buf);
      if (!text) return corrupt(": " + text.error());
      boost::system::error_code ec;
      json::value jv = json::parse(*text, ec);
      if (ec || !jv.is_object()) return corrupt("");
      json::object& o = jv.get_object();
      o["session"] = sid;
      if (auto it = o.find("data"); it != o.end())
        if (auto r = impl_->inline_blobs(txn, it->value()); !r) return Error{r.error()};
      auto e = event_from_json(jv);
      if (!e) return corrupt(": " + e.error());
      e->seq = seq;
      out.push_back(std::move(*e));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return db_error("reading events", rc);
    return out;
  });
}

Result<std::string> Store::resolve(std::string_view spec) {
  const std::string quoted = "'" + std::string(spec) + "'";
  return impl_->read<std::string>([&](MDB_txn* txn) -> Result<std::string> {
    if (spec == "last") {
      Cursor cur;
      int rc = mdb_cursor_open(txn, impl_->by_start, &cur.c);
      if (rc != 0) return db_error("resolving", rc);
      // The most recent root session: a child started later by it is not "the last run".
      MDB_val k{}, v{};
      for (rc = mdb_cursor_get(cur.c, &k, &v, MDB_LAST); rc == 0;
           rc = mdb_cursor_get(cur.c, &k, &v, MDB_PREV)) {
        if (k.mv_size != 16) return fail("store: corrupt by_start entry");
        const uint64_t id = get_be64(static_cast<const char*>(k.mv_data) + 8);
        auto info = impl_->get_session(txn, id);
        if (!info) return Error{info.error()};
        if (info.value() && !info.value()->parent_session) return hex_id(id);
      }
      if (rc != MDB_NOTFOUND) return db_error("resolving", rc);
      return fail("no sessions recorded yet");
    }
    if (spec.empty() || spec.size() > 16 || !std::all_of(spec.begin(), spec.end(), is_hex))
      return fail("no session matches " + quoted);
    std::string prefix(spec);
    for (auto& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (prefix.size() == 16) {
      auto exact = Impl::get(txn, impl_->sessions, session_key(*parse_hex_id(prefix)));
      if (!exact) return Error{exact.error()};
      if (exact->has_value()) return prefix;
      return fail("no session matches " + quoted);
    }
    std::string low = prefix;
    low.resize(16, '0');
    Cursor cur;
    int rc = mdb_cursor_open(txn, impl_->sessions, &cur.c);
    if (rc != 0) return db_error("resolving", rc);
    const std::string start = session_key(*parse_hex_id(low));
    MDB_val k = to_val(start), v{};
    std::vector<std::string> matches;
    size_t count = 0;
    for (rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur.c, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 8) continue;
      std::string id = hex_id(get_be64(k.mv_data));
      if (id.compare(0, prefix.size(), prefix) != 0) break;
      ++count;
      if (matches.size() < kAmbiguousShown) matches.push_back(std::move(id));
    }
    if (rc != 0 && rc != MDB_NOTFOUND) return db_error("resolving", rc);
    if (count == 0) return fail("no session matches " + quoted);
    if (count == 1) return matches.front();
    std::string msg = quoted + " is ambiguous: matches ";
    for (size_t i = 0; i < matches.size() && i < kAmbiguousShown; ++i) {
      if (i) msg += ", ";
      msg += matches[i];
    }
    if (count > kAmbiguousShown) msg += ", … (" + std::to_string(count) + " sessions)";
    return fail(msg);
  });
}

// ---- Writer ----------------------------------------------------------------------------

namespace {

// Keys of known formats in every string of an event (docs/security.md). The preload masks
// them in the captured bytes, but a key a model streams in pieces (SSE events) is whole
// only once the synthesiser joins them, and imported events never passed the preload.
void mask_key_formats(json::value& v) {
  if (auto* s = v.if_string()) {
    if (!s->empty()) preload::mask_key_formats(s->data(), s->size());
  } else if (auto* a = v.if_array()) {
    for (auto& x : *a) mask_key_formats(x);
  } else if (auto* o = v.if_object()) {
    for (auto& kv : *o) mask_key_formats(kv.value());
  }
}

}  // namespace

Result<uint64_t> Store::Writer::append_event(Event& e) {
  return guarded([&]() -> Result<uint64_t> {
    auto n = parse_id(e.session);
    if (!n) return fail("store: event has an invalid session id '" + e.session + "'");
    Store::Impl& s = *impl_->store;

    // The last seq of this session: the entry before session+FF..FF.
    Cursor cur;
    int rc = mdb_cursor_open(impl_->txn, s.events, &cur.c);
    if (rc != 0) return impl_->lmdb_fail("appending an event", rc);
    const std::string probe = event_key(*n, UINT64_MAX);
    MDB_val k = to_val(probe), v{};
    rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && view(k) == probe) {
      return fail("store: session " + hex_id(*n) + " has no seq left");
    }
    if (rc == 0) {
      rc = mdb_cursor_get(cur.c, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
      rc = mdb_cursor_get(cur.c, &k, &v, MDB_LAST);
    }
    uint64_t seq = 1;
    if (rc == 0) {
      if (k.mv_size == 16 && get_be64(k.mv_data) == *n)
        seq = get_be64(static_cast<const char*>(k.mv_data) + 8) + 1;
    } else if (rc != MDB_NOTFOUND) {
      return impl_->lmdb_fail("appending an event", rc);
    }
    mdb_cursor_close(cur.c);
    cur.c = nullptr;

    Event stored = e;  // the caller's data keeps its large strings
    stored.seq = seq;
    json::value data(std::move(stored.data));
    mask_key_formats(data);
    if (auto r = impl_->extract_blobs(data); !r) return Error{r.error()};
    json::object o = to_json(stored);
    o.erase("session");
    o["data"] = std::move(data);
    const std::string value = json::serialize(o);
    if (auto r = impl_->put_packed(s.events, event_key(*n, seq), value); !r) return Error{r.error()};
    e.seq = seq;
    return seq;
  });
}

Result<std::optional<SessionInfo>> Store::Writer::get_session(std::string_view id) {
  return guarded([&]() -> Result<std::optional<SessionInfo>> {
    auto n = parse_id(id);
    if (!n) return fail("'" + std::string(id) + "' is not a session id");
    return impl_->store->get_session(impl_->txn, *n);
  });
}

Result<void> Store::Writer::put_session(const SessionInfo& info) {
  return guarded([&]() -> Result<void> {
    auto n = parse_id(info.id);
    if (!n) return fail("store: invalid session id '" + info.id + "'");
    Store::Impl& s = *impl_->store;
    auto old = s.get_session(impl_->txn, *n);
    if (!old) {
      // An unreadable old record is replaced; its index entries cannot be found.
      old = std::optional<SessionInfo>{};
    }
    if (old->has_value()) {
      const SessionInfo& o = **old;
      if (o.start_ns != info.start_ns)
        if (auto r = impl_->del(s.by_start, by_start_key(o.start_ns, *n)); !r) return r;
      if (o.trace != info.trace || o.pid != info.pid || o.start_ns != info.start_ns) {
        const std::string ok = by_pid_key(o.trace, o.pid, o.start_ns);
        // Only remove the entry if it still points at this session.
        auto cur = Store::Impl::get(impl_->txn, s.by_pid, ok);
        if (!cur) return Error{cur.error()};
        if (cur->has_value() && **cur == session_key(*n))
          if (auto r = impl_->del(s.by_pid, ok); !r) return r;
      }
    }
    SessionInfo copy = info;
    copy.id = hex_id(*n);
    // A score is the oracle's, not the ingester's: a record rebuilt without one keeps it.
    if (!copy.quality && old->has_value() && (*old)->quality) {
      copy.quality = (*old)->quality;
      copy.note = (*old)->note;
    }
    const std::string value = json::serialize(to_json(copy));
    if (auto r = impl_->put_packed(s.sessions, session_key(*n), value); !r) return r;
    if (auto r = impl_->put(s.by_start, by_start_key(info.start_ns, *n), ""); !r) return r;
    if (auto r = impl_->put(s.by_pid, by_pid_key(info.trace, info.pid, info.start_ns),
                            session_key(*n));
        !r)
      return r;
    return {};
  });
}

Result<std::optional<std::string>> Store::Writer::find_session_by_pid(std::string_view trace,
                                                                      int64_t pid,
                                                                      uint64_t at_ns) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    Store::Impl& s = *impl_->store;
    const std::string prefix = by_pid_prefix(trace, pid);
    const std::string probe = by_pid_key(trace, pid, at_ns);
    Cursor cur;
    int rc = mdb_cursor_open(impl_->txn, s.by_pid, &cur.c);
    if (rc != 0) return impl_->lmdb_fail("finding a session", rc);
    MDB_val k = to_val(probe), v{};
    rc = mdb_cursor_get(cur.c, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && view(k) != probe) {
      rc = mdb_cursor_get(cur.c, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
      rc = mdb_cursor_get(cur.c, &k, &v, MDB_LAST);
    }
    if (rc == MDB_NOTFOUND) return std::optional<std::string>{};
    if (rc != 0) return impl_->lmdb_fail("finding a session", rc);
    if (k.mv_size != prefix.size() + 8 || view(k).substr(0, prefix.size()) != prefix ||
        v.mv_size != 8)
      return std::optional<std::string>{};
    return std::optional<std::string>(hex_id(get_be64(v.mv_data)));
  });
}

Result<std::optional<std::string>> Store::Writer::get_state(std::string_view key) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    if (key.empty()) return fail("store: empty state key");
    return impl_->store->get_unpacked(impl_->txn, impl_->store->state, key,
                                      "state record " + std::string(key));
  });
}

Result<void> Store::Writer::put_state(std::string_view key, std::string_view value) {
  return guarded([&]() -> Result<void> {
    if (key.empty()) return fail("store: empty state key");
    return impl_->put_packed(impl_->store->state, key, value);
  });
}

Result<void> Store::Writer::delete_state(std::string_view key) {
  return guarded([&]() -> Result<void> {
    if (key.empty()) return fail("store: empty state key");
    return impl_->del(impl_->store->state, key);
  });
}

}  // namespace clawtrace
