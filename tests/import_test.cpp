// Import and export: the library (store/import.h) on stores made by real ingestion and by
// the store API, and the `clawtrace import` / `clawtrace export` commands.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "import.h"
#include "import_line.h"
#include "ingest.h"
#include "store.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using namespace clawtrace;

namespace {

constexpr const char* kA = "00000000000000a1";
constexpr const char* kB = "00000000000000b2";
constexpr const char* kC = "00000000000000c3";

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string line(uint64_t t_ns, std::string_view type, std::string_view session, std::string_view span,
                 const std::string& parent = "null", const std::string& data = "{}") {
  return "{\"seq\":0,\"t_ns\":" + std::to_string(t_ns) + ",\"type\":\"" + std::string(type) + "\",\"session\":\"" +
         std::string(session) + "\",\"span\":\"" + std::string(span) + "\",\"parent\":" + parent +
         ",\"data\":" + data + "}\n";
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

class ImportTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> open(const fs::path& dir) {
    auto s = Store::open(dir);
    EXPECT_TRUE(s) << s.error();
    return std::move(s.value());
  }

  ImportStats import_text(Store& store, const std::string& text, ImportOptions opt = {}) {
    std::istringstream in(text);
    if (opt.source == "-") opt.source = "events.jsonl";
    auto r = import_jsonl(store, in, opt);
    EXPECT_TRUE(r) << r.error();
    return r ? r.value() : ImportStats{};
  }

  std::string export_all(Store& store) {
    std::vector<std::string> ids;
    for (const auto& s : store.sessions().value()) ids.push_back(s.id);
    std::ostringstream out;
    auto n = export_jsonl(store, ids, out);
    EXPECT_TRUE(n) << n.error();
    return out.str();
  }

  std::string sessions_json(Store& store) {
    boost::json::array a;
    for (const auto& s : store.sessions().value()) a.push_back(to_json(s));
    return boost::json::serialize(a);
  }

  // The real binary, with nothing inherited but PATH and HOME.
  test::ProcessOutput clawtrace(const fs::path& store, std::vector<std::string> args) {
    args.insert(args.begin(), {CLAWTRACE_BIN, "--store", store.string()});
    return test::run_process(args, env());
  }
  std::vector<std::string> env() const {
    return {std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
            "HOME=" + tmp_.path().string()};
  }

  test::TempDir tmp_{"clawtrace-import"};
};

// ---- round trips ------------------------------------------------------------------------

TEST_F(ImportTest, RoundTripOfRealIngestionIsByteIdentical) {
  const fs::path a = tmp_.path() / "a", b = tmp_.path() / "b";
  auto run = clawtrace(a, {"run", "--", "sh", "-c", "ls >/dev/null; sh -c 'exit 3'; true"});
  ASSERT_EQ(exit_code(run.status), 0) << run.err;
  auto exported = clawtrace(a, {"export", "--all"});
  ASSERT_EQ(exit_code(exported.status), 0) << exported.err;
  ASSERT_GE(std::count(exported.out.begin(), exported.out.end(), '\n'), 8);  // three sessions' worth
  spit(tmp_.path() / "a.jsonl", exported.out);

  auto imported = clawtrace(b, {"import", (tmp_.path() / "a.jsonl").string()});
  EXPECT_EQ(exit_code(imported.status), 0) << imported.err;
  EXPECT_NE(imported.err.find("imported "), std::string::npos) << imported.err;
  auto again = clawtrace(b, {"export", "--all", "--jsonl"});
  ASSERT_EQ(exit_code(again.status), 0) << again.err;
  EXPECT_EQ(again.out, exported.out);

  // The rebuilt session records match ingestion's, command lines after exec included.
  auto sa = open(a), sb = open(b);
  ASSERT_TRUE(ingest_pending(*sa));
  EXPECT_EQ(sessions_json(*sb), sessions_json(*sa));
  EXPECT_EQ(sb->sessions().value().size(), 3u);
}

TEST_F(ImportTest, RoundTripKeepsLargeStringsAndReferenceLookalikes) {
  auto a = open(tmp_.path() / "a");
  const std::string big(10000, 'x');
  ASSERT_TRUE(a->write([&](Store::Writer& w) -> Result<void> {
    SessionInfo s;
    s.id = kA;
    s.start_ns = 100;
    if (auto r = w.put_session(s); !r) return r;
    Event start;
    start.session = kA;
    start.span = kA;
    start.t_ns = 100;
    start.data = {{"pid", 7}, {"argv", boost::json::array{"agent"}}};
    if (auto r = w.append_event(start); !r) return Error{r.error()};
    Event in;
    in.type = EventType::llm_input;
    in.session = kA;
    in.span = "call-1";
    in.parent = kA;
    in.t_ns = 200;
    in.data = {{"prompt", big}, {"odd", {{"$blob", "not a blob"}, {"len", 3}}}, {"lit", {{"$lit", 1.25}}},
               {"n", -1}, {"u", 18446744073709551615ull}, {"f", 0.1}};
    if (auto r = w.append_event(in); !r) return Error{r.error()};
    return {};
  }));
  const std::string first = export_all(*a);
  auto b = open(tmp_.path() / "b");
  ImportStats st = import_text(*b, first);
  EXPECT_EQ(st.events, 2u);
  EXPECT_EQ(st.rejected, 0u);
  EXPECT_EQ(export_all(*b), first);
  EXPECT_NE(first.find(big), std::string::npos);
}

// ---- bad input --------------------------------------------------------------------------

TEST_F(ImportTest, BadLinesAreRejectedByLineAndFieldAndGoodOnesKept) {
  std::string text;
  text += line(100, "session_start", kA, kA, "null", R"({"pid":1,"argv":["a"]})");  // 1
  text += "this is not json\n";                                                     // 2
  text += "[1,2]\n";                                                                // 3
  text += R"({"t_ns":1,"session":"00000000000000a1","span":"s"})" "\n";             // 4
  text += line(110, "llm_inptu", kA, "s");                                          // 5
  text += R"({"type":"llm_input","t_ns":"soon","session":"00000000000000a1","span":"s"})" "\n";  // 6
  text += R"({"type":"llm_input","t_ns":-5,"session":"00000000000000a1","span":"s"})" "\n";      // 7
  text += R"({"type":"llm_input","t_ns":1,"session":7,"span":"s"})" "\n";           // 8
  text += R"({"type":"llm_input","t_ns":1,"session":"","span":"s"})" "\n";          // 9
  text += R"({"type":"llm_input","t_ns":1,"session":"00000000000000a1"})" "\n";     // 10
  text += line(120, "llm_input", kA, "s", "5");                                     // 11
  text += line(120, "llm_input", kA, "s", "null", "[1]");                           // 12
  text += line(130, "session_start", kB, kB, "null", R"({"pid":"one"})");           // 13
  text += line(130, "session_end", kA, kA, "null", R"({"status":"fine"})");         // 14
  text += "\n";                                                                     // 15 (blank)
  text += line(140, "llm_input", kA, "call", "\"" + std::string(kA) + "\"");        // 16
  text += R"({"type":"llm_output","t_ns":150,"session":"00000000000000a1","span":"call"})";  // 17, no newline
  auto store = open(tmp_.path() / "s");
  ImportStats st = import_text(*store, text);
  const std::vector<std::string> expected = {
      "events.jsonl:2: not JSON (syntax error)",
      "events.jsonl:3: not a JSON object",
      "events.jsonl:4: \"type\" is missing",
      "events.jsonl:5: \"type\": \"llm_inptu\" is not an event type",
      "events.jsonl:6: \"t_ns\": \"soon\" is not a non-negative integer",
      "events.jsonl:7: \"t_ns\": -5 is not a non-negative integer",
      "events.jsonl:8: \"session\": 7 is not a string",
      "events.jsonl:9: \"session\": \"\" is not a session id",
      "events.jsonl:10: \"span\" is missing",
      "events.jsonl:11: \"parent\": 5 is not a string or null",
      "events.jsonl:12: \"data\": [1] is not an object",
      "events.jsonl:13: \"data.pid\": \"one\" is not an integer",
      "events.jsonl:14: \"data.status\": \"fine\" is not a session status (running, ok, failed, truncated)",
  };
  EXPECT_EQ(st.problems, expected);
  EXPECT_EQ(st.lines, 17u);
  EXPECT_EQ(st.rejected, expected.size());
  EXPECT_EQ(st.events, 3u);
  EXPECT_EQ(st.sessions, 1u);
  auto events = store->events(kA).value();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, EventType::session_start);
  EXPECT_EQ(events[1].type, EventType::llm_input);
  EXPECT_EQ(events[2].type, EventType::llm_output);
  EXPECT_EQ(events[2].seq, 3u);
  EXPECT_EQ(import_summary(st), "imported 3 events in 1 session; 13 lines rejected");
}

