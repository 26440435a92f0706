// LLM event synthesis over an in-memory book: a captured tool loop (two Anthropic
// exchanges on one keep-alive connection, the bytes split into small reads) becomes
// llm_input/llm_output, a model tool call closed by the next request, and a process
// nested under it. Ingestion runs in passes, so the same records fed with the session
// state saved to JSON and restored after every record must give the same events.
#include <gtest/gtest.h>

#include <map>

#include "memory_book.h"
#include "synth.h"

using namespace clawtrace;
namespace json = boost::json;

namespace {

struct Book : clawtrace::test::MemoryBook {
  void round_trip() { ASSERT_TRUE(MemoryBook::round_trip()); }
};

constexpr uint64_t kSession = 0xabc, kConn = 0x5eed;

SpoolRecord rec(wire::RecordType type, uint64_t t) {
  SpoolRecord r;
  r.type = type;
  r.t_ns = t;
  r.pid = 42;
  return r;
}

std::string http_request(const std::string& body) {
  return "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nx-api-key: ****\r\n"
         "content-type: application/json\r\ncontent-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string http_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kUser = R"({"role":"user","content":"list files"})";
const std::string kToolUse =
    R"({"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"bash","input":{"command":"ls"}}]})";

std::vector<SpoolRecord> tool_loop() {
  std::vector<SpoolRecord> out;
  uint64_t t = 1000;
  SpoolRecord s = rec(wire::RecordType::proc_start, t);
  s.session = kSession;
  s.trace_hi = 1;
  s.trace_lo = 2;
  s.via = static_cast<uint64_t>(wire::Via::root);
  s.argv = std::vector<std::string>{"agent"};
  out.push_back(s);
  SpoolRecord open = rec(wire::RecordType::conn_open, ++t);
  open.conn = kConn;
  open.layer = static_cast<uint64_t>(wire::Layer::tls);
  open.host = "api.anthropic.com";
  out.push_back(open);
  uint64_t offsets[2] = {0, 0};
  auto data = [&](int dir, const std::string& bytes) {
    for (size_t at = 0; at < bytes.size(); at += 37) {  // small, odd-sized reads
      SpoolRecord d = rec(wire::RecordType::conn_data, ++t);
      d.conn = kConn;
      d.direction = static_cast<uint64_t>(dir);
      d.stream_offset = offsets[dir];
      d.payload = bytes.substr(at, 37);
      offsets[dir] += d.payload->size();
      out.push_back(d);
    }
  };
  data(0, http_request(R"({"model":"claude-sonnet-4-5","max_tokens":100,"tools":[{"name":"bash","input_schema":{}}],"messages":[)" + kUser + "]}"));
  data(1, http_response(R"({"id":"m1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"tool_use","id":"toolu_1","name":"bash","input":{"command":"ls"}}],"stop_reason":"tool_use","usage":{"input_tokens":50,"output_tokens":10,"cache_read_input_tokens":7,"cache_creation_input_tokens":3}})"));
  SpoolRecord spawn = rec(wire::RecordType::spawn, ++t);
  spawn.span = 0x99;
  spawn.kind = static_cast<uint64_t>(wire::SpawnKind::posix_spawn);
  spawn.child_pid = 43;
  spawn.argv = std::vector<std::string>{"/bin/ls"};
  out.push_back(spawn);
  SpoolRecord reap = rec(wire::RecordType::reap, ++t);
  reap.child_pid = 43;
  reap.wait_status = 0;
  out.push_back(reap);
  data(0, http_request(R"({"model":"claude-sonnet-4-5","max_tokens":100,"messages":[)" + kUser + "," + kToolUse +
                       R"(,{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"a.txt\nb.txt"}]}]})"));
  data(1, http_response(R"({"id":"m2","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Two files."}],"stop_reason":"end_turn","usage":{"input_tokens":80,"output_tokens":4}})"));
  SpoolRecord close = rec(wire::RecordType::conn_close, ++t);
  close.conn = kConn;
  out.push_back(close);
  SpoolRecord exit = rec(wire::RecordType::proc_exit, ++t);
  exit.exit_code = 0;
  exit.exit_via = static_cast<uint64_t>(wire::ExitVia::exit);
  out.push_back(exit);
  return out;
}

std::vector<Event> synthesise(bool round_trip_every_record) {
  Book book;
  Synthesizer synth(book);
  for (const auto& r : tool_loop()) {
    synth.apply(hex_id(kSession), r);
    if (round_trip_every_record) book.round_trip();
  }
  return book.events;
}

const Event* find(const std::vector<Event>& ev, EventType type, size_t nth = 0) {
  for (const auto& e : ev)
    if (e.type == type && nth-- == 0) return &e;
  return nullptr;
}

TEST(LlmSynth, ToolLoopBecomesCallsToolSpanAndNestedProcess) {
  auto ev = synthesise(false);
  const Event* in1 = find(ev, EventType::llm_input, 0);
  const Event* out1 = find(ev, EventType::llm_output, 0);
  const Event* in2 = find(ev, EventType::llm_input, 1);
  const Event* out2 = find(ev, EventType::llm_output, 1);
  ASSERT_TRUE(in1 && out1 && in2 && out2);
  EXPECT_EQ(in1->span, out1->span);
  EXPECT_NE(in1->span, in2->span);
  EXPECT_EQ(in1->data.at("messages_added").as_array().size(), 1u);
  EXPECT_EQ(in2->data.at("messages_added_from").as_uint64(), 1u);  // the tool use and its result are new
  EXPECT_EQ(in2->data.at("messages_added").as_array().size(), 2u);
  EXPECT_EQ(in1->data.at("thread"), in2->data.at("thread"));
  EXPECT_EQ(out1->data.at("usage").at("input").as_int64(), 50);
  EXPECT_EQ(out1->data.at("usage").at("cache_read").as_int64(), 7);
  EXPECT_EQ(out1->data.at("usage").at("cache_write").as_int64(), 3);
  EXPECT_EQ(out2->data.at("text").as_string(), "Two files.");

  const Event* tool = nullptr;
  const Event* proc = nullptr;
  for (const auto& e : ev) {
    if (e.type != EventType::before_tool_call) continue;
    (e.data.at("source").as_string() == "model" ? tool : proc) = &e;
  }
  ASSERT_TRUE(tool && proc);
  EXPECT_EQ(tool->parent, out1->span);
  EXPECT_EQ(tool->data.at("id").as_string(), "toolu_1");
  EXPECT_EQ(proc->parent, tool->span);  // the process ran while the tool call was open
  const Event* done = nullptr;
  for (const auto& e : ev)
    if (e.type == EventType::after_tool_call && e.span == tool->span) done = &e;
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->data.at("result").as_string(), "a.txt\nb.txt");
  EXPECT_FALSE(done->data.at("is_error").as_bool());
  EXPECT_LT(done->t_ns, in2->t_ns + 1);
}

TEST(LlmSynth, StateSurvivesJsonBetweenEveryRecord) {
  auto straight = synthesise(false);
  auto passes = synthesise(true);
  ASSERT_EQ(straight.size(), passes.size());
  for (size_t i = 0; i < straight.size(); ++i) {
    EXPECT_EQ(to_json_line(straight[i]), to_json_line(passes[i])) << "event " << i;
  }
}

}  // namespace
