// Security (docs/security.md): a traced agent puts distinct fake keys everywhere it could
// (headers, query, JSON bodies, prompts, argv, `sh -c` strings, its tools' environment, a
// tool result echoing a key, a model answer quoting one) over real HTTP and HTTPS to the
// stand-in under the real preload; then no key, nor a distinctive piece of one, is in any
// file of the store (raw bytes, and every LMDB value decoded), nor in any export (JSON
// lines, events, card, OTLP as received, the dashboard's API). Store files are private
// whatever the umask. The dashboard's network exposure: loopback by default, token off
// it, traversal and oversized requests refused with clear statuses.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "e2e_support.h"
#include "files.h"
#include "http_sink.h"
#include "serve_support.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "value_codec.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace clawtrace;

namespace {

struct Planted {
  std::string place;  // the name py_leaky_agent.py knows it by
  std::string key;
};

// A key of the given prefix whose rest is random (seeded): its pieces occur nowhere else.
std::string fake_key(const std::string& prefix, size_t len, std::mt19937& rng) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string k = prefix;
  while (k.size() < len) k += kChars[rng() % (sizeof kChars - 1)];
  return k;
}

// Known formats (caught by their shape alone when never sent in a header) and unknown
// ones (caught only by where they are: a credential header, flag, query or JSON field).
std::vector<Planted> planted_keys() {
  std::mt19937 rng(20261127);
  return {{"root_flag", fake_key("rootflag-", 28, rng)},         {"x_api_key", fake_key("sk-ant-api03-", 60, rng)},
          {"prompt_sk_ant", fake_key("sk-ant-api03-", 60, rng)}, {"env_echoed", fake_key("sk-proj-", 48, rng)},
          {"env_only", fake_key("envonly-", 28, rng)},           {"argv_flag", fake_key("argvflag-", 28, rng)},
          {"argv_bare", fake_key("sk-proj-", 48, rng)},          {"argv_eq", fake_key("argveq-", 28, rng)},
          {"shc_flag", fake_key("shcflag-", 28, rng)},           {"shc_header", fake_key("shchdr-", 28, rng)},
          {"shc_bare", fake_key("AIzaSy", 39, rng)},             {"json_field", fake_key("jsonfield-", 28, rng)},
          {"prompt_aiza", fake_key("AIzaSy", 39, rng)},          {"bearer", fake_key("sk-proj-", 48, rng)},
          {"query_key", fake_key("AIzaSy", 39, rng)},            {"goog_header", fake_key("googhdr-", 28, rng)},
          {"model_answer", fake_key("sk-or-v1-", 73, rng)},     {"model_streamed", fake_key("sk-ant-api03-", 60, rng)}};
}

// Whole groups only: the callers cut off the ends anyway.
std::string base64(const std::string& in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  std::string out;
  for (size_t i = 0; i + 2 < in.size(); i += 3) {
    const uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
  }
  return out;
}

// What must never be found: each key, every 12-byte piece of it past its format prefix,
// and its base64 forms at the three alignments (the synthesiser's saved state is base64).
std::vector<std::pair<std::string, std::string>> needles(const std::vector<Planted>& keys) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : keys) {
    out.emplace_back(p.place, p.key);
    for (size_t i = 6; i + 12 <= p.key.size(); ++i) out.emplace_back(p.place + " (piece)", p.key.substr(i, 12));
    for (const std::string lead : {"", "x", "xy"}) {
      const std::string b = base64(lead + p.key);
      out.emplace_back(p.place + " (base64)", b.substr(4, b.size() - 8));
    }
  }
  return out;
}

class Leaks {
 public:
  explicit Leaks(const std::vector<Planted>& keys) : needles_(needles(keys)) {}
  // Records every needle found in `text`, naming `where`.
  void check(const std::string& where, std::string_view text) {
    ++checked_;
    for (const auto& [place, needle] : needles_)
      if (text.find(needle) != std::string_view::npos) found_.push_back(place + " in " + where);
  }
  size_t checked() const { return checked_; }
  const std::vector<std::string>& found() const { return found_; }

 private:
  std::vector<std::pair<std::string, std::string>> needles_;
  std::vector<std::string> found_;
  size_t checked_ = 0;
};