TEST_F(ImportTest, OverlongAndTooDeepLinesAreRejectedAndReadingGoesOn) {
  ImportOptions opt;
  opt.max_line_bytes = 1 << 20;
  std::string deep = "1";
  for (int i = 0; i < 40; ++i) deep = "[" + deep + "]";
  std::string text = line(100, "session_start", kA, kA) + line(101, "llm_input", kA, "s", "null", "{\"x\":\"" +
                      std::string(opt.max_line_bytes + 10, 'y') + "\"}") +
                      line(102, "llm_input", kA, "s", "null", "{\"x\":" + deep + "}") + line(103, "llm_output", kA, "s");
  auto store = open(tmp_.path() / "s");
  ImportStats st = import_text(*store, text, opt);
  ASSERT_EQ(st.problems.size(), 2u);
  EXPECT_EQ(st.problems[0], "events.jsonl:2: line longer than 1 MiB");
  EXPECT_EQ(st.problems[1], "events.jsonl:3: \"data\" nests 42 levels deep in the store, which keeps at most 32");
  EXPECT_EQ(st.events, 2u);
  EXPECT_EQ(store->events(kA).value().size(), 2u);  // and the store reads back what it kept
}

// ---- sessions ---------------------------------------------------------------------------

TEST_F(ImportTest, SessionAlreadyInTheStoreIsSkippedWithOneMessage) {
  auto store = open(tmp_.path() / "s");
  const std::string first = line(100, "session_start", kA, kA) + line(110, "llm_input", kA, "c") +
                            line(120, "session_end", kA, kA, "null", R"({"exit_code":0})");
  ASSERT_EQ(import_text(*store, first).events, 3u);
  const std::string before = export_all(*store);
  // The same session again (three lines) and a new one interleaved with it.
  const std::string second = line(100, "session_start", kA, kA) + line(105, "session_start", kB, kB) +
                             line(110, "llm_input", kA, "c") + line(120, "session_end", kA, kA) +
                             line(130, "session_end", kB, kB);
  ImportStats st = import_text(*store, second);
  EXPECT_EQ(st.problems, std::vector<std::string>{"events.jsonl:1: session 00000000000000a1 is already in the store; "
                                                  "its lines are skipped"});
  EXPECT_EQ(st.skipped_sessions, 1u);
  EXPECT_EQ(st.skipped_lines, 3u);
  EXPECT_EQ(st.rejected, 0u);
  EXPECT_EQ(st.events, 2u);
  EXPECT_EQ(st.sessions, 1u);
  EXPECT_EQ(store->events(kA).value().size(), 3u);  // no duplicates
  EXPECT_EQ(store->events(kB).value().size(), 2u);
  EXPECT_EQ(import_summary(st),
            "imported 2 events in 1 session; 0 lines rejected; 1 session skipped (already in the store)");
  EXPECT_NE(export_all(*store), before);
}

