// The preload's traffic capture, one wrapped function at a time: each tiny program in
// tests/capture/ talks HTTP/1.1 to a server child of its own through one socket or OpenSSL
// call, once without and once with LD_PRELOAD=libclawtrace.so. Stdout, stderr and exit
// status must be byte-identical (errno included: the programs print it). The spool files
// are then read directly (ingestion is not involved): every captured connection has one
// conn_open, contiguous data records in each direction whose payloads are exactly the
// bytes the program says it sent and received (its transcript lines), and one conn_close.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "subprocess.h"
#include "temp_dir.h"
#include "spool_reader.h"

namespace fs = std::filesystem;
using namespace clawtrace;

namespace {

using Argv = std::vector<std::string>;
using wire::RecordType;

// ---- running a program ---------------------------------------------------------------

using Output = clawtrace::test::ProcessOutput;
using clawtrace::test::run_process;
std::string describe(int status) { return clawtrace::test::describe_status(status); }

std::string program(const std::string& name) { return std::string(CT_PROGRAM_DIR) + "/" + name; }

Argv base_env() { return {"PATH=/usr/bin:/bin", "LC_ALL=C"}; }

Argv with(Argv env, const Argv& more) {
  env.insert(env.end(), more.begin(), more.end());
  return env;
}

// Each test's directory; its prefix tells a leftover's origin.
class TempDir : public clawtrace::test::TempDir {
 public:
  TempDir() : clawtrace::test::TempDir("clawtrace-capture") {}
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- transcripts (what a program says it sent and received) -----------------------------

struct Transcript {
  uint64_t bytes[2] = {0, 0};  // per direction: 0 sent, 1 received
  uint64_t hash[2] = {0, 0};
};

// "transcript <label>: sent <n> <hash> received <n> <hash>" lines of a program's stdout.
std::map<std::string, Transcript> transcripts(const std::string& out) {
  std::map<std::string, Transcript> found;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    char label[64];
    unsigned long long b0, h0, b1, h1;
    if (std::sscanf(line.c_str(), "transcript %63[^:]: sent %llu %llx received %llu %llx", label,
                    &b0, &h0, &b1, &h1) == 5)
      found[label] = Transcript{{b0, b1}, {h0, h1}};
  }
  return found;
}

// The same FNV-1a 64 as tests/capture/common.h.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string preview(const std::string& s) {
  std::string p = s.substr(0, 160);
  for (char& c : p)
    if (c == '\r' || c == '\n') c = '|';
  return p + (s.size() > 160 ? "..." : "");
}

// ---- the spool -----------------------------------------------------------------------------

struct SpoolFile {
  fs::path path;
  SpoolHeader header;
  std::vector<SpoolRecord> records;
  bool root = false;  // the traced program itself (not a child it forked)
};

std::vector<SpoolFile> read_spools(const fs::path& store) {
  std::vector<SpoolFile> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(store / "spool", ec)) {
    SpoolFile f;
    f.path = entry.path();
    auto head = read_spool_header(f.path);
    if (!head) {
      ADD_FAILURE() << f.path << ": " << head.error();
      continue;
    }
    f.header = *head;
    auto chunk = read_spool(f.path, head->size, size_t{1} << 30);
    if (!chunk) {
      ADD_FAILURE() << f.path << ": " << chunk.error();
      continue;
    }
    EXPECT_EQ(chunk->skipped_bytes, 0u) << f.path << " has corrupt records";
    f.records = std::move(chunk->records);
    f.root = !f.records.empty() && f.records.front().type == RecordType::proc_start &&
             !f.records.front().parent_session;
    files.push_back(std::move(f));
  }
  return files;
}

// A captured connection, checked for consistency as it is collected.
struct Connection {
  uint64_t id = 0;
  SpoolRecord open;
  const SpoolFile* file = nullptr;
  std::string bytes[2];    // payloads per direction, in stream order
  size_t data_records[2] = {0, 0};
  int closes = 0;
};

struct Captured {
  std::vector<Connection> conns;  // in conn_open order within each spool file
  std::vector<SpoolRecord> notes;
};

