// The preload's core without the preload: context strings and the environment rewrite.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "context.h"

using namespace clawtrace;

namespace {

std::vector<std::string> as_vector(char** env) {
  std::vector<std::string> out;
  for (; env && *env; ++env) out.emplace_back(*env);
  return out;
}

std::string value_of(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
  return "<missing>";
}

int count_of(const std::vector<std::string>& env, const std::string& name) {
  int n = 0;
  for (const auto& e : env) n += e.rfind(name + "=", 0) == 0;
  return n;
}

ChildEnvSpec spec() {
  TraceContext c;
  c.session = 0x1122334455667788ull;
  c.owner_pid = 4242;
  c.span = 0xabcdef0123456789ull;
  c.trace_hi = 1;
  c.trace_lo = 2;
  return ChildEnvSpec{c, "/opt/ct/libclawtrace.so", "/var/ct", "batch=a,task=7", false};
}

}  // namespace

TEST(Context, FormatParseRoundTrip) {
  TraceContext c = spec().ctx;
  char buf[kCtxValueLen + 1] = {};
  format_ctx(c, buf);
  EXPECT_EQ(std::string(buf), "1:1122334455667788:0000004242:abcdef0123456789:00000000000000010000000000000002:-");
  TraceContext back;
  ASSERT_TRUE(parse_ctx(buf, &back));
  EXPECT_EQ(back.session, c.session);
  EXPECT_EQ(back.owner_pid, 4242u);
  EXPECT_EQ(back.span, c.span);
  EXPECT_EQ(back.trace_lo, 2u);
  EXPECT_EQ(back.flag, '-');
}

TEST(Context, RejectsMalformed) {
  TraceContext c;
  EXPECT_FALSE(parse_ctx(nullptr, &c));
  EXPECT_FALSE(parse_ctx("", &c));
  EXPECT_FALSE(parse_ctx("1:zz22334455667788:0000004242:abcdef0123456789:00000000000000010000000000000002:-", &c));
  EXPECT_FALSE(parse_ctx("1:1122334455667788:0000004242:abcdef0123456789:00000000000000010000000000000002:?", &c));
  EXPECT_FALSE(parse_ctx("1:0000000000000000:0000004242:abcdef0123456789:00000000000000010000000000000002:-", &c));
}

TEST(Context, Traceparent) {
  char buf[kTraceparentValueLen + 1] = {};
  format_traceparent(0x0af7651916cd43ddull, 0x8448eb211c80319cull, 0xb7ad6b7169203331ull, buf);
  EXPECT_EQ(std::string(buf), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  uint64_t hi, lo, span;
  ASSERT_TRUE(parse_traceparent(buf, &hi, &lo, &span));
  EXPECT_EQ(span, 0xb7ad6b7169203331ull);
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01", &hi, &lo, &span));
}

TEST(Context, PreloadListRecognisesUs) {
  EXPECT_TRUE(preload_list_has_us("/x/libclawtrace.so"));
  EXPECT_TRUE(preload_list_has_us("libfoo.so:/x/libclawtrace.so libbar.so"));
  EXPECT_TRUE(preload_list_has_us("libclawtrace.so"));
  EXPECT_FALSE(preload_list_has_us("/x/libclawtrace.so.bak"));
  EXPECT_FALSE(preload_list_has_us("/x/notlibclawtrace.so"));
  EXPECT_FALSE(preload_list_has_us(""));
}

TEST(ChildEnv, RestoresEverythingIntoAnEmptyEnvironment) {
  Scratch scratch;
  auto env = as_vector(build_child_env(nullptr, spec(), scratch));
  EXPECT_EQ(value_of(env, "LD_PRELOAD"), "/opt/ct/libclawtrace.so");
  EXPECT_EQ(value_of(env, "CLAWTRACE_STORE"), "/var/ct");
  EXPECT_EQ(value_of(env, "CLAWTRACE_TAGS"), "batch=a,task=7");
  EXPECT_EQ(value_of(env, "CLAWTRACE_CTX").substr(0, 30), "1:1122334455667788:0000004242:");
  EXPECT_EQ(value_of(env, "TRACEPARENT"), "00-00000000000000010000000000000002-abcdef0123456789-01");
  EXPECT_EQ(count_of(env, "CLAWTRACE_QUIET"), 0);
}

TEST(ChildEnv, KeepsTheCallersVariablesAndReplacesStaleContext) {
  std::vector<std::string> in = {"PATH=/bin", "LD_PRELOAD=/usr/lib/libasan.so", "TRACEPARENT=stale",
                                 "CLAWTRACE_CTX=stale", "CLAWTRACE_STORE=/elsewhere", "HOME=/root"};
  std::vector<char*> envp;
  for (auto& s : in) envp.push_back(s.data());
  envp.push_back(nullptr);
  Scratch scratch;
  auto env = as_vector(build_child_env(envp.data(), spec(), scratch));
  EXPECT_EQ(value_of(env, "PATH"), "/bin");
  EXPECT_EQ(value_of(env, "HOME"), "/root");
  EXPECT_EQ(value_of(env, "LD_PRELOAD"), "/opt/ct/libclawtrace.so:/usr/lib/libasan.so");
  EXPECT_EQ(value_of(env, "CLAWTRACE_STORE"), "/elsewhere");  // the caller's choice wins
  for (const char* v : {"LD_PRELOAD", "TRACEPARENT", "CLAWTRACE_CTX", "CLAWTRACE_STORE"})
    EXPECT_EQ(count_of(env, v), 1) << v;
  EXPECT_NE(value_of(env, "TRACEPARENT"), "stale");
}

TEST(ChildEnv, LeavesAPreloadThatAlreadyHasUs) {
  std::string preload = "LD_PRELOAD=/somewhere/else/libclawtrace.so";
  char* envp[] = {preload.data(), nullptr};
  Scratch scratch;
  auto env = as_vector(build_child_env(envp, spec(), scratch));
  EXPECT_EQ(value_of(env, "LD_PRELOAD"), "/somewhere/else/libclawtrace.so");
}

TEST(ChildEnv, HandlesHugeEnvironments) {
  std::vector<std::string> in;
  for (int i = 0; i < 20000; ++i) in.push_back("VAR" + std::to_string(i) + "=" + std::string(100, 'x'));
  std::vector<char*> envp;
  for (auto& s : in) envp.push_back(s.data());
  envp.push_back(nullptr);
  Scratch scratch;
  auto env = as_vector(build_child_env(envp.data(), spec(), scratch));
  EXPECT_EQ(env.size(), in.size() + 5);
  EXPECT_EQ(env[19999], in[19999]);
}
