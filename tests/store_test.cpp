// Store tests against real LMDB, each in a fresh temporary directory.
#include "store.h"
#include "tree.h"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace clawtrace;

namespace {

constexpr const char* kTrace = "0123456789abcdef0123456789abcdef";

SessionInfo make_session(uint64_t id, uint64_t start_ns, std::string trace = kTrace,
                         int64_t pid = 100) {
  SessionInfo s;
  s.id = hex_id(id);
  s.trace = std::move(trace);
  s.name = "session " + std::to_string(id);
  s.pid = pid;
  s.ppid = 1;
  s.argv = {"python3", "agent.py"};
  s.cwd = "/tmp";
  s.tags = {{"team", "a"}};
  s.start_ns = start_ns;
  return s;
}

Event make_event(const std::string& session, EventType type, json::object data = {}) {
  Event e;
  e.t_ns = 1000;
  e.type = type;
  e.session = session;
  e.span = "00000000000000" + std::string("01");
  e.data = std::move(data);
  return e;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Opens the environment with LMDB directly (no Store may be open in this process) and
// returns the entries and overflow pages of one named database.
MDB_stat lmdb_stat(const fs::path& store_dir, const char* name) {
  MDB_env* env = nullptr;
  MDB_stat st{};
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  EXPECT_EQ(mdb_env_open(env, (store_dir / "db").c_str(), MDB_RDONLY | MDB_NOTLS, 0600), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi dbi;
  EXPECT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0);
  EXPECT_EQ(mdb_stat(txn, dbi, &st), 0);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return st;
}

// Writes one raw entry into a named database, behind the store's back.
void lmdb_put(const fs::path& store_dir, const char* db, const std::string& key, const std::string& value) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  ASSERT_EQ(mdb_env_open(env, (store_dir / "db").c_str(), MDB_NOTLS, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

void lmdb_put_meta(const fs::path& store_dir, const std::string& key, const std::string& value) {
  lmdb_put(store_dir, "meta", key, value);
}

// Reads one raw entry of a named database (nullopt when missing), behind the store's back.
std::optional<std::string> lmdb_get(const fs::path& store_dir, const char* db, const std::string& key) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 8);
  EXPECT_EQ(mdb_env_open(env, (store_dir / "db").c_str(), MDB_RDONLY | MDB_NOTLS, 0600), 0);
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi dbi;
  EXPECT_EQ(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
  std::optional<std::string> out;
  if (mdb_get(txn, dbi, &k, &v) == 0) out = std::string(static_cast<const char*>(v.mv_data), v.mv_size);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return out;
}

// A string of n bytes whose content depends on seed (so it is not shared): printable noise
// (92 characters, none JSON escapes), so packing saves under a fifth and the sizes the
// map tests aim at stay close to what they write.
std::string filler(size_t n, uint64_t seed) {
  static const std::string alphabet = [] {
    std::string a;
    for (char c = '!'; c <= '~'; ++c)
      if (c != '"' && c != '\\') a.push_back(c);
    return a;
  }();
  std::string s(n, 'x');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;  // xorshift64
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = alphabet[(x >> 32) % alphabet.size()];
  }
  std::string tag = std::to_string(seed) + ":";
  s.replace(0, std::min(tag.size(), n), tag.substr(0, std::min(tag.size(), n)));
  return s;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/clawtrace_store_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    dir_ = tmp_ / "store";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  std::unique_ptr<Store> open(StoreOptions o = {}) {
    auto r = Store::open(dir_, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    if (!r.ok()) return nullptr;
    return std::move(r.value());
  }

  fs::path tmp_;
  fs::path dir_;
};

// Children of fork() tests report through their exit status and never run destructors of
// objects they inherited (_exit).
[[noreturn]] void child_exit(bool ok) { ::_exit(ok ? 0 : 1); }

int wait_child(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(StoreTest, RoundTripSessionsAndEvents) {
  const std::string a = hex_id(0xa1), b = hex_id(0xb2), c = hex_id(0xc3);
  {
    auto store = open();
    ASSERT_TRUE(store);
    auto w = store->write([&](Store::Writer& wr) -> Result<void> {
      for (const auto& s : {make_session(0xb2, 200), make_session(0xa1, 300),
                            make_session(0xc3, 100)}) {
        if (auto r = wr.put_session(s); !r) return r;
      }
      for (int i = 0; i < 5; ++i) {
        json::object d;
        d["i"] = i;
        d["nested"] = json::object{{"list", json::array{1, "two", nullptr}}};
        Event e = make_event(a, i % 2 ? EventType::llm_output : EventType::llm_input, d);
        if (i == 3) e.parent = "00000000000000ff";
        auto seq = wr.append_event(e);
        if (!seq) return Error{seq.error()};
        if (*seq != static_cast<uint64_t>(i + 1) || e.seq != *seq) return fail("bad seq");
      }
      Event other = make_event(b, EventType::session_start);
      if (auto r = wr.append_event(other); !r) return Error{r.error()};
      return {};
    });
    ASSERT_TRUE(w.ok()) << w.error();
    // A later transaction continues the numbering.
    ASSERT_TRUE(store->write([&](Store::Writer& wr) -> Result<void> {
                  Event e = make_event(a, EventType::session_end);
                  auto seq = wr.append_event(e);
                  if (!seq) return Error{seq.error()};
                  return *seq == 6 ? Result<void>{} : fail("expected seq 6");
                }).ok());
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto sessions = store->sessions();
  ASSERT_TRUE(sessions.ok()) << sessions.error();
  ASSERT_EQ(sessions->size(), 3u);
  EXPECT_EQ((*sessions)[0].id, c);
  EXPECT_EQ((*sessions)[1].id, b);
  EXPECT_EQ((*sessions)[2].id, a);
  EXPECT_EQ((*sessions)[2].name, "session 161");
  EXPECT_EQ((*sessions)[2].argv, (std::vector<std::string>{"python3", "agent.py"}));
  EXPECT_EQ((*sessions)[2].tags.at("team"), "a");
  EXPECT_EQ((*sessions)[2].start_ns, 300u);

  auto one = store->session(b);
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->start_ns, 200u);
  auto none = store->session(hex_id(0xdead));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(store->session("xyz").ok());

  auto events = store->events(a);
  ASSERT_TRUE(events.ok()) << events.error();
  ASSERT_EQ(events->size(), 6u);
  for (size_t i = 0; i < events->size(); ++i) {
    const Event& e = (*events)[i];
    EXPECT_EQ(e.seq, i + 1);
    EXPECT_EQ(e.session, a);
    EXPECT_EQ(e.span, "0000000000000001");
    if (i < 5) {
      EXPECT_EQ(e.data.at("i").as_int64(), static_cast<int64_t>(i));
      EXPECT_EQ(e.type, i % 2 ? EventType::llm_output : EventType::llm_input);
      EXPECT_EQ(json::serialize(e.data.at("nested")), R"({"list":[1,"two",null]})");
    }
  }
  EXPECT_EQ((*events)[3].parent, std::optional<std::string>("00000000000000ff"));
  EXPECT_FALSE((*events)[2].parent.has_value());
  EXPECT_EQ((*events)[5].type, EventType::session_end);

  auto eb = store->events(b);
  ASSERT_TRUE(eb.ok());
  ASSERT_EQ(eb->size(), 1u);
  EXPECT_EQ((*eb)[0].seq, 1u);
  auto ec = store->events(c);
  ASSERT_TRUE(ec.ok());
  EXPECT_TRUE(ec->empty());
}

TEST_F(StoreTest, BlobsAreStoredOnceAndInlinedOnRead) {
  const std::string big = filler(100 * 1024, 7);
  const std::string s = hex_id(0x42);
  json::object d1;
  d1["request"] = json::object{{"body", big}, {"small", "hi"}};
  json::object d2;
  d2["parts"] = json::array{"x", big};
  // Objects that look like blob references are user data and must survive unchanged.
  d2["tricky"] = json::object{{"$blob", "not-a-hash"}, {"len", 3}};
  d2["tricky2"] = json::object{{"$lit", 1}};
  const std::string d1s = json::serialize(d1), d2s = json::serialize(d2);
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                  if (auto r = w.put_session(make_session(0x42, 1)); !r) return r;
                  Event e1 = make_event(s, EventType::llm_input, d1);
                  Event e2 = make_event(s, EventType::llm_output, d2);
                  if (auto r = w.append_event(e1); !r) return Error{r.error()};
                  if (auto r = w.append_event(e2); !r) return Error{r.error()};
                  // The caller's data keeps its strings.
                  if (json::serialize(e1.data) != d1s || json::serialize(e2.data) != d2s)
                    return fail("caller's data was changed");
                  return {};
                }).ok());
    // The same payload in a later transaction is still one blob.
    ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                  Event e3 = make_event(s, EventType::llm_input, d1);
                  if (auto r = w.append_event(e3); !r) return Error{r.error()};
                  return {};
                }).ok());
  }
  MDB_stat blobs = lmdb_stat(dir_, "blobs");
  EXPECT_EQ(blobs.ms_entries, 1u);
  MDB_stat events = lmdb_stat(dir_, "events");
  EXPECT_EQ(events.ms_entries, 3u);
  EXPECT_EQ(events.ms_overflow_pages, 0u) << "event values should only reference the blob";

  auto store = open();
  ASSERT_TRUE(store);
  auto ev = store->events(s);
  ASSERT_TRUE(ev.ok()) << ev.error();
  ASSERT_EQ(ev->size(), 3u);
  EXPECT_EQ(json::serialize((*ev)[0].data), d1s);
  EXPECT_EQ(json::serialize((*ev)[1].data), d2s);
  EXPECT_EQ(json::serialize((*ev)[2].data), d1s);
  EXPECT_EQ((*ev)[0].data.at("request").at("body").as_string().size(), big.size());
}