// Builds one direction's byte stream from its data records, requiring offsets that start
// at 0 and follow each other exactly (nothing missing, nothing doubled).
void assemble(Connection& c, int dir, std::vector<const SpoolRecord*> data) {
  std::stable_sort(data.begin(), data.end(), [](const SpoolRecord* a, const SpoolRecord* b) {
    return *a->stream_offset < *b->stream_offset;
  });
  for (const SpoolRecord* r : data) {
    if (*r->stream_offset != c.bytes[dir].size()) {
      ADD_FAILURE() << "connection " << c.id << " direction " << dir << ": data at offset "
                    << *r->stream_offset << ", expected " << c.bytes[dir].size();
      return;
    }
    c.bytes[dir] += *r->payload;
  }
  c.data_records[dir] = data.size();
}

Captured collect(const std::vector<SpoolFile>& files) {
  Captured cap;
  for (const SpoolFile& f : files) {
    std::map<uint64_t, size_t> index;  // conn id -> cap.conns
    std::map<uint64_t, std::vector<const SpoolRecord*>> data[2];
    for (const SpoolRecord& r : f.records) {
      if (r.type == RecordType::conn_note) {
        cap.notes.push_back(r);
        continue;
      }
      if (r.type != RecordType::conn_open && r.type != RecordType::conn_data &&
          r.type != RecordType::conn_close)
        continue;
      if (!r.conn) {
        ADD_FAILURE() << "connection record without a conn id in " << f.path;
        continue;
      }
      auto it = index.find(*r.conn);
      if (r.type == RecordType::conn_open) {
        EXPECT_EQ(it, index.end()) << "second conn_open for connection " << *r.conn;
        for (const auto& other : cap.conns)
          EXPECT_NE(other.id, *r.conn) << "connection id " << *r.conn << " used twice";
        index[*r.conn] = cap.conns.size();
        Connection c;
        c.id = *r.conn;
        c.open = r;
        c.file = &f;
        cap.conns.push_back(std::move(c));
        continue;
      }
      if (it == index.end()) {
        ADD_FAILURE() << "record of type " << static_cast<int>(r.type)
                      << " for connection " << *r.conn << " before (or without) its conn_open";
        continue;
      }
      Connection& c = cap.conns[it->second];
      EXPECT_EQ(c.closes, 0) << "record of type " << static_cast<int>(r.type)
                             << " after conn_close of connection " << c.id;
      if (r.type == RecordType::conn_close) {
        ++c.closes;
        continue;
      }
      if (!r.direction || *r.direction > 1 || !r.stream_offset || !r.payload) {
        ADD_FAILURE() << "conn_data without direction, offset or payload";
        continue;
      }
      EXPECT_FALSE(r.payload->empty()) << "empty conn_data record";
      data[*r.direction][c.id].push_back(&r);
    }
    for (int dir = 0; dir < 2; ++dir)
      for (auto& [id, records] : data[dir]) assemble(cap.conns[index[id]], dir, records);
  }
  return cap;
}

// ---- the fixture -------------------------------------------------------------------------

class Capture : public ::testing::Test {
 protected:
  // Runs <name> <mode> without, then with the preload; requires identical stdout, stderr
  // and exit status (0); reads what the traced run left in the spool.
  void run(const std::string& name, const std::string& mode, const Argv& extra_env = {}) {
    run_argv({program(name), mode}, extra_env);
  }

  void run_argv(const Argv& argv, const Argv& extra_env = {}) {
    plain_ = run_process(argv, with(base_env(), extra_env));
    traced_ = run_process(argv, with(base_env(), with(extra_env, traced_env())));
    EXPECT_EQ(traced_.out, plain_.out) << "stdout differs under the preload";
    EXPECT_EQ(traced_.err, plain_.err) << "stderr differs under the preload";
    EXPECT_EQ(describe(traced_.status), describe(plain_.status)) << "exit status differs";
    EXPECT_EQ(describe(plain_.status), "exit 0") << plain_.out << plain_.err;
    spools_ = read_spools(store_dir());
    ASSERT_FALSE(spools_.empty()) << "nothing was traced";
    cap_ = collect(spools_);
    transcripts_ = transcripts(plain_.out);
  }

  Argv traced_env() const {
    return {"LD_PRELOAD=" + std::string(CT_PRELOAD), "CLAWTRACE_STORE=" + store_dir().string(),
            "CT_PORT_FILE=" + (tmp_.path() / "ports").string()};
  }

  fs::path store_dir() const { return tmp_.path() / "store"; }
  const std::string& out() const { return plain_.out; }

  // The first server port the traced run used.
  std::string server_port() const {
    std::ifstream in(tmp_.path() / "ports");
    std::string port;
    std::getline(in, port);
    return port;
  }