TEST_F(ImportTest, SessionRecordIsRebuiltFromItsEvents) {
  auto store = open(tmp_.path() / "s");
  std::string text =
      line(1000, "session_start", kA, kA, "null",
           R"({"pid":42,"ppid":41,"argv":["agent","--go"],"cwd":"/w","tags":{"team":"x"},"name":"bot","trace":"t1"})") +
      line(1100, "llm_input", kA, "c1", "\"" + std::string(kA) + "\"") + line(1200, "llm_output", kA, "c1") +
      line(1300, "before_tool_call", kA, "t1", "\"c1\"") + line(1400, "after_tool_call", kA, "t1", "\"c1\"") +
      line(1500, "llm_input", kA, "c2") +
      line(1600, "session_start", kB, kB, "null", std::string(R"({"pid":43,"parent_session":")") + kA +
                                                      R"(","parent_span":"t1"})") +
      line(2000, "session_end", kA, kA, "null", R"({"exit_code":2,"duration_s":1e-6})") +
      line(2100, "session_end", kB, kB, "null", R"({"signal":9,"status":"failed"})");
  ImportStats st = import_text(*store, text);
  ASSERT_EQ(st.rejected, 0u) << st.problems.front();
  auto a = store->session(kA).value().value();
  EXPECT_EQ(a.pid, 42);
  EXPECT_EQ(a.ppid, 41);
  EXPECT_EQ(a.argv, (std::vector<std::string>{"agent", "--go"}));
  EXPECT_EQ(a.cwd, "/w");
  EXPECT_EQ(a.tags.at("team"), "x");
  EXPECT_EQ(a.name, "bot");
  EXPECT_EQ(a.trace, "t1");
  EXPECT_EQ(a.start_ns, 1000u);
  EXPECT_EQ(a.end_ns, 2000u);
  EXPECT_EQ(a.status, SessionStatus::failed);
  EXPECT_EQ(a.exit_code, 2);
  EXPECT_EQ(a.events, 7u);
  EXPECT_EQ(a.llm_calls, 2u);
  EXPECT_EQ(a.tool_calls, 1u);
  EXPECT_FALSE(a.parent_session);
  auto b = store->session(kB).value().value();
  EXPECT_EQ(b.parent_session, kA);
  EXPECT_EQ(b.parent_span, "t1");
  EXPECT_EQ(b.signal, 9);
  EXPECT_EQ(b.status, SessionStatus::failed);
  EXPECT_EQ(store->resolve("last").value(), kA);  // the child is not a root
}

