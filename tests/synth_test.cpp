// The synthesiser over an in-memory book: records in, events and session links out.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <map>

#include "memory_book.h"
#include "synth.h"

using namespace clawtrace;

namespace {

using clawtrace::test::MemoryBook;

constexpr uint64_t kRoot = 0x1000, kChild = 0x2000, kSpan = 0x77;

SpoolRecord start(uint64_t session, uint32_t pid, uint64_t t, std::vector<std::string> argv,
                  wire::Via via, uint64_t parent = 0, uint64_t parent_span = 0, bool exact = true) {
  SpoolRecord r;
  r.type = wire::RecordType::proc_start;
  r.t_ns = t;
  r.pid = pid;
  r.session = session;
  r.trace_hi = 1;
  r.trace_lo = 2;
  r.ppid = 1;
  r.via = static_cast<uint64_t>(via);
  r.argv = std::move(argv);
  r.cwd = "/w";
  if (parent) {
    r.parent_session = parent;
    r.parent_span = parent_span;
    r.parent_exact = exact;
  }
  return r;
}

SpoolRecord record(wire::RecordType type, uint64_t t) {
  SpoolRecord r;
  r.type = type;
  r.t_ns = t;
  return r;
}

SpoolRecord spawn(wire::SpawnKind kind, uint64_t t, uint64_t child_pid, std::vector<std::string> argv = {}) {
  SpoolRecord r = record(wire::RecordType::spawn, t);
  r.span = kSpan;
  r.kind = static_cast<uint64_t>(kind);
  if (child_pid) r.child_pid = child_pid;
  if (!argv.empty()) r.argv = std::move(argv);
  return r;
}

SpoolRecord exit_with(uint64_t t, int code) {
  SpoolRecord r = record(wire::RecordType::proc_exit, t);
  r.exit_code = static_cast<uint64_t>(code);
  r.exit_via = static_cast<uint64_t>(wire::ExitVia::exit);
  return r;
}

const std::string root = hex_id(kRoot), child = hex_id(kChild), span = hex_id(kSpan);

}  // namespace

TEST(Synth, ForkExecWaitBecomesALinkedProcessSpan) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"sh", "-c", "ls"}, wire::Via::root));
  s.apply(root, spawn(wire::SpawnKind::fork, 20, 101));
  s.apply(child, start(kChild, 101, 21, {"sh", "-c", "ls"}, wire::Via::fork, kRoot, kSpan));
  SpoolRecord ex = record(wire::RecordType::exec, 22);
  ex.argv = std::vector<std::string>{"ls", "-l"};
  s.apply(child, ex);
  s.apply(child, start(kChild, 101, 23, {"ls", "-l"}, wire::Via::exec));
  s.apply(child, exit_with(30, 0));
  SpoolRecord reap = record(wire::RecordType::reap, 31);
  reap.child_pid = 101;
  reap.wait_status = 0;
  s.apply(root, reap);
  s.apply(root, exit_with(40, 2));

  ASSERT_EQ(book.of(child, EventType::session_start).size(), 1u);  // exec continues the session
  EXPECT_EQ(book.sessions[child].info.argv, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(*book.sessions[child].info.parent_session, root);
  EXPECT_EQ(*book.sessions[child].info.parent_span, span);
  auto before = book.of(root, EventType::before_tool_call);
  auto after = book.of(root, EventType::after_tool_call);
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(before[0]->data.at("source"), "process");
  EXPECT_EQ(before[0]->data.at("how"), "fork");
  EXPECT_EQ(*before[0]->parent, root);
  EXPECT_EQ(after[0]->data.at("name"), "ls");
  EXPECT_EQ(after[0]->data.at("exit_code"), 0);
  EXPECT_EQ(after[0]->data.at("child_session").as_string(), child);
  EXPECT_DOUBLE_EQ(after[0]->data.at("duration_s").as_double(), 11e-9);
  EXPECT_EQ(book.sessions[root].info.status, SessionStatus::failed);
  EXPECT_EQ(*book.sessions[root].info.exit_code, 2);
  EXPECT_EQ(book.sessions[child].info.status, SessionStatus::ok);
  // The child's start event hangs under the parent's span.
  EXPECT_EQ(*book.of(child, EventType::session_start)[0]->parent, span);
}

// A fork child writes its own spool file, which can be read before the parent's spawn
// record: the exact span it was given still links it, and the spawn record finds it.
TEST(Synth, ChildReadBeforeItsSpawnRecordKeepsItsSpan) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"python3"}, wire::Via::root));
  s.apply(child, start(kChild, 101, 21, {"python3"}, wire::Via::fork, kRoot, kSpan));
  s.apply(root, spawn(wire::SpawnKind::vfork, 20, 101));
  SpoolRecord ex = record(wire::RecordType::exec, 22);
  ex.argv = std::vector<std::string>{"sh", "-c", "true"};
  s.apply(child, ex);
  s.apply(child, start(kChild, 101, 23, {"sh", "-c", "true"}, wire::Via::exec));
  s.apply(child, exit_with(30, 0));
  SpoolRecord reap = record(wire::RecordType::reap, 31);
  reap.child_pid = 101;
  reap.wait_status = 0;
  s.apply(root, reap);

  EXPECT_EQ(*book.sessions[child].info.parent_span, span);
  EXPECT_EQ(*book.of(child, EventType::session_start)[0]->parent, span);
  auto after = book.of(root, EventType::after_tool_call);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]->data.at("child_session").as_string(), child);
}