  const Transcript* transcript(const std::string& label) {
    auto it = transcripts_.find(label);
    if (it == transcripts_.end()) {
      ADD_FAILURE() << "no transcript " << label << " in:\n" << plain_.out;
      return nullptr;
    }
    return &it->second;
  }

  // The connection carried exactly the bytes of the program's transcript `label`, was
  // captured by the traced program itself and ended with one conn_close.
  void expect_bytes(const Connection& c, const std::string& label) {
    SCOPED_TRACE("connection " + label);
    const Transcript* t = transcript(label);
    if (!t) return;
    const char* dir_name[2] = {"sent", "received"};
    for (int d = 0; d < 2; ++d) {
      EXPECT_EQ(c.bytes[d].size(), t->bytes[d]) << dir_name[d] << ": " << preview(c.bytes[d]);
      EXPECT_EQ(fnv1a(c.bytes[d]), t->hash[d]) << dir_name[d] << " bytes differ: " << preview(c.bytes[d]);
    }
    EXPECT_TRUE(c.file && c.file->root) << "captured by a process other than the program";
    EXPECT_EQ(c.closes, 1) << "conn_close records";
  }

  void expect_socket_conn(const Connection& c, const std::string& label) {
    EXPECT_EQ(c.open.layer, static_cast<uint64_t>(wire::Layer::socket));
    EXPECT_EQ(c.open.peer, "127.0.0.1:" + server_port());
    EXPECT_EQ(c.open.host, std::nullopt);
    expect_bytes(c, label);
  }

  void expect_tls_conn(const Connection& c, const std::string& label,
                       const std::string& sni = "api.openai.com") {
    EXPECT_EQ(c.open.layer, static_cast<uint64_t>(wire::Layer::tls));
    EXPECT_EQ(c.open.host, sni);
    EXPECT_EQ(c.open.peer, std::nullopt);
    expect_bytes(c, label);
  }

  // The standard run of a socket program (tests/capture/common.h).
  void expect_standard_socket(const std::string& fn, bool reads) {
    ASSERT_EQ(cap_.conns.size(), 1u) << out();
    expect_socket_conn(cap_.conns[0], "llm");
    EXPECT_GT(cap_.conns[0].data_records[1], 1u) << "the SSE stream was read in many calls";
    EXPECT_TRUE(cap_.notes.empty());
    EXPECT_TRUE(contains(out(), reads ? fn + " with nothing to read: rc=-1 errno=EAGAIN\n"
                                      : fn + " after shutdown: rc=-1 errno=EPIPE\n"))
        << out();
    EXPECT_TRUE(contains(out(), fn + " on a closed descriptor: rc=-1 errno=EBADF\n")) << out();
    expect_clean_end();
  }

  // The standard run of a TLS program (tests/capture/tls.h).
  void expect_standard_tls(const std::string& fn, bool reads) {
    ASSERT_EQ(cap_.conns.size(), 1u) << "only the plaintext above TLS is captured\n" << out();
    expect_tls_conn(cap_.conns[0], "llm");
    EXPECT_TRUE(cap_.notes.empty());
    const std::string rc = fn.ends_with("_ex") ? "rc=0" : "rc=-1";  // _ex: 1 or 0
    EXPECT_TRUE(contains(out(), reads ? fn + " with nothing to read: " + rc + " ssl_error=2 errno=EAGAIN\n"
                                      : fn + " after shutdown: " + rc + " ssl_error=5 errno=EPIPE\n"))
        << out();
    expect_clean_end();
  }

  void expect_clean_end() {
    EXPECT_TRUE(contains(out(), "errno after successful calls: kept\n")) << out();
    EXPECT_TRUE(contains(out(), "server: exited 0\n")) << out();
  }

  TempDir tmp_;
  Output plain_, traced_;
  std::vector<SpoolFile> spools_;
  Captured cap_;
  std::map<std::string, Transcript> transcripts_;
};

// ---- socket writes -----------------------------------------------------------------------

TEST_F(Capture, WriteOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_write", "ok"));
  expect_standard_socket("write", false);
}

TEST_F(Capture, WritevOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_writev", "ok"));
  expect_standard_socket("writev", false);
}

TEST_F(Capture, SendOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_send", "ok"));
  expect_standard_socket("send", false);
}

TEST_F(Capture, SendtoOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_sendto", "ok"));
  expect_standard_socket("sendto", false);
}