// Every key and value of every database of the LMDB environment in `db_dir`, passed to
// `leaks`: values of the databases the store packs (zstd) unpacked, the index databases'
// values as they are (a by_pid value is a binary session key: unpacking it would misread
// a key whose first byte is the codec's zstd tag). Returns the number of values.
const std::set<std::string> kPackedDatabases = {"events", "sessions", "blobs", "state"};

size_t check_lmdb(const fs::path& db_dir, Leaks& leaks) {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  size_t values = 0;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 32);
  EXPECT_EQ(mdb_env_open(env, db_dir.c_str(), MDB_RDONLY, 0600), 0) << db_dir;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  ValueCodec codec;
  auto walk = [&](MDB_dbi dbi, const std::string& name, std::vector<std::string>* names) {
    MDB_cursor* c = nullptr;
    if (mdb_cursor_open(txn, dbi, &c) != 0) return ADD_FAILURE() << "cursor on " << name;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      const std::string_view key(static_cast<const char*>(k.mv_data), k.mv_size);
      const std::string_view stored(static_cast<const char*>(v.mv_data), v.mv_size);
      if (names) {
        names->emplace_back(key);
        continue;
      }
      leaks.check("lmdb " + name + " key", key);
      if (!kPackedDatabases.count(name)) {
        leaks.check("lmdb " + name + " value", stored);
      } else {
        std::string buf;
        auto raw = codec.unpack(stored, buf);
        ASSERT_TRUE(raw.ok()) << name << ": " << raw.error();
        leaks.check("lmdb " + name + " value", *raw);
      }
      ++values;
    }
    mdb_cursor_close(c);
  };
  MDB_dbi main_db = 0;
  std::vector<std::string> names;
  EXPECT_EQ(mdb_dbi_open(txn, nullptr, 0, &main_db), 0);
  walk(main_db, "(main)", &names);  // the main database lists the named ones
  EXPECT_GE(names.size(), 6u);
  for (const auto& name : names) {
    MDB_dbi dbi = 0;
    if (mdb_dbi_open(txn, name.c_str(), 0, &dbi) != 0) {
      ADD_FAILURE() << "cannot open database " << name;
      continue;
    }
    walk(dbi, name, nullptr);
  }
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return values;
}

// Every file and directory under `root`: files 0600, directories 0700.
void expect_private(const fs::path& root) {
  size_t files = 0;
  struct stat st{};
  ASSERT_EQ(lstat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << root;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    ASSERT_EQ(lstat(e.path().c_str(), &st), 0);
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0700u) << e.path();
    } else {
      EXPECT_TRUE(S_ISREG(st.st_mode)) << e.path();
      EXPECT_EQ(st.st_mode & 07777, 0600u) << e.path();
      ++files;
    }
  }
  EXPECT_GE(files, 3u);  // db/data.mdb, db/lock.mdb, a spool at least
}

// Restores the umask at scope end.
class Umask {
 public:
  explicit Umask(mode_t m) : saved_(::umask(m)) {}
  ~Umask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

e2e::Output run_clawtrace(const e2e::Fixture& f, std::vector<std::string> args) {
  args.insert(args.begin(), {CT_CLAWTRACE, "--store", (f.dir() / "store").string()});
  return e2e::run_process(args, {"PATH=/usr/bin:/bin", "HOME=" + (f.dir() / "home").string()}, 120);
}

std::string key_of(const std::vector<Planted>& keys, const std::string& place) {
  for (const auto& p : keys)
    if (p.place == place) return p.key;
  return "";
}

// Starts the stand-in and runs py_leaky_agent.py with `keys` behind `launcher` (the
// command that traces it). Fails the test unless the agent finished every exchange.
void run_leaky_agent(e2e::Fixture& f, const std::vector<Planted>& keys, std::vector<std::string> launcher,
                     const std::vector<std::string>& env) {
  ASSERT_TRUE(f.start_standin(R"({"rules": [{"when": {"user_contains": "stream-me"}, "reply": {"text": "Here: )" +
                              key_of(keys, "model_streamed") + R"( is it."}}, {"when": {"api": "openai.chat"}, "reply": {"text": "Your key )" +
                              key_of(keys, "model_answer") + R"( works."}}]})"));
  json::object cfg{{"https", f.https_url()}, {"http", f.http_url()}, {"cafile", f.cert()}, {"keys", json::object{}}};
  for (const auto& p : keys) cfg["keys"].as_object()[p.place] = p.key;
  const std::string config = f.write_file("agent.json", json::serialize(cfg));
  launcher.insert(launcher.end(), {e2e::python(), e2e::client_script("py_leaky_agent.py"), config, "--api-key",
                                   key_of(keys, "root_flag")});
  const auto run = e2e::run_process(launcher, env);
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  ASSERT_NE(run.out.find("done"), std::string::npos) << run.out << run.err;
}