TEST_F(StoreTest, DirectoryAndFileModes) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->dir(), dir_);
  EXPECT_EQ(store->spool_dir(), dir_ / "spool");
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(dir_ / "db"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "spool"), 0700u);
  EXPECT_EQ(mode_of(dir_ / "db" / "data.mdb"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "db" / "lock.mdb"), 0600u);
}

TEST_F(StoreTest, NestedDirectoriesAreCreated) {
  dir_ = tmp_ / "a" / "b" / "store";
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(mode_of(tmp_ / "a"), 0700u);
  EXPECT_EQ(mode_of(dir_), 0700u);
}

TEST_F(StoreTest, MapFullGrowsTheMap) {
  StoreOptions o;
  o.initial_map_size = 256 * 1024;
  auto store = open(o);
  ASSERT_TRUE(store);
  const size_t initial = store->map_size();
  const std::string s = hex_id(0x1);
  constexpr int kEvents = 10000, kPerTxn = 250;  // 10000 x 2 KB = 20 MB
  ASSERT_TRUE(store->write([&](Store::Writer& w) { return w.put_session(make_session(1, 1)); }).ok());
  for (int base = 0; base < kEvents; base += kPerTxn) {
    auto r = store->write([&](Store::Writer& w) -> Result<void> {
      for (int i = base; i < base + kPerTxn; ++i) {
        Event e = make_event(s, EventType::llm_input);
        e.data["text"] = filler(2000, static_cast<uint64_t>(i));
        auto seq = w.append_event(e);
        if (!seq) return Error{seq.error()};
        if (*seq != static_cast<uint64_t>(i + 1)) return fail("seq mismatch after retry");
      }
      return {};
    });
    ASSERT_TRUE(r.ok()) << r.error();
  }
  // One value much larger than the map: several doublings in a row.
  const std::string s2 = hex_id(0x2);
  auto r = store->write([&](Store::Writer& w) -> Result<void> {
    Event e = make_event(s2, EventType::llm_output);
    e.data["huge"] = filler(40 * 1024 * 1024, 99);
    if (auto a = w.append_event(e); !a) return Error{a.error()};
    return {};
  });
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GT(store->map_size(), initial);
  EXPECT_GE(store->map_size(), size_t{32} << 20);  // 40 MiB of noise packs to ~33 MiB

  auto check = [&](Store& st) {
    auto ev = st.events(s);
    ASSERT_TRUE(ev.ok()) << ev.error();
    ASSERT_EQ(ev->size(), static_cast<size_t>(kEvents));
    for (int i = 0; i < kEvents; ++i) {
      ASSERT_EQ((*ev)[i].seq, static_cast<uint64_t>(i + 1));
      ASSERT_EQ((*ev)[i].data.at("text").as_string(), filler(2000, static_cast<uint64_t>(i)));
    }
    auto ev2 = st.events(s2);
    ASSERT_TRUE(ev2.ok()) << ev2.error();
    ASSERT_EQ(ev2->size(), 1u);
    EXPECT_EQ((*ev2)[0].data.at("huge").as_string().size(), size_t{40} << 20);
  };
  check(*store);
  store.reset();
  // Reopening with the small initial size still reads everything (LMDB adopts the size).
  auto again = open(o);
  ASSERT_TRUE(again);
  check(*again);
}