TEST_F(Capture, SendmsgOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_sendmsg", "ok"));
  expect_standard_socket("sendmsg", false);
}

// ---- socket reads ------------------------------------------------------------------------

TEST_F(Capture, ReadOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_read", "ok"));
  expect_standard_socket("read", true);
}

TEST_F(Capture, ReadvOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_readv", "ok"));
  expect_standard_socket("readv", true);
}

TEST_F(Capture, RecvOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_recv", "ok"));
  expect_standard_socket("recv", true);
}

TEST_F(Capture, RecvPeekCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_recv", "peek"));
  expect_standard_socket("recv", true);
}

TEST_F(Capture, RecvfromOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_recvfrom", "ok"));
  expect_standard_socket("recvfrom", true);
}

TEST_F(Capture, RecvfromPeekCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_recvfrom", "peek"));
  expect_standard_socket("recvfrom", true);
}

TEST_F(Capture, RecvmsgOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_recvmsg", "ok"));
  expect_standard_socket("recvmsg", true);
}

TEST_F(Capture, RecvmsgPeekCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_recvmsg", "peek"));
  expect_standard_socket("recvmsg", true);
}

TEST_F(Capture, ReadChkOk) {
  ASSERT_NO_FATAL_FAILURE(run("t___read_chk", "ok"));
  expect_standard_socket("__read_chk", true);
}

TEST_F(Capture, RecvChkOk) {
  ASSERT_NO_FATAL_FAILURE(run("t___recv_chk", "ok"));
  expect_standard_socket("__recv_chk", true);
}

TEST_F(Capture, RecvChkPeekCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t___recv_chk", "peek"));
  expect_standard_socket("__recv_chk", true);
}

TEST_F(Capture, RecvfromChkOk) {
  ASSERT_NO_FATAL_FAILURE(run("t___recvfrom_chk", "ok"));
  expect_standard_socket("__recvfrom_chk", true);
}

TEST_F(Capture, RecvfromChkPeekCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t___recvfrom_chk", "peek"));
  expect_standard_socket("__recvfrom_chk", true);
}

// ---- connect and close -----------------------------------------------------------------

TEST_F(Capture, ConnectOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_connect", "ok"));
  EXPECT_TRUE(contains(out(), "connect: rc=0 errno=EDOM\n")) << out();
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_socket_conn(cap_.conns[0], "llm");
  expect_clean_end();
}

TEST_F(Capture, ConnectNonBlocking) {
  ASSERT_NO_FATAL_FAILURE(run("t_connect", "nonblocking"));
  EXPECT_TRUE(contains(out(), "connect: started\nconnect: completed, SO_ERROR=0\n")) << out();
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_socket_conn(cap_.conns[0], "llm");
  expect_clean_end();
}

TEST_F(Capture, ConnectRefused) {
  ASSERT_NO_FATAL_FAILURE(run("t_connect", "refused"));
  EXPECT_EQ(out(),
            "connect to a closed port: rc=-1 errno=ECONNREFUSED\n"
            "connect on a closed descriptor: rc=-1 errno=EBADF\n");
  EXPECT_TRUE(cap_.conns.empty());
  EXPECT_TRUE(cap_.notes.empty());
}

// The descriptor number of a closed connection comes back for the next one: a new id.
TEST_F(Capture, CloseEndsTheConnection) {
  ASSERT_NO_FATAL_FAILURE(run("t_close", "ok"));
  EXPECT_TRUE(contains(out(), "close: rc=0 errno=EDOM\nsame descriptor number: yes\n")) << out();
  EXPECT_TRUE(contains(out(), "close again: rc=-1 errno=EBADF\n")) << out();
  ASSERT_EQ(cap_.conns.size(), 2u);
  expect_socket_conn(cap_.conns[0], "first");
  expect_socket_conn(cap_.conns[1], "second");
  // The first connection's conn_close precedes the second's conn_open.
  const auto& recs = cap_.conns[0].file->records;
  auto close_first = std::find_if(recs.begin(), recs.end(), [&](const SpoolRecord& r) {
    return r.type == RecordType::conn_close && r.conn == cap_.conns[0].id;
  });
  ASSERT_NE(close_first, recs.end());
  EXPECT_LT(close_first->offset, cap_.conns[1].open.offset);
  expect_clean_end();
}

