// `clawtrace score` and `clawtrace distill`: the real binary on a store built by `import`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "store.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "trace_builder.h"

namespace fs = std::filesystem;
using namespace clawtrace;
using test::TraceBuilder;

namespace {

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ScoreDistill : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(tmp_.path() / "prices.json") << R"({"version": "test", "models": {
      "small": {"provider": "test", "input": 1, "output": 10, "cache_read": 0.1, "cache_write_5m": 1.25, "cache_write_1h": 2, "checked": "2026-11-27"}}})";
    std::string lines;
    for (int i = 0; i < 3; ++i) lines += session("ok" + std::to_string(i), i % 2 ? "t1" : "t2", false, i);
    lines += session("bad0", "t1", true, 3);
    lines += session("bad1", "t3", true, 4);
    std::ofstream(tmp_.path() / "in.jsonl") << lines;
    auto r = clawtrace({"import", (tmp_.path() / "in.jsonl").string()});
    ASSERT_EQ(exit_code(r.status), 0) << r.err;
  }

  static std::string session(const std::string& name, const std::string& task, bool fails, int n) {
    TraceBuilder b(name, std::nullopt, "", 1'700'000'000'000'000'000 + static_cast<uint64_t>(n) * 1'000'000'000'000);
    const std::string big(6000, 'c');
    b.turn({{"read_file", R"({"path":"a.txt"})", big}}, 2000);
    b.turn({{"read_file", R"({"path":"a.txt"})", big}}, 5000);
    if (fails) b.turn({{"bash", R"({"command":"pytest"})", "ModuleNotFoundError: No module named 'app'", true}}, 6000);
    else b.turn({{"write_file", R"({"path":"a.txt"})", "ok"}}, 6000);
    b.answer(fails ? "failed" : "done", 6500);
    b.end();
    return b.jsonl({{"task", task}});
  }

  test::ProcessOutput clawtrace(std::vector<std::string> args) {
    args.insert(args.begin(), {CLAWTRACE_BIN, "--store", (tmp_.path() / "store").string()});
    return test::run_process(args, {std::string("PATH=") + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"),
                                    "HOME=" + tmp_.path().string()});
  }

  // name -> the session record, as `sessions --json` prints it.
  std::map<std::string, boost::json::object> sessions() {
    auto r = clawtrace({"sessions", "--json"});
    EXPECT_EQ(exit_code(r.status), 0) << r.err;
    std::map<std::string, boost::json::object> out;
    boost::system::error_code ec;
    const auto v = boost::json::parse(r.out, ec);
    if (ec || !v.is_array()) return out;
    for (const auto& s : v.get_array()) out[std::string(s.at("name").get_string())] = s.get_object();
    return out;
  }

  std::string id_of(const std::string& name) { return std::string(sessions()[name].at("id").get_string()); }

  static void one_error_line(const test::ProcessOutput& r, int code, const std::string& part) {
    EXPECT_EQ(exit_code(r.status), code) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  }

  test::TempDir tmp_{"clawtrace-costcraft"};
};

TEST_F(ScoreDistill, ScoreErrorsAreOneClearLine) {
  one_error_line(clawtrace({"score", "ffffffffffffffff", "1"}), 1, "no session matches");
  const std::string id = id_of("ok0");
  one_error_line(clawtrace({"score", id, "1.5"}), 1, "score: Q must be a number in [0,1], not '1.5'");
  one_error_line(clawtrace({"score", id, "-0.2"}), 1, "not '-0.2'");
  one_error_line(clawtrace({"score", id, "good"}), 1, "not 'good'");
  one_error_line(clawtrace({"score", id}), 2, "expected SESSION Q");
  one_error_line(clawtrace({"score", id, "1", "--bogus"}), 2, "unknown option --bogus");
  one_error_line(clawtrace({"score", "--outcomes", (tmp_.path() / "missing").string()}), 1, "cannot read");
  one_error_line(clawtrace({"score", "task=nope", "1"}), 1, "score: no session is tagged task=nope");
  // A bad entry anywhere: nothing is written.
  std::ofstream(tmp_.path() / "o.txt") << id << " 1\ntask=t1 1\ntask=nope 1\n";
  one_error_line(clawtrace({"score", "--outcomes", (tmp_.path() / "o.txt").string()}), 1, "o.txt:3: no session is tagged task=nope");
  std::ofstream(tmp_.path() / "o2.txt") << id << " 1\nzzzz 1\n";
  one_error_line(clawtrace({"score", "--outcomes", (tmp_.path() / "o2.txt").string()}), 1, "o2.txt:2: no session matches");
  for (const auto& [name, s] : sessions()) EXPECT_TRUE(s.at("quality").is_null()) << name;
}