TEST_F(StoreTest, MapResizedByAnotherProcess) {
  StoreOptions o;
  o.initial_map_size = 256 * 1024;
  auto store = open(o);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->write([&](Store::Writer& w) { return w.put_session(make_session(1, 1)); }).ok());
  // Make sure the parent has used its cached read transaction before the child grows the map.
  ASSERT_TRUE(store->sessions().ok());
  const size_t parent_map = store->map_size();

  auto grow_in_child = [&](uint64_t session, int events) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto child = Store::open(dir_, o);
      if (!child.ok()) child_exit(false);
      auto r = (*child)->write([&](Store::Writer& w) -> Result<void> {
        if (auto p = w.put_session(make_session(session, session)); !p) return p;
        for (int i = 0; i < events; ++i) {
          Event e = make_event(hex_id(session), EventType::llm_input);
          e.data["text"] = filler(2000, session * 100000 + static_cast<uint64_t>(i));
          if (auto a = w.append_event(e); !a) return Error{a.error()};
        }
        return {};
      });
      child.value().reset();
      child_exit(r.ok());
    }
    return pid;
  };

  // Round 1: the child grows the map; the parent then writes first.
  pid_t pid = grow_in_child(2, 4000);  // ~8 MB
  ASSERT_GT(pid, 0);
  ASSERT_EQ(wait_child(pid), 0);
  auto w = store->write([&](Store::Writer& wr) -> Result<void> {
    Event e = make_event(hex_id(1), EventType::session_end);
    if (auto a = wr.append_event(e); !a) return Error{a.error()};
    return {};
  });
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_GT(store->map_size(), parent_map);
  auto ev = store->events(hex_id(2));
  ASSERT_TRUE(ev.ok()) << ev.error();
  EXPECT_EQ(ev->size(), 4000u);

  // Round 2: the child grows the map again; the parent then reads first.
  const size_t before = store->map_size();
  pid = grow_in_child(3, 10000);  // ~20 MB
  ASSERT_GT(pid, 0);
  ASSERT_EQ(wait_child(pid), 0);
  auto ev3 = store->events(hex_id(3));
  ASSERT_TRUE(ev3.ok()) << ev3.error();
  EXPECT_EQ(ev3->size(), 10000u);
  EXPECT_EQ(ev3->back().data.at("text").as_string(), filler(2000, 3 * 100000 + 9999));
  EXPECT_GT(store->map_size(), before);
  auto sessions = store->sessions();
  ASSERT_TRUE(sessions.ok()) << sessions.error();
  EXPECT_EQ(sessions->size(), 3u);
  ASSERT_TRUE(store->write([&](Store::Writer& wr) -> Result<void> {
                Event e = make_event(hex_id(3), EventType::session_end);
                auto a = wr.append_event(e);
                if (!a) return Error{a.error()};
                return *a == 10001 ? Result<void>{} : fail("wrong seq");
              }).ok());
}