// A connection's number taken over by dup2/dup3, or closed by close_range and reused: the
// connection ends there, and what is written to the number afterwards is not captured.
class CaptureTakeover : public Capture, public ::testing::WithParamInterface<const char*> {};

TEST_P(CaptureTakeover, EndsTheConnection) {
  ASSERT_NO_FATAL_FAILURE(run("t_dup2", GetParam()));
  EXPECT_TRUE(contains(out(), std::string(GetParam()) + ": rc=")) << out();
  EXPECT_FALSE(contains(out(), std::string(GetParam()) + ": rc=-1")) << out();
  if (std::string(GetParam()) == "close_range") {
    EXPECT_TRUE(contains(out(), "reopened on the same number: yes")) << out();
  }
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_socket_conn(cap_.conns[0], "first");
  expect_clean_end();
}

INSTANTIATE_TEST_SUITE_P(Calls, CaptureTakeover, ::testing::Values("dup2", "dup3", "close_range"));

// ---- what is and is not captured -----------------------------------------------------------

TEST_F(Capture, LargeWriteCapturedCompletely) {
  ASSERT_NO_FATAL_FAILURE(run("t_write", "large"));
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_socket_conn(cap_.conns[0], "llm");
  EXPECT_GT(cap_.conns[0].bytes[0].size(), 300u * 1024 - 200);
  EXPECT_GT(cap_.conns[0].bytes[1].size(), 200u * 1024);
  expect_clean_end();
}

// A page request to a non-LLM host is ignored; the LLM request that follows on the same
// keep-alive connection is captured, from its first byte on.
TEST_F(Capture, KeepAliveCapturedFromTheLlmRequestOn) {
  ASSERT_NO_FATAL_FAILURE(run("t_write", "keepalive"));
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_socket_conn(cap_.conns[0], "llm");
  EXPECT_EQ(cap_.conns[0].bytes[0].rfind("POST /v1/chat/completions HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(cap_.conns[0].bytes[1].rfind("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream", 0), 0u);
  expect_clean_end();
}

// A fork child writes a request of its own on the parent's connection and closes its copy:
// neither its bytes nor its close reach any capture; the parent's goes on undisturbed.
TEST_F(Capture, ForkChildDoesNotDisturbTheParentsCapture) {
  ASSERT_NO_FATAL_FAILURE(run("t_write", "fork"));
  EXPECT_TRUE(contains(out(), "child: exited 0\n")) << out();
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_socket_conn(cap_.conns[0], "parent");
  // Two requests from the parent, three responses (one answers the child's request).
  const Connection& c = cap_.conns[0];
  size_t requests = 0, responses = 0;
  for (size_t at = 0; (at = c.bytes[0].find("POST /v1/", at)) != std::string::npos; ++at) ++requests;
  for (size_t at = 0; (at = c.bytes[1].find("HTTP/1.1 200", at)) != std::string::npos; ++at) ++responses;
  EXPECT_EQ(requests, 2u);
  EXPECT_EQ(responses, 3u);
  EXPECT_GE(spools_.size(), 3u) << "the program, its server child and its writing child";
  expect_clean_end();
}

TEST_F(Capture, BinaryTcpNotCaptured) {
  ASSERT_NO_FATAL_FAILURE(run("t_write", "binary"));
  EXPECT_TRUE(cap_.conns.empty()) << "binary first bytes: ignored for good";
  EXPECT_TRUE(cap_.notes.empty());
  expect_clean_end();
}

TEST_F(Capture, UdpNotCaptured) {
  ASSERT_NO_FATAL_FAILURE(run("t_send", "udp"));
  EXPECT_TRUE(contains(out(), "udp send: rc=32 errno=EDOM\nudp recv: rc=32 errno=EDOM\n")) << out();
  ASSERT_EQ(cap_.conns.size(), 1u) << "only the TCP exchange";
  expect_socket_conn(cap_.conns[0], "llm");
  expect_clean_end();
}

// The HTTP/2 preface on two connections: reported once, nothing captured.
TEST_F(Capture, Http2PrefaceOnASocketNotedOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_write", "h2"));
  EXPECT_TRUE(cap_.conns.empty());
  ASSERT_EQ(cap_.notes.size(), 1u);
  EXPECT_EQ(cap_.notes[0].note, static_cast<uint64_t>(wire::NoteKind::http2_unsupported));
  EXPECT_EQ(cap_.notes[0].peer, "127.0.0.1:" + server_port());
  expect_clean_end();
}

// ---- OpenSSL -----------------------------------------------------------------------------

TEST_F(Capture, SslWriteOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_write", "ok"));
  expect_standard_tls("SSL_write", false);
}

TEST_F(Capture, SslWriteExOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_write_ex", "ok"));
  expect_standard_tls("SSL_write_ex", false);
}

TEST_F(Capture, SslReadOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_read", "ok"));
  expect_standard_tls("SSL_read", true);
}

TEST_F(Capture, SslReadExOk) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_read_ex", "ok"));
  expect_standard_tls("SSL_read_ex", true);
}

TEST_F(Capture, SslPeekCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_peek", "ok"));
  expect_standard_tls("SSL_peek", true);
}

TEST_F(Capture, SslPeekExCountsOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_peek_ex", "ok"));
  expect_standard_tls("SSL_peek_ex", true);
}

TEST_F(Capture, SslShutdownEndsTheConnectionOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_shutdown", "ok"));
  // (OpenSSL clears errno itself; the plain run shows what it leaves)
  EXPECT_TRUE(contains(out(), "SSL_shutdown: rc=0 errno=")) << out();
  EXPECT_TRUE(contains(out(), "SSL_shutdown: rc=1 errno=")) << out();
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_tls_conn(cap_.conns[0], "llm");
  expect_clean_end();
}

// SSL_free alone ends a connection; the next SSL object at the same address is a new one.
TEST_F(Capture, SslFreeEndsTheConnection) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_free", "ok"));
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine never hands a freed address straight back
  EXPECT_TRUE(contains(out(), "SSL object at the previous one's address: yes\n")) << out();
#endif
  ASSERT_EQ(cap_.conns.size(), 3u);
  for (int i = 0; i < 3; ++i) expect_tls_conn(cap_.conns[i], std::to_string(i + 1));
  expect_clean_end();
}