TEST_F(ImportTest, SessionWithoutStartOrEndGetsAMinimalTruncatedRecord) {
  auto store = open(tmp_.path() / "s");
  std::string text = line(500, "llm_input", kA, "c") + line(700, "llm_output", kA, "c") +
                     line(600, "before_tool_call", kA, "t", "\"c\"");
  ImportStats st = import_text(*store, text);
  EXPECT_EQ(st.sessions, 1u);
  auto a = store->session(kA).value().value();
  EXPECT_EQ(a.start_ns, 500u);  // its first event's time
  EXPECT_EQ(a.end_ns, 700u);    // its latest event's time
  EXPECT_EQ(a.status, SessionStatus::truncated);
  EXPECT_EQ(a.name, "imported");
  EXPECT_EQ(a.llm_calls, 1u);
  EXPECT_EQ(a.tool_calls, 1u);
  // File order is kept (no sorting by time), and no event is invented.
  auto events = store->events(kA).value();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].t_ns, 700u);
  EXPECT_EQ(events[2].type, EventType::before_tool_call);
}

TEST_F(ImportTest, ForeignSessionIdsAreMappedConsistently) {
  auto store = open(tmp_.path() / "s");
  std::string text = line(100, "session_start", "run-42", "root") +
                     line(200, "session_start", "run-43", "child", "null", R"({"parent_session":"run-42"})") +
                     line(300, "llm_input", "run-42", "c");
  ImportStats st = import_text(*store, text);
  ASSERT_EQ(st.rejected, 0u);
  EXPECT_EQ(st.sessions, 2u);
  const std::string parent = import_session_id("run-42"), child = import_session_id("run-43");
  EXPECT_NE(parent, child);
  EXPECT_EQ(parent.size(), 16u);
  EXPECT_EQ(import_session_id("00000000000000AB"), "00000000000000ab");
  auto p = store->session(parent).value().value();
  EXPECT_EQ(p.name, "run-42");
  EXPECT_EQ(p.events, 2u);
  EXPECT_EQ(store->session(child).value().value().parent_session, parent);
  // Importing it again finds the mapped ids already there.
  ImportStats again = import_text(*store, text);
  EXPECT_EQ(again.skipped_sessions, 2u);
  EXPECT_EQ(again.events, 0u);
  EXPECT_NE(again.problems.front().find("\"run-42\" (" + parent + ")"), std::string::npos) << again.problems.front();
}