TEST_F(StoreTest, ReadersSeeConsistentSnapshotsWhileAnotherProcessWrites) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string s = hex_id(0x77);
  ASSERT_TRUE(store->write([&](Store::Writer& w) { return w.put_session(make_session(0x77, 1)); }).ok());
  ASSERT_TRUE(store->sessions().ok());

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    StoreOptions o;
    o.initial_map_size = 1 << 20;  // also makes the child grow the map while we read
    auto child = Store::open(dir_, o);
    if (!child.ok()) child_exit(false);
    Store& st = **child;
    bool ok = true;
    uint64_t n = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1000);
    while (ok && std::chrono::steady_clock::now() < end) {
      auto r = st.write([&](Store::Writer& w) -> Result<void> {
        for (int i = 0; i < 3; ++i) {  // three events per transaction
          Event e = make_event(s, EventType::llm_input);
          e.data["pad"] = filler(1500, n);
          if (auto a = w.append_event(e); !a) return Error{a.error()};
        }
        auto info = w.get_session(s);
        if (!info || !info->has_value()) return fail("session missing");
        SessionInfo si = **info;
        si.events += 3;
        return w.put_session(si);
      });
      ok = r.ok();
      ++n;
    }
    child.value().reset();
    child_exit(ok && n > 0);
  }

  int reads = 0;
  size_t last = 0;
  int status = 0;
  bool done = false;
  while (!done) {
    done = ::waitpid(pid, &status, WNOHANG) == pid;
    auto ev = store->events(s);
    ASSERT_TRUE(ev.ok()) << ev.error();
    ASSERT_EQ(ev->size() % 3, 0u) << "a transaction was seen half-applied";
    ASSERT_GE(ev->size(), last) << "snapshots went backwards";
    for (size_t i = 0; i < ev->size(); ++i) ASSERT_EQ((*ev)[i].seq, i + 1);
    last = ev->size();
    auto sessions = store->sessions();
    ASSERT_TRUE(sessions.ok()) << sessions.error();
    ASSERT_EQ(sessions->size(), 1u);
    EXPECT_EQ((*sessions)[0].events % 3, 0u);
    ++reads;
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_GT(reads, 1);
  auto ev = store->events(s);
  ASSERT_TRUE(ev.ok());
  EXPECT_GT(ev->size(), 0u);
  auto info = store->session(s);
  ASSERT_TRUE(info.ok() && info->has_value());
  EXPECT_EQ((*info)->events, ev->size());
}

TEST_F(StoreTest, Resolve) {
  auto store = open();
  ASSERT_TRUE(store);
  auto empty = store->resolve("last");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), "no sessions recorded yet");

  ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                for (const auto& s : {make_session(0xaa, 300), make_session(0xab, 100),
                                      make_session(0x1234567890abcdefULL, 200)})
                  if (auto r = w.put_session(s); !r) return r;
                return {};
              }).ok());

  auto exact = store->resolve("1234567890abcdef");
  ASSERT_TRUE(exact.ok()) << exact.error();
  EXPECT_EQ(*exact, "1234567890abcdef");
  auto upper = store->resolve("1234567890ABCDEF");
  ASSERT_TRUE(upper.ok()) << upper.error();
  EXPECT_EQ(*upper, "1234567890abcdef");
  auto prefix = store->resolve("1234");
  ASSERT_TRUE(prefix.ok()) << prefix.error();
  EXPECT_EQ(*prefix, "1234567890abcdef");
  auto p2 = store->resolve("00000000000000ab");
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(*p2, "00000000000000ab");
  auto p3 = store->resolve("00000000000000a");
  ASSERT_FALSE(p3.ok());
  EXPECT_EQ(p3.error(), "'00000000000000a' is ambiguous: matches 00000000000000aa, 00000000000000ab");
  auto p4 = store->resolve("0");
  ASSERT_FALSE(p4.ok());
  EXPECT_NE(p4.error().find("is ambiguous"), std::string::npos);

  for (std::string_view bad : {"ff", "zz", "", "00000000000000ac", "1234567890abcdef0"}) {
    auto r = store->resolve(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error(), "no session matches '" + std::string(bad) + "'");
  }

  auto last = store->resolve("last");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, "00000000000000aa");

  // Moving a session's start re-indexes it: the old by_start entry is gone.
  ASSERT_TRUE(store->write([&](Store::Writer& w) { return w.put_session(make_session(0xab, 400)); }).ok());
  last = store->resolve("last");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, "00000000000000ab");
  auto all = store->sessions();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "1234567890abcdef");
  EXPECT_EQ((*all)[1].id, "00000000000000aa");
  EXPECT_EQ((*all)[2].id, "00000000000000ab");
}