TEST_F(ScoreDistill, ScoresLandOnTheSessionAndItsCard) {
  const std::string id = id_of("ok0");
  auto r = clawtrace({"score", id.substr(0, 6), "0.5", "--note", "half the checks pass"});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_EQ(r.out, "scored " + id + ": 0.5\n");
  auto s = sessions()["ok0"];
  EXPECT_EQ(s.at("quality").to_number<double>(), 0.5);
  EXPECT_EQ(s.at("note").get_string(), "half the checks pass");
  auto card = clawtrace({"card", id});
  EXPECT_NE(card.out.find("  quality: 0.5\n  note: \"half the checks pass\"\n"), std::string::npos) << card.out;
  // Task tags in a file: every root session so tagged; later entries win; no note clears it.
  std::ofstream(tmp_.path() / "o.txt") << "# oracle\ntask=t1 1\n" << id_of("bad0") << " 0 import error\n" << id << " 1\n";
  r = clawtrace({"score", "--outcomes", (tmp_.path() / "o.txt").string()});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_EQ(r.out, "scored 3 sessions\n");
  auto all = sessions();
  EXPECT_EQ(all["ok1"].at("quality").to_number<double>(), 1);
  EXPECT_EQ(all["bad0"].at("quality").to_number<double>(), 0);
  EXPECT_EQ(all["bad0"].at("note").get_string(), "import error");
  EXPECT_EQ(all["ok0"].at("quality").to_number<double>(), 1);
  EXPECT_FALSE(all["ok0"].contains("note"));
  EXPECT_TRUE(all["ok2"].at("quality").is_null());
  // A tag on the command line.
  r = clawtrace({"score", "task=t2", "0.25"});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_EQ(r.out, "scored 2 sessions\n");
  EXPECT_EQ(sessions()["ok2"].at("quality").to_number<double>(), 0.25);
  // JSON works too.
  std::ofstream(tmp_.path() / "o.json") << R"({"task=t2": {"q": 1, "note": "ok"}})";
  r = clawtrace({"score", "--outcomes", (tmp_.path() / "o.json").string()});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_EQ(sessions()["ok2"].at("quality").to_number<double>(), 1);
}

// The ingester rewrites session records from its own state, which has no score.
TEST(ScoreStore, ARecordRewrittenWithoutAScoreKeepsIt) {
  test::TempDir dir;
  auto store = Store::open(dir.path());
  ASSERT_TRUE(store.ok()) << store.error();
  SessionInfo s;
  s.id = "00000000000000aa";
  s.start_ns = 5;
  s.quality = 0.75;
  s.note = "graded";
  ASSERT_TRUE((*store)->write([&](Store::Writer& w) { return w.put_session(s); }).ok());
  SessionInfo rebuilt = s;
  rebuilt.quality.reset();
  rebuilt.note.reset();
  rebuilt.events = 9;
  ASSERT_TRUE((*store)->write([&](Store::Writer& w) { return w.put_session(rebuilt); }).ok());
  auto back = (*store)->session(s.id);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_EQ((*back)->quality, 0.75);
  EXPECT_EQ((*back)->note, "graded");
  EXPECT_EQ((*back)->events, 9u);
}