TEST_F(ImportTest, SmallBatchesGiveTheSameStore) {
  std::string text;
  for (int s = 0; s < 3; ++s) {
    const std::string id = std::string(15, '0') + std::to_string(s + 1);
    text += line(static_cast<uint64_t>(100 + s), "session_start", id, id);
  }
  for (int i = 0; i < 200; ++i) {
    const std::string id = std::string(15, '0') + std::to_string(i % 3 + 1);
    text += line(static_cast<uint64_t>(1000 + i), i % 2 ? "llm_output" : "llm_input", id, "c" + std::to_string(i));
  }
  auto one = open(tmp_.path() / "one"), many = open(tmp_.path() / "many");
  ImportOptions tiny;
  tiny.batch_bytes = 1;  // a transaction per line
  import_text(*one, text);
  import_text(*many, text, tiny);
  EXPECT_EQ(export_all(*many), export_all(*one));
  EXPECT_EQ(sessions_json(*many), sessions_json(*one));
}

// ---- export -----------------------------------------------------------------------------

TEST_F(ImportTest, ExportTakesTheSessionsBelowInStartOrder) {
  auto store = open(tmp_.path() / "s");
  // A (root) started B, B started C; D is unrelated. C is listed before B in the file.
  std::string text = line(100, "session_start", kA, kA) +
                     line(300, "session_start", kC, kC, "null", std::string(R"({"parent_session":")") + kB + "\"}") +
                     line(200, "session_start", kB, kB, "null", std::string(R"({"parent_session":")") + kA + "\"}") +
                     line(400, "session_start", "00000000000000d4", "d");
  ASSERT_EQ(import_text(*store, text).rejected, 0u);
  auto ids = sessions_with_descendants(*store, {kA}).value();
  EXPECT_EQ(ids, (std::vector<std::string>{kA, kB, kC}));
  EXPECT_EQ(sessions_with_descendants(*store, {kB}).value(), (std::vector<std::string>{kB, kC}));
  EXPECT_EQ(sessions_with_descendants(*store, {kC, kA}).value(), (std::vector<std::string>{kA, kB, kC}));

  const fs::path dir = tmp_.path() / "s";
  store.reset();
  auto out = clawtrace(dir, {"export", kA});
  ASSERT_EQ(exit_code(out.status), 0) << out.err;
  std::vector<std::string> sessions;
  std::istringstream in(out.out);
  for (std::string l; std::getline(in, l);) sessions.push_back(event_from_json_line(l).value().session);
  EXPECT_EQ(sessions, (std::vector<std::string>{kA, kB, kC}));
  auto twice = clawtrace(dir, {"export", kA});
  EXPECT_EQ(twice.out, out.out);
}