TEST_F(StoreTest, ManyAmbiguousMatchesAreAbbreviated) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                for (uint64_t i = 0; i < 9; ++i)
                  if (auto r = w.put_session(make_session(0x100 + i, i)); !r) return r;
                return {};
              }).ok());
  auto r = store->resolve("00000000000001");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().find('\n'), std::string::npos);
  EXPECT_NE(r.error().find("is ambiguous: matches 0000000000000100, "), std::string::npos);
  EXPECT_NE(r.error().find("…"), std::string::npos);
}

TEST_F(StoreTest, FindSessionByPid) {
  auto store = open();
  ASSERT_TRUE(store);
  const std::string t2 = "fedcba9876543210fedcba9876543210";
  ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                for (const auto& s :
                     {make_session(0xa, 100, kTrace, 100), make_session(0xb, 200, kTrace, 100),
                      make_session(0xc, 150, kTrace, 101), make_session(0xd, 300, t2, 100),
                      make_session(0xe, 50, "not-a-hex-trace", 100)})
                  if (auto r = w.put_session(s); !r) return r;
                return {};
              }).ok());
  struct Case {
    std::string trace;
    int64_t pid;
    uint64_t at;
    std::optional<std::string> want;
  };
  const std::vector<Case> cases = {
      {kTrace, 100, 50, std::nullopt},     {kTrace, 100, 100, hex_id(0xa)},
      {kTrace, 100, 199, hex_id(0xa)},     {kTrace, 100, 200, hex_id(0xb)},
      {kTrace, 100, UINT64_MAX, hex_id(0xb)}, {kTrace, 101, 149, std::nullopt},
      {kTrace, 101, 150, hex_id(0xc)},     {kTrace, 102, 1000, std::nullopt},
      {kTrace, 99, 1000, std::nullopt},    {t2, 100, 299, std::nullopt},
      {t2, 100, 1000, hex_id(0xd)},        {"not-a-hex-trace", 100, 60, hex_id(0xe)},
      {"other-trace", 100, 60, std::nullopt},
  };
  ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                for (const auto& c : cases) {
                  auto r = w.find_session_by_pid(c.trace, c.pid, c.at);
                  if (!r) return Error{r.error()};
                  EXPECT_EQ(*r, c.want) << c.trace << " " << c.pid << " " << c.at;
                }
                return {};
              }).ok());

  // Re-keying a session (start moved) drops its old by_pid entry.
  ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                if (auto r = w.put_session(make_session(0xa, 120, kTrace, 100)); !r) return r;
                auto at110 = w.find_session_by_pid(kTrace, 100, 110);
                auto at130 = w.find_session_by_pid(kTrace, 100, 130);
                if (!at110 || !at130) return fail("lookup failed");
                EXPECT_EQ(*at110, std::nullopt);
                EXPECT_EQ(*at130, hex_id(0xa));
                return {};
              }).ok());
}

TEST_F(StoreTest, MissingStoreReadOnly) {
  StoreOptions o;
  o.read_only = true;
  auto r = Store::open(dir_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "no ClawTrace store at " + dir_.string());
  EXPECT_FALSE(fs::exists(dir_)) << "a read-only open must not create anything";
  // An existing but empty directory is not a store either.
  fs::create_directories(dir_);
  r = Store::open(dir_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "no ClawTrace store at " + dir_.string());
}

TEST_F(StoreTest, CorruptStore) {
  { ASSERT_TRUE(open()); }
  {
    std::ofstream f(dir_ / "db" / "data.mdb", std::ios::binary | std::ios::trunc);
    std::string garbage(16384, '\0');
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 17) & 0xFF);
    f << garbage;
  }
  for (bool ro : {false, true}) {
    StoreOptions o;
    o.read_only = ro;
    auto r = Store::open(dir_, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rfind(dir_.string() + " is not a ClawTrace store or is corrupt (", 0), 0u)
        << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos);
  }
}

TEST_F(StoreTest, GarbageWithoutLockFile) {
  fs::create_directories(dir_ / "db");
  {
    std::ofstream f(dir_ / "db" / "data.mdb", std::ios::binary);
    f << std::string(8192, 'Z');
  }
  auto r = Store::open(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("is not a ClawTrace store or is corrupt"), std::string::npos) << r.error();
}

TEST_F(StoreTest, OtherSchemaIsRejected) {
  { ASSERT_TRUE(open()); }
  lmdb_put_meta(dir_, "schema", "3");
  for (bool ro : {false, true}) {
    StoreOptions o;
    o.read_only = ro;
    auto r = Store::open(dir_, o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("has store schema 3, this ClawTrace reads schemas 1 and 2"), std::string::npos)
        << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos);
  }
}