TEST_F(Capture, SslLargeWriteCapturedCompletely) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_write", "large"));
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_tls_conn(cap_.conns[0], "llm");
  EXPECT_GT(cap_.conns[0].bytes[0].size(), 300u * 1024 - 200);
  expect_clean_end();
}

TEST_F(Capture, SslKeepAliveCapturedFromTheLlmRequestOn) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_write", "keepalive"));
  ASSERT_EQ(cap_.conns.size(), 1u);
  expect_tls_conn(cap_.conns[0], "llm", "www.example.org");
  EXPECT_EQ(cap_.conns[0].bytes[0].rfind("POST /v1/chat/completions HTTP/1.1\r\n", 0), 0u);
  expect_clean_end();
}

TEST_F(Capture, SslAlpnH2NotedOnce) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_write", "h2"));
  EXPECT_TRUE(contains(out(), "alpn: h2\n")) << out();
  EXPECT_TRUE(cap_.conns.empty());
  ASSERT_EQ(cap_.notes.size(), 1u) << "one note, from the client (never from a server side)";
  EXPECT_EQ(cap_.notes[0].note, static_cast<uint64_t>(wire::NoteKind::http2_unsupported));
  EXPECT_EQ(cap_.notes[0].host, "api.openai.com");
  expect_clean_end();
}

// Python's ssl module loads libssl privately (RTLD_LOCAL) and uses SSL_write_ex/SSL_read_ex.
// Each script starts tests/capture/tls_server, trusts its certificate, talks to it as
// api.openai.com and prints the server's transcript of the exchange.
constexpr const char* kPythonServer = R"(
import subprocess, sys
server = subprocess.Popen([sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE, text=True)
port = int(server.stdout.readline().split()[1])
body = '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
def finish():
    print(server.stdout.read(), end="")
    print("server exited", server.wait())
)";

class CapturePython : public Capture {
 protected:
  void run_python(const std::string& client) {
    const std::string python = CT_PYTHON3;
    if (python.empty()) GTEST_SKIP() << "no python3";
    const std::string cert = (tmp_.path() / "cert.pem").string();
    ASSERT_NO_FATAL_FAILURE(
        run_argv({python, "-c", kPythonServer + client, program("tls_server"), cert}));
    EXPECT_TRUE(contains(out(), "status 200 events 21\n")) << out() << plain_.err;
    EXPECT_TRUE(contains(out(), "server exited 0\n")) << out();
    ASSERT_EQ(cap_.conns.size(), 1u) << out();
    expect_tls_conn(cap_.conns[0], "client");
  }
};