// ---- the commands -----------------------------------------------------------------------

TEST_F(ImportTest, CommandsExitStatusAndMessages) {
  const fs::path store = tmp_.path() / "s", file = tmp_.path() / "events.jsonl";
  spit(file, line(100, "session_start", kA, kA) + "{oops\n" + line(110, "llm_inptu", kA, "c") +
                 line(120, "session_end", kA, kA));
  auto bad = clawtrace(store, {"import", file.string()});
  EXPECT_EQ(exit_code(bad.status), 1);
  EXPECT_NE(bad.err.find("clawtrace: " + file.string() + ":2: not JSON"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(file.string() + ":3: \"type\": \"llm_inptu\" is not an event type"), std::string::npos);
  EXPECT_NE(bad.err.find("clawtrace: imported 2 events in 1 session; 2 lines rejected\n"), std::string::npos) << bad.err;

  auto events = clawtrace(store, {"events", kA});
  EXPECT_EQ(std::count(events.out.begin(), events.out.end(), '\n'), 2);

  // Again: nothing rejected, the session skipped: success, nothing added.
  spit(file, line(100, "session_start", kA, kA) + line(200, "session_start", kB, kB));
  auto dup = clawtrace(store, {"import", file.string()});
  EXPECT_EQ(exit_code(dup.status), 0) << dup.err;
  EXPECT_NE(dup.err.find("session 00000000000000a1 is already in the store"), std::string::npos) << dup.err;

  // stdin.
  spit(file, line(300, "session_start", kC, kC));
  auto piped = test::run_process({"sh", "-c", std::string("\"$0\" --store \"$1\" import - < \"$2\""), CLAWTRACE_BIN,
                                  store.string(), file.string()},
                                 env(), 60, true);
  EXPECT_EQ(exit_code(piped.status), 0) << piped.err;
  EXPECT_NE(piped.err.find("imported 1 event in 1 session"), std::string::npos) << piped.err;

  auto all = clawtrace(store, {"export", "--all"});
  EXPECT_EQ(exit_code(all.status), 0);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 4);

  auto missing = clawtrace(store, {"import", (tmp_.path() / "nope.jsonl").string()});
  EXPECT_EQ(exit_code(missing.status), 1);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;
  // Nothing listens there: one attempt, a clear error (OTLP export is tested in otlp_tests).
  auto otlp = clawtrace(store, {"export", "--all", "--otlp", "http://127.0.0.1:1/v1/traces", "--attempts", "1"});
  EXPECT_EQ(exit_code(otlp.status), 1);
  EXPECT_NE(otlp.err.find("not accepted"), std::string::npos) << otlp.err;
  EXPECT_EQ(exit_code(clawtrace(store, {"export"}).status), 2);
  EXPECT_EQ(exit_code(clawtrace(store, {"export", "--all", kA}).status), 2);
  EXPECT_EQ(exit_code(clawtrace(store, {"import"}).status), 2);
  auto unknown = clawtrace(store, {"export", "ffff"});
  EXPECT_EQ(exit_code(unknown.status), 1);
  EXPECT_NE(unknown.err.find("no session matches 'ffff'"), std::string::npos) << unknown.err;
}

}  // namespace

// Found by fuzzing: a number too large for a double parses as infinity, which JSON cannot
// print back, so the event would be unreadable once stored. Rejected, naming the field.
TEST(ImportLine, NumberOutOfRangeIsRejected) {
  auto e = clawtrace::import_line(
      R"({"t_ns":1,"type":"llm_output","session":"s1","span":"a","data":{"usage":{"input":[1,1e999]}}})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(), "\"data.usage.input[1]\": a number out of range (JSON cannot hold infinity)");
  auto ok = clawtrace::import_line(R"({"t_ns":1,"type":"llm_output","session":"s1","span":"a","data":{"x":1e300}})");
  EXPECT_TRUE(ok.ok()) << ok.error();
}