TEST_F(StoreTest, PermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  { ASSERT_TRUE(open()); }
  ::chmod((dir_ / "db").c_str(), 0);
  auto r = Store::open(dir_);
  ::chmod((dir_ / "db").c_str(), 0700);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("permission denied"), std::string::npos) << r.error();
}

TEST_F(StoreTest, StatePutGetDelete) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                auto missing = w.get_state("spool/123");
                if (!missing) return Error{missing.error()};
                EXPECT_FALSE(missing->has_value());
                if (auto r = w.put_state("spool/123", std::string("off\0set", 7)); !r) return r;
                if (auto r = w.put_state("other", "x"); !r) return r;
                auto got = w.get_state("spool/123");  // visible inside the same transaction
                if (!got) return Error{got.error()};
                EXPECT_EQ(*got, std::optional<std::string>(std::string("off\0set", 7)));
                return {};
              }).ok());
  ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                auto got = w.get_state("spool/123");
                if (!got) return Error{got.error()};
                EXPECT_EQ(*got, std::optional<std::string>(std::string("off\0set", 7)));
                if (auto r = w.put_state("spool/123", "42"); !r) return r;
                if (auto r = w.delete_state("other"); !r) return r;
                if (auto r = w.delete_state("never-set"); !r) return r;  // not an error
                return {};
              }).ok());
  // A failing fn rolls everything back.
  auto failed = store->write([&](Store::Writer& w) -> Result<void> {
    if (auto r = w.put_state("spool/123", "99"); !r) return r;
    if (auto r = w.put_session(make_session(5, 5)); !r) return r;
    return fail("boom");
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error(), "boom");
  auto sessions = store->sessions();
  ASSERT_TRUE(sessions.ok());
  EXPECT_TRUE(sessions->empty());
  store.reset();

  auto again = open();
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->write([&](Store::Writer& w) -> Result<void> {
                auto a = w.get_state("spool/123");
                auto b = w.get_state("other");
                if (!a || !b) return fail("read failed");
                EXPECT_EQ(*a, std::optional<std::string>("42"));
                EXPECT_FALSE(b->has_value());
                return {};
              }).ok());
}

TEST_F(StoreTest, ReadOnlyOpenReadsButDoesNotWrite) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                  if (auto r = w.put_session(make_session(9, 9)); !r) return r;
                  Event e = make_event(hex_id(9), EventType::session_start);
                  if (auto a = w.append_event(e); !a) return Error{a.error()};
                  return {};
                }).ok());
  }
  StoreOptions o;
  o.read_only = true;
  auto store = open(o);
  ASSERT_TRUE(store);
  auto s = store->sessions();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 1u);
  auto ev = store->events(hex_id(9));
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->size(), 1u);
  EXPECT_EQ(*store->resolve("last"), hex_id(9));
  auto w = store->write([](Store::Writer&) -> Result<void> { return {}; });
  EXPECT_FALSE(w.ok());
}

TEST_F(StoreTest, InvalidIdsAreErrorsNotExceptions) {
  auto store = open();
  ASSERT_TRUE(store);
  auto r = store->write([&](Store::Writer& w) -> Result<void> {
    Event e = make_event("not-an-id", EventType::llm_input);
    auto a = w.append_event(e);
    EXPECT_FALSE(a.ok());
    SessionInfo s = make_session(1, 1);
    s.id = "short";
    EXPECT_FALSE(w.put_session(s).ok());
    EXPECT_FALSE(w.get_session("nope").ok());
    return {};
  });
  EXPECT_TRUE(r.ok());
  EXPECT_FALSE(store->events("nope").ok());
  // Exceptions thrown by fn are reported, not propagated.
  auto thrown = store->write([](Store::Writer&) -> Result<void> { throw std::runtime_error("x"); });
  EXPECT_FALSE(thrown.ok());
}

}  // namespace

namespace {

std::string event_key(uint64_t session, uint64_t seq) {
  std::string key(16, '\0');  // session and seq, big-endian (store.h)
  for (int i = 0; i < 8; ++i) {
    key[static_cast<size_t>(i)] = static_cast<char>(session >> (56 - 8 * i));
    key[static_cast<size_t>(8 + i)] = static_cast<char>(seq >> (56 - 8 * i));
  }
  return key;
}

void lmdb_put_event(const fs::path& store_dir, uint64_t session, uint64_t seq, const std::string& value) {
  lmdb_put(store_dir, "events", event_key(session, seq), value);
}

// Sessions a1 and b2, three events each (the middle one an llm_input with some text).
void write_two_sessions(Store& store) {
  ASSERT_TRUE(store.write([&](Store::Writer& wr) -> Result<void> {
                for (const auto& s : {make_session(0xa1, 100), make_session(0xb2, 200)})
                  if (auto r = wr.put_session(s); !r) return r;
                for (uint64_t id : {0xa1, 0xb2})
                  for (auto type : {EventType::session_start, EventType::llm_input, EventType::session_end}) {
                    json::object data;
                    if (type == EventType::llm_input) data["text"] = "Summarise the README, then list the open issues.";
                    Event e = make_event(hex_id(id), type, data);
                    if (auto r = wr.append_event(e); !r) return Error{r.error()};
                  }
                return {};
              }).ok());
}

// Session a1's event 2 is damaged: reading a1 says which record, in one line, starting
// with `expected`; b2, and the list of sessions, still read (and so do their span trees).
void expect_only_a1_unreadable(Store& store, const std::string& expected) {
  const std::string a = hex_id(0xa1), b = hex_id(0xb2);
  auto bad = store.events(a);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().rfind(expected, 0), 0u) << bad.error();
  EXPECT_EQ(bad.error().find('\n'), std::string::npos);
  auto tree = load_span_tree(store, a);
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.error().find(a), std::string::npos) << tree.error();
  auto good = store.events(b);
  ASSERT_TRUE(good.ok()) << good.error();
  EXPECT_EQ(good->size(), 3u);
  EXPECT_EQ(good->at(1).data.at("text").as_string(), "Summarise the README, then list the open issues.");
  EXPECT_TRUE(load_span_tree(store, b).ok());
  auto sessions = store.sessions();
  ASSERT_TRUE(sessions.ok());
  EXPECT_EQ(sessions->size(), 2u);
}

}  // namespace