// http.client over ssl.SSLSocket (what requests and sync httpx do).
TEST_F(CapturePython, SslSocket) {
  run_python(R"(
import http.client, socket, ssl
class Conn(http.client.HTTPSConnection):
    def connect(self):
        sock = socket.create_connection(("127.0.0.1", port))
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
conn = Conn("api.openai.com", port, context=ssl.create_default_context(cafile=sys.argv[2]))
conn.request("POST", "/v1/chat/completions", body=body,
             headers={"Host": "api.openai.com", "Content-Type": "application/json",
                      "X-Ct-Events": "20"})
resp = conn.getresponse()
data = resp.read()
print("status", resp.status, "events", data.count(b"data: "))
conn.close()
finish()
)");
}

// asyncio over ssl.SSLObject and memory BIOs (what async clients do): the SSL object has no
// socket; Python moves the ciphertext itself.
TEST_F(CapturePython, AsyncioSslObject) {
  run_python(R"(
import asyncio, ssl
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                   server_hostname="api.openai.com")
    writer.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                  "Content-Type: application/json\r\nX-Ct-Events: 20\r\n"
                  "Content-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
    await writer.drain()
    data = b""
    while not data.endswith(b"\r\n0\r\n\r\n"):
        chunk = await reader.read(4096)
        if not chunk:
            break
        data += chunk
    print("status", int(data.split()[1]), "events", data.count(b"data: "))
    writer.close()
    await writer.wait_closed()
asyncio.run(main())
finish()
)");
}

// ---- quiet, and a store that cannot be written -----------------------------------------------

TEST_F(Capture, QuietStillCaptures) {
  ASSERT_NO_FATAL_FAILURE(run("t_write", "ok", {"CLAWTRACE_QUIET=1"}));
  expect_standard_socket("write", false);
}

TEST_F(Capture, QuietStillCapturesTls) {
  ASSERT_NO_FATAL_FAILURE(run("t_SSL_read", "ok", {"CLAWTRACE_QUIET=1"}));
  expect_standard_tls("SSL_read", true);
}

// CLAWTRACE_STORE under a regular file: the program behaves exactly as untraced; stderr
// carries one warning line more (none with CLAWTRACE_QUIET=1).
void expect_unaffected_by_unwritable_store(const std::string& name, const std::string& mode) {
  TempDir tmp;
  const fs::path blocker = tmp.path() / "not-a-directory";
  std::ofstream(blocker) << "a file\n";
  const Argv argv = {program(name), mode};
  const Argv env = with(base_env(), {"LD_PRELOAD=" + std::string(CT_PRELOAD),
                                     "CLAWTRACE_STORE=" + (blocker / "store").string()});
  const Output plain = run_process(argv, base_env());
  ASSERT_EQ(describe(plain.status), "exit 0") << plain.out << plain.err;

  const Output loud = run_process(argv, env);
  EXPECT_EQ(loud.out, plain.out);
  EXPECT_EQ(describe(loud.status), describe(plain.status));
  EXPECT_EQ(loud.err.rfind(plain.err, 0), 0u) << loud.err;
  const std::string extra = loud.err.substr(std::min(plain.err.size(), loud.err.size()));
  EXPECT_EQ(extra.rfind("clawtrace: ", 0), 0u) << extra;
  EXPECT_EQ(std::count(extra.begin(), extra.end(), '\n'), 1) << extra;

  const Output quiet = run_process(argv, with(env, {"CLAWTRACE_QUIET=1"}));
  EXPECT_EQ(quiet.out, plain.out);
  EXPECT_EQ(quiet.err, plain.err);
  EXPECT_EQ(describe(quiet.status), describe(plain.status));
}

TEST(CaptureUnwritableStore, Write) { expect_unaffected_by_unwritable_store("t_write", "ok"); }
TEST(CaptureUnwritableStore, WriteFork) { expect_unaffected_by_unwritable_store("t_write", "fork"); }
TEST(CaptureUnwritableStore, Recv) { expect_unaffected_by_unwritable_store("t_recv", "peek"); }
TEST(CaptureUnwritableStore, SslWrite) { expect_unaffected_by_unwritable_store("t_SSL_write", "ok"); }
TEST(CaptureUnwritableStore, SslFree) { expect_unaffected_by_unwritable_store("t_SSL_free", "ok"); }

}  // namespace