TEST_F(ScoreDistill, DistillWritesTheSameSkillEveryRun) {
  std::ofstream(tmp_.path() / "o.txt") << "task=t1 1\ntask=t2 1\ntask=t3 0 No module named app\n"
                                       << id_of("bad0") << " 0 tests could not import the module\n";
  ASSERT_EQ(exit_code(clawtrace({"score", "--outcomes", (tmp_.path() / "o.txt").string()}).status), 0);
  const fs::path out = tmp_.path() / "skills" / "fix-things";
  const std::string prices = (tmp_.path() / "prices.json").string();
  auto r = clawtrace({"distill", "--all", "-o", out.string(), "--prices", prices});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_NE(r.out.find("distilled 5 session(s) with the offline proposer"), std::string::npos) << r.out;
  const std::string skill = slurp(out / "SKILL.md"), patches = slurp(out / "patches.yaml");
  EXPECT_EQ(skill.rfind("---\nname: fix-things\n", 0), 0u) << skill;
  EXPECT_NE(skill.find("re-read a file"), std::string::npos) << skill;
  EXPECT_NE(skill.find("(repair, 2 traces"), std::string::npos) << skill;
  EXPECT_NE(patches.find("decision: rejected"), std::string::npos);
  r = clawtrace({"distill", "--all", "-o", out.string(), "--prices", prices});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_EQ(slurp(out / "SKILL.md"), skill);
  EXPECT_EQ(slurp(out / "patches.yaml"), patches);
  EXPECT_FALSE(fs::exists(out / "SKILL.md.tmp"));
  // Named sessions and a tag filter.
  r = clawtrace({"distill", id_of("ok0"), id_of("ok1"), "--tag", "task=t2", "-o", (tmp_.path() / "t2").string(), "--prices", prices});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_NE(r.out.find("distilled 1 session(s)"), std::string::npos) << r.out;
  EXPECT_NE(slurp(tmp_.path() / "t2" / "SKILL.md").find("(sessions tagged task=t2)"), std::string::npos);
  // Ablations are recorded.
  r = clawtrace({"distill", "--all", "-o", (tmp_.path() / "ab").string(), "--ablate", "no-prune,no-cost", "--prices", prices});
  ASSERT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_NE(slurp(tmp_.path() / "ab" / "patches.yaml").find("ablate: [no-cost, no-prune]"), std::string::npos);
  EXPECT_EQ(slurp(tmp_.path() / "ab" / "SKILL.md").find("(prune,"), std::string::npos);
}

TEST_F(ScoreDistill, DistillErrorsAreOneClearLine) {
  const std::string dir = (tmp_.path() / "skill").string();
  one_error_line(clawtrace({"distill", "--all", "-o", dir}), 1, "no scored sessions to distill");
  one_error_line(clawtrace({"distill", id_of("ok0"), "-o", dir}), 1, "has no quality score (clawtrace score");
  ASSERT_EQ(exit_code(clawtrace({"score", id_of("ok0"), "1"}).status), 0);
  one_error_line(clawtrace({"distill", "--all", "-o", (tmp_.path() / "Bad_Name").string()}), 1, "a skill name is 1-64");
  one_error_line(clawtrace({"distill", "--all", "-o", dir, "--llm", "http://127.0.0.1:1"}), 2, "--llm needs --model M");
  one_error_line(clawtrace({"distill", "--all", "-o", dir, "--llm", "http://127.0.0.1:1", "--model", "m", "--offline"}), 2,
                 "--offline or --llm, not both");
  one_error_line(clawtrace({"distill", "--all", "-o", dir, "--ablate", "no-thing"}), 2, "unknown ablation 'no-thing'");
  one_error_line(clawtrace({"distill", "--all"}), 2, "-o DIR");
  one_error_line(clawtrace({"distill", "-o", dir}), 2, "name sessions or give --all");
  one_error_line(clawtrace({"distill", "--all", "-o", dir, "--top", "x"}), 2, "--top needs a number");
  // --all skips the unscored ones, and says so.
  auto r = clawtrace({"distill", "--all", "-o", dir});
  EXPECT_EQ(exit_code(r.status), 0) << r.err;
  EXPECT_NE(r.err.find("skipped 4 unscored session(s)"), std::string::npos) << r.err;
}

}  // namespace