std::string listed(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

}  // namespace

TEST(Security, NoPlantedKeyReachesTheStoreOrAnExport) {
  const Umask permissive(0);  // the store must be private by itself
  e2e::Fixture f;
  const auto keys = planted_keys();
  run_leaky_agent(f, keys, {CT_CLAWTRACE, "--store", (f.dir() / "store").string(), "run", "--"},
                  {"PATH=/usr/bin:/bin", "HOME=" + (f.dir() / "home").string()});
  if (HasFatalFailure()) return;

  // The run was recorded: four LLM calls, the tools, and masked credentials in their places.
  const e2e::Trace t = f.trace();
  ASSERT_GE(t.of(EventType::llm_input).size(), 5u);
  ASSERT_GE(t.sessions(), 4u);  // the agent, its three tool shells, /bin/true
  std::string root;
  for (const auto& s : t.infos)
    if (!s.parent_session) root = s.id;
  ASSERT_FALSE(root.empty());

  // Everything the commands give out, kept outside the store.
  const fs::path out_dir = f.dir() / "exports";
  fs::create_directories(out_dir);
  std::vector<std::pair<std::string, std::string>> outputs;
  auto keep = [&](const std::string& what, const e2e::Output& o) {
    EXPECT_EQ(o.status, 0) << what << ": " << o.err;
    outputs.emplace_back(what, o.out + o.err);
  };
  keep("export --all", run_clawtrace(f, {"export", "--all"}));
  keep("export root", run_clawtrace(f, {"export", root}));
  keep("card", run_clawtrace(f, {"card", root}));
  keep("sessions --json --all", run_clawtrace(f, {"sessions", "--json", "--all"}));
  for (const auto& s : t.infos) {
    keep("events " + s.id, run_clawtrace(f, {"events", s.id}));
    keep("events --tree " + s.id, run_clawtrace(f, {"events", s.id, "--tree"}));
  }
  {
    test::HttpSink sink;
    keep("export --otlp", run_clawtrace(f, {"export", "--all", "--otlp", sink.url()}));
    const auto requests = sink.requests();
    ASSERT_FALSE(requests.empty());
    for (const auto& r : requests) outputs.emplace_back("OTLP request", r.head + r.body);
  }
  {
    serve_test::Server server(f.dir() / "store", f.dir() / "home", {});
    ASSERT_GT(server.port(), 0) << server.banner();
    for (const std::string& path : std::vector<std::string>{"/api/sessions", "/api/sessions/" + root,
                                                            "/api/sessions/" + root + "/card",
                                                            "/api/sessions/" + root + "/card?format=yaml"}) {
      const auto reply = serve_test::http(server.url(path));
      EXPECT_EQ(reply.status, 200) << path;
      outputs.emplace_back("serve " + path, reply.body);
    }
    for (const Event& e : t.events) {  // every span's payloads in full
      if (e.span.empty() || e.type != EventType::llm_input) continue;
      const auto reply = serve_test::http(server.url("/api/sessions/" + e.session + "/spans/" + e.span));
      EXPECT_EQ(reply.status, 200) << e.span;
      outputs.emplace_back("serve span " + e.span, reply.body);
    }
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    test::spit(out_dir / ("output-" + std::to_string(i)), outputs[i].second);

  // The masks are where the keys were: the test looked at real data.
  std::string all_events;
  for (const auto& [what, text] : outputs)
    if (what == "export --all") all_events = text;
  EXPECT_NE(all_events.find("Deploy with ******"), std::string::npos);
  EXPECT_NE(all_events.find("Is ******"), std::string::npos);
  EXPECT_NE(all_events.find("hello from the stand-in"), std::string::npos);  // the tool result is there
  EXPECT_NE(all_events.find("--api-key"), std::string::npos);                 // argv is there
  EXPECT_NE(all_events.find("Your key ******"), std::string::npos);           // the model's answer
  EXPECT_NE(all_events.find("Here: ******"), std::string::npos);              // streamed

  Leaks leaks(keys);
  for (const auto& e : fs::recursive_directory_iterator(f.dir() / "store"))
    if (e.is_regular_file()) leaks.check(e.path().string(), test::slurp(e.path()));
  const size_t values = check_lmdb(f.dir() / "store" / "db", leaks);
  EXPECT_GT(values, 20u);
  for (const auto& e : fs::recursive_directory_iterator(out_dir)) leaks.check(e.path().string(), test::slurp(e.path()));
  for (const auto& [what, text] : outputs) leaks.check(what, text);
  EXPECT_TRUE(leaks.found().empty()) << listed(leaks.found());
  EXPECT_GT(leaks.checked(), values);

  expect_private(f.dir() / "store");
}

// The preload's own guarantee, before any ingestion: the spool files it writes into the
// store hold no key. Run without `clawtrace run`, which ingests and removes them.
TEST(Security, SpoolFilesHoldNoKeyBeforeIngestion) {
  const Umask permissive(0);
  e2e::Fixture f;
  const auto keys = planted_keys();
  const fs::path store = f.dir() / "direct" / "store";
  run_leaky_agent(f, keys, {"/usr/bin/env", std::string("LD_PRELOAD=") + CT_PRELOAD, "CLAWTRACE_STORE=" + store.string()},
                  {"PATH=/usr/bin:/bin", "HOME=" + (f.dir() / "home").string()});
  if (HasFatalFailure()) return;
  // A key the model streams is cut across SSE events by their JSON framing: the spool holds
  // its pieces (masked when ingestion joins them, see the test above), never the whole key.
  std::vector<Planted> whole_only, others;
  for (const auto& p : keys) (p.place == "model_streamed" ? whole_only : others).push_back(p);
  Leaks leaks(others);
  size_t spools = 0;
  for (const auto& e : fs::recursive_directory_iterator(store)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = test::slurp(e.path());
    spools += e.path().extension() == ".spool";
    leaks.check(e.path().string(), bytes);
    EXPECT_EQ(bytes.find(whole_only[0].key), std::string::npos) << e.path();
  }
  EXPECT_GE(spools, 4u);  // the agent, its shells, /bin/true
  EXPECT_TRUE(leaks.found().empty()) << listed(leaks.found());
  expect_private(store);
}

// ---- the dashboard's network exposure ------------------------------------------------------

namespace {

// The first IPv4 address of this machine that is not loopback, or "".
std::string non_loopback_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a && found.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf)) found = buf;
  }
  freeifaddrs(list);
  return found;
}