// A damaged event record (raw JSON, as schema 1 wrote them) is reported, nothing else lost.
TEST_F(StoreTest, CorruptEventNamesItsPlaceAndLosesNothingElse) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    write_two_sessions(*store);
  }
  lmdb_put_event(dir_, 0xa1, 2, "{\"t_ns\": 5, \"type\": \"llm_inp");
  auto store = open();
  ASSERT_TRUE(store);
  expect_only_a1_unreadable(*store, "store: corrupt event " + hex_id(0xa1) + "/2");
}

// The same for a packed record: a flipped byte, a truncated or an extended frame.
TEST_F(StoreTest, CorruptPackedEventNamesItsPlaceAndLosesNothingElse) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    write_two_sessions(*store);
  }
  const auto packed = lmdb_get(dir_, "events", event_key(0xa1, 2));
  ASSERT_TRUE(packed);
  ASSERT_EQ(packed->at(0), '\x01') << "the llm_input record was not packed";
  std::string flipped = *packed;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  for (const std::string& damaged : {flipped, packed->substr(0, packed->size() - 3), *packed + "??"}) {
    lmdb_put_event(dir_, 0xa1, 2, damaged);
    auto store = open();
    ASSERT_TRUE(store);
    expect_only_a1_unreadable(*store, "store: corrupt event " + hex_id(0xa1) + "/2: ");
  }
  lmdb_put_event(dir_, 0xa1, 2, *packed);  // repaired: all of it reads again
  auto store = open();
  ASSERT_TRUE(store);
  auto events = store->events(hex_id(0xa1));
  ASSERT_TRUE(events.ok()) << events.error();
  EXPECT_EQ(events->size(), 3u);
}

// Records are packed (zstd, value_codec.h) when that makes them smaller, and read back as
// they were written; small values stay raw.
TEST_F(StoreTest, PackedRecordsReadBackAsWritten) {
  const std::string id = hex_id(0xc3);
  std::string text;
  for (int i = 0; i < 40; ++i) text += "step " + std::to_string(i) + ": read the file, then ran the tests. ";
  std::string big = "tool output:";  // over the blob threshold
  while (big.size() < 12000) big += text;
  std::string state_json = R"({"info":{"id":")" + id + R"(","argv":["sh","-c","make test"]},"spans":[],"ended":true})";
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                  if (auto r = w.put_session(make_session(0xc3, 300)); !r) return r;
                  Event e = make_event(id, EventType::llm_output, json::object{{"text", text}, {"blob", big}});
                  if (auto r = w.append_event(e); !r) return Error{r.error()};
                  if (auto r = w.put_state("sess/" + id, state_json); !r) return r;
                  return w.put_state("spool/" + id, "1234");
                }).ok());
    auto events = store->events(id);
    ASSERT_TRUE(events.ok()) << events.error();
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->at(0).data.at("text").as_string(), text);
    EXPECT_EQ(events->at(0).data.at("blob").as_string(), big);
    auto session = store->session(id);
    ASSERT_TRUE(session.ok() && session->has_value());
    EXPECT_EQ((*session)->argv, make_session(0xc3, 300).argv);
    ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                  auto st = w.get_state("sess/" + id);
                  auto off = w.get_state("spool/" + id);
                  if (!st || !off) return fail("state read failed");
                  EXPECT_EQ(*st, std::optional<std::string>(state_json));
                  EXPECT_EQ(*off, std::optional<std::string>("1234"));
                  return {};
                }).ok());
  }
  const auto event = lmdb_get(dir_, "events", event_key(0xc3, 1));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->at(0), '\x01');
  EXPECT_LT(event->size(), text.size() / 2) << "the event's text was not compressed";
  const auto state = lmdb_get(dir_, "state", "sess/" + id);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->at(0), '\x01');
  EXPECT_LT(state->size(), state_json.size());
  EXPECT_EQ(lmdb_get(dir_, "state", "spool/" + id), std::optional<std::string>("1234"));
  const auto session = lmdb_get(dir_, "sessions", std::string(event_key(0xc3, 0), 0, 8));
  ASSERT_TRUE(session);
  EXPECT_EQ(session->at(0), '\x01');
  EXPECT_EQ(lmdb_stat(dir_, "blobs").ms_entries, 1u);
  EXPECT_EQ(lmdb_stat(dir_, "blobs").ms_overflow_pages, 0u) << "the 12 KB blob was not compressed";
}