TEST(Synth, SystemChildIsLinkedByTime) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"python3"}, wire::Via::root));
  s.apply(root, spawn(wire::SpawnKind::system, 20, 0, {"/bin/sh", "-c", "true"}));
  s.apply(child, start(kChild, 150, 25, {"/bin/sh", "-c", "true"}, wire::Via::child, kRoot, 0));
  SpoolRecord end = record(wire::RecordType::spawn_end, 30);
  end.span = kSpan;
  end.wait_status = 1 << 8;
  s.apply(root, end);
  EXPECT_EQ(*book.sessions[child].info.parent_span, span);
  auto after = book.of(root, EventType::after_tool_call);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]->data.at("exit_code"), 1);
  EXPECT_EQ(after[0]->data.at("child_session").as_string(), child);
}

TEST(Synth, InexactParentIsFoundByParentPid) {
  MemoryBook book;
  Synthesizer s(book);
  const std::string mid = hex_id(0x3000);
  s.apply(root, start(kRoot, 100, 10, {"sh"}, wire::Via::root));
  s.apply(root, spawn(wire::SpawnKind::fork, 11, 200));
  s.apply(mid, start(0x3000, 200, 12, {"sh"}, wire::Via::fork, kRoot, kSpan));
  // A grandchild started by system() in the fork child: its environment still names root.
  SpoolRecord g = start(kChild, 300, 20, {"true"}, wire::Via::child, kRoot, 0, false);
  g.ppid = 200;
  s.apply(child, g);
  EXPECT_EQ(*book.sessions[child].info.parent_session, mid);
  EXPECT_EQ(*book.sessions[child].info.parent_span, mid);  // no span open in mid: its session span
}

TEST(Synth, KilledProcessIsTruncatedWithItsSignal) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"agent"}, wire::Via::root));
  s.apply(root, spawn(wire::SpawnKind::posix_spawn, 20, 101, {"tool"}));
  s.observed_exit(root, SIGKILL, 50);
  s.finish_truncated(root, 40);
  const SessionState& st = book.sessions[root];
  EXPECT_EQ(st.info.status, SessionStatus::truncated);
  EXPECT_EQ(*st.info.signal, SIGKILL);
  auto end = book.of(root, EventType::session_end);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0]->data.at("truncated"), true);
  EXPECT_EQ(end[0]->data.at("signal"), SIGKILL);
  EXPECT_EQ(end[0]->t_ns, 50u);  // when its death was seen, not its spool's last read
  // The open span was closed, so every before_tool_call has its after_tool_call.
  EXPECT_EQ(book.of(root, EventType::after_tool_call).size(), 1u);
}

// Killed and never reaped by a traced parent: it lived at least until its last record,
// even when the pass that noticed its death read nothing new.
TEST(Synth, UnobservedKillEndsAtTheLastRecord) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"agent"}, wire::Via::root));
  s.apply(root, spawn(wire::SpawnKind::posix_spawn, 30, 101, {"tool"}));
  s.finish_truncated(root, 10);
  auto end = book.of(root, EventType::session_end);
  ASSERT_EQ(end.size(), 1u);
  EXPECT_EQ(end[0]->t_ns, 30u);
}

TEST(Synth, UnwaitedChildIsClosedAtParentExit) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"sh"}, wire::Via::root));
  s.apply(root, spawn(wire::SpawnKind::fork, 20, 101));
  s.apply(root, exit_with(30, 0));
  auto after = book.of(root, EventType::after_tool_call);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]->data.at("waited"), false);
}

TEST(Synth, FailedSpawnClosesAtOnceWithErrno) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"agent"}, wire::Via::root));
  SpoolRecord r = spawn(wire::SpawnKind::posix_spawnp, 20, 0, {"nope"});
  r.error = ENOENT;
  s.apply(root, r);
  auto after = book.of(root, EventType::after_tool_call);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]->data.at("errno"), ENOENT);
}

TEST(Synth, FailedExecRestoresTheCommandLine) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"sh"}, wire::Via::root));
  SpoolRecord ex = record(wire::RecordType::exec, 11);
  ex.argv = std::vector<std::string>{"/nonexistent"};
  s.apply(root, ex);
  s.apply(root, record(wire::RecordType::exec_failed, 12));
  EXPECT_EQ(book.sessions[root].info.argv, std::vector<std::string>{"sh"});
}

TEST(Synth, StateSurvivesJson) {
  MemoryBook book;
  Synthesizer s(book);
  s.apply(root, start(kRoot, 100, 10, {"sh"}, wire::Via::root));
  s.apply(root, spawn(wire::SpawnKind::popen, 20, 0, {"/bin/sh", "-c", "x"}));
  auto back = session_state_from_json(to_json(book.sessions[root]));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->spans.size(), 1u);
  EXPECT_EQ(back->spans[0].how, "popen");
  EXPECT_EQ(back->info.argv, std::vector<std::string>{"sh"});
}