// The status line of what came back for raw request bytes (until close or 3 s).
std::string status_line(const std::string& address, int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (got.find("\r\n") == std::string::npos && poll(&p, 1, 3000) > 0) {
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  } else {
    got = "connect failed";
  }
  close(fd);
  return got.substr(0, got.find("\r\n"));
}

class Dashboard : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir("clawtrace-security-serve");
    const fs::path events = dir_->path() / "one.jsonl";
    std::ofstream(events) << R"({"t_ns":1795791496000000000,"type":"session_start","session":"00000000000a0001","span":"00000000000a0001","parent":null,"data":{"pid":1,"ppid":0,"argv":["agent"],"cwd":"/"}})"
                          << "\n"
                          << R"({"t_ns":1795791497000000000,"type":"session_end","session":"00000000000a0001","span":"00000000000a0001","parent":null,"data":{"exit_code":0}})"
                          << "\n";
    auto r = test::run_process({CT_CLAWTRACE, "--store", store().string(), "import", events.string()},
                               serve_test::test_env(dir_->path()), 60);
    ASSERT_EQ(r.status, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path store() { return dir_->path() / "store"; }
  static fs::path home() { return dir_->path(); }
  static inline test::TempDir* dir_ = nullptr;
};

}  // namespace

TEST_F(Dashboard, BindsLoopbackByDefault) {
  serve_test::Server server(store(), home(), {});
  ASSERT_GT(server.port(), 0) << server.banner();
  EXPECT_NE(server.banner().find("http://127.0.0.1:"), std::string::npos) << server.banner();
  EXPECT_TRUE(server.token().empty());
  EXPECT_EQ(status_line("127.0.0.1", server.port(), "GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
            "HTTP/1.1 200 OK");
  const std::string lan = non_loopback_address();
  if (lan.empty()) GTEST_SKIP() << "no non-loopback IPv4 address to try";
  EXPECT_EQ(status_line(lan, server.port(), "GET /api/sessions HTTP/1.1\r\n\r\n"), "connect failed")
      << "reachable on " << lan;
}

TEST_F(Dashboard, OffLoopbackEveryRequestNeedsTheToken) {
  serve_test::Server server(store(), home(), {"--bind", "0.0.0.0"});
  ASSERT_EQ(server.token().size(), 32u) << server.banner();
  const std::string lan = non_loopback_address();
  for (const std::string& address : {std::string("127.0.0.1"), lan}) {
    if (address.empty()) continue;
    for (const std::string path : {"/", "/app.js", "/api/sessions", "/api/sessions/00000000000a0001/card", "/nope"})
      EXPECT_EQ(status_line(address, server.port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"),
                "HTTP/1.1 401 Unauthorized")
          << address << path;
    EXPECT_EQ(status_line(address, server.port(),
                          "GET /api/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + server.token() + "\r\n\r\n"),
              "HTTP/1.1 200 OK");
  }
}

TEST_F(Dashboard, PathTraversalIsRefused) {
  serve_test::Server server(store(), home(), {});
  ASSERT_GT(server.port(), 0) << server.banner();
  for (const std::string target :
       {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/../../../etc/passwd", "/..%2f..%2fetc%2fpasswd",
        "/%2E%2E%5C%2E%2E%5Cetc%5Cpasswd", "/api/sessions/..%2f..%2f..%2fetc%2fpasswd", "/api/../../etc/passwd",
        "//etc/passwd", "/index.html%00.js", "/./app.js/.."}) {
    const std::string status =
        status_line("127.0.0.1", server.port(), "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(status, "HTTP/1.1 400 Bad Request") << target;
  }
  EXPECT_EQ(status_line("127.0.0.1", server.port(), "GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
            "HTTP/1.1 200 OK");
}

TEST_F(Dashboard, OversizedRequestsAreRefusedWithTheirStatus) {
  serve_test::Server server(store(), home(), {});
  ASSERT_GT(server.port(), 0) << server.banner();
  const int port = server.port();
  const std::string host = "Host: 127.0.0.1\r\n";
  EXPECT_EQ(status_line("127.0.0.1", port, "GET /api/sessions?q=" + std::string(20000, 'a') + " HTTP/1.1\r\n" + host + "\r\n"),
            "HTTP/1.1 414 URI Too Long");
  EXPECT_EQ(status_line("127.0.0.1", port, "GET /api/sessions?q=" + std::string(100000, 'a') + " HTTP/1.1\r\n" + host + "\r\n"),
            "HTTP/1.1 414 URI Too Long");
  EXPECT_EQ(status_line("127.0.0.1", port, "GET /api/sessions HTTP/1.1\r\n" + host + "X-Big: " + std::string(100000, 'b') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(status_line("127.0.0.1", port, "POST /api/sessions HTTP/1.1\r\n" + host + "Content-Length: 99999999\r\n\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(status_line("127.0.0.1", port, "POST /api/sessions HTTP/1.1\r\n" + host + "Content-Length: 200000\r\n\r\n" +
                                               std::string(200000, 'c')),
            "HTTP/1.1 413 Payload Too Large");
  // Still serving, and an ordinary request just under the limits is answered.
  EXPECT_EQ(status_line("127.0.0.1", port, "GET /api/sessions?q=" + std::string(4000, 'a') + " HTTP/1.1\r\n" + host + "\r\n"),
            "HTTP/1.1 200 OK");
}