// A store written before values were packed (schema 1, every record raw) reads as it did;
// opened for writing it becomes schema 2, and old and new records read side by side.
TEST_F(StoreTest, SchemaOneStoreReadsAndIsUpgradedWhenWritten) {
  const uint64_t n = 0xd4;
  const std::string id = hex_id(n);
  { ASSERT_TRUE(open()); }
  Event old = make_event(id, EventType::llm_input, json::object{{"text", "an answer from before, long enough to be worth packing today"}});
  old.seq = 1;
  json::object old_json = to_json(old);
  old_json.erase("session");
  lmdb_put_event(dir_, n, 1, json::serialize(old_json));
  lmdb_put(dir_, "sessions", std::string(event_key(n, 0), 0, 8), json::serialize(to_json(make_session(n, 400))));
  lmdb_put(dir_, "by_start", std::string(event_key(400, n)), "");
  const std::string old_state = R"({"info":{"id":")" + id + R"("},"spans":[],"ended":false,"note":"kept raw by schema 1"})";
  lmdb_put(dir_, "state", "sess/" + id, old_state);
  lmdb_put_meta(dir_, "schema", "1");
  {
    StoreOptions ro;
    ro.read_only = true;
    auto store = open(ro);
    ASSERT_TRUE(store);
    auto events = store->events(id);
    ASSERT_TRUE(events.ok()) << events.error();
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->at(0).data.at("text").as_string(), old.data.at("text").as_string());
    EXPECT_EQ(*store->resolve("last"), id);
  }
  EXPECT_EQ(lmdb_get(dir_, "meta", "schema"), std::optional<std::string>("1")) << "a reader changed the schema";
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->write([&](Store::Writer& w) -> Result<void> {
                  auto st = w.get_state("sess/" + id);
                  if (!st) return Error{st.error()};
                  EXPECT_EQ(*st, std::optional<std::string>(old_state));
                  Event e = make_event(id, EventType::llm_output, json::object{{"text", "and the answer of today, packed"}});
                  if (auto r = w.append_event(e); !r) return Error{r.error()};
                  EXPECT_EQ(e.seq, 2u);
                  return {};
                }).ok());
    auto events = store->events(id);
    ASSERT_TRUE(events.ok()) << events.error();
    ASSERT_EQ(events->size(), 2u);
    EXPECT_EQ(events->at(0).type, EventType::llm_input);
    EXPECT_EQ(events->at(1).data.at("text").as_string(), "and the answer of today, packed");
  }
  EXPECT_EQ(lmdb_get(dir_, "meta", "schema"), std::optional<std::string>("2"));
}

namespace {

std::string sha256_raw(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string hex_of(const std::string& raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) out += {kDigits[c >> 4], kDigits[c & 15]};
  return out;
}

// Schema 1 kept a blob's bytes as they were: a string beginning with 0x00 or 0x01 (a tool
// result starting with a control character) must not read as a packed value after the
// upgrade to schema 2.
TEST_F(StoreTest, SchemaOneBlobsBeginningWithMarkerBytesSurviveTheUpgrade) {
  const uint64_t n = 0xd5;
  const std::string id = hex_id(n);
  { ASSERT_TRUE(open()); }
  const std::string starts1 = std::string(1, '\x01') + std::string(5000, 'a');
  const std::string starts0 = std::string(1, '\x00') + std::string(5000, 'b');
  json::object data;
  for (const auto& [name, bytes] : {std::pair<const char*, const std::string*>{"one", &starts1}, {"zero", &starts0}}) {
    const std::string key = sha256_raw(*bytes);
    lmdb_put(dir_, "blobs", key, *bytes);
    data[name] = json::object{{"$blob", hex_of(key)}, {"len", bytes->size()}};
  }
  Event old = make_event(id, EventType::after_tool_call, {});
  old.seq = 1;
  json::object old_json = to_json(old);
  old_json.erase("session");
  old_json["data"] = data;
  lmdb_put_event(dir_, n, 1, json::serialize(old_json));
  lmdb_put(dir_, "sessions", std::string(event_key(n, 0), 0, 8), json::serialize(to_json(make_session(n, 400))));
  lmdb_put(dir_, "by_start", std::string(event_key(400, n)), "");
  lmdb_put_meta(dir_, "schema", "1");
  for (int pass = 0; pass < 2; ++pass) {  // upgraded on the first open for writing; the same after
    auto store = open();
    ASSERT_TRUE(store);
    auto events = store->events(id);
    ASSERT_TRUE(events.ok()) << events.error();
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->at(0).data.at("one").as_string(), starts1);
    EXPECT_EQ(events->at(0).data.at("zero").as_string(), starts0);
  }
  EXPECT_EQ(lmdb_get(dir_, "meta", "schema"), std::optional<std::string>("2"));
}

}  // namespace
