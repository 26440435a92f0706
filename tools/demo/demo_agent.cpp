// clawtrace-demo-agent: the small agent `clawtrace demo` traces. A plain tool loop over
// Anthropic Messages (libcurl, HTTPS, non-streaming, Boost.JSON bodies) with three real
// tools: read_file (inside a demo workspace), bash (/bin/sh -c in a child process) and
// delegate (a copy of this program as a child process: a sub-agent).
//
//   clawtrace-demo-agent URL --cafile PEM [--task TEXT] [--workspace DIR] [--skill SKILL.md] [--sub]
//
// Without --workspace it makes one in a temp dir (and removes it at the end). Prints its
// final answer on stdout; a sub-agent's stdout is the delegate tool's result. --skill puts
// a skill's text (CostCraft's SKILL.md) before the task in the first message.
#include <curl/curl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr const char* kModel = "claude-sonnet-4-5";
constexpr const char* kDefaultTask = "Summarise the TODOs in the workspace.";
constexpr int kMaxTurns = 8;

constexpr const char* kNotes = R"(# Exporter release notes (draft)
- TODO: write the changelog entry for the OTLP exporter
- Done: bump the version to 0.2.0
- TODO: add a test for sessions without LLM calls
- TODO: ask Ana to review the README
)";

struct Options {
  std::string url, cafile, task = kDefaultTask, workspace, skill;
  bool sub = false;
};

std::optional<Options> parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--cafile" && has_value) o.cafile = argv[++i];
    else if (a == "--task" && has_value) o.task = argv[++i];
    else if (a == "--workspace" && has_value) o.workspace = argv[++i];
    else if (a == "--skill" && has_value) o.skill = argv[++i];
    else if (a == "--sub") o.sub = true;
    else if (o.url.empty() && a.rfind("--", 0) != 0) o.url = a;
    else return std::nullopt;
  }
  if (o.url.empty() || o.cafile.empty()) return std::nullopt;
  return o;
}

json::object tool(const char* name, const char* description, const char* param) {
  json::object props{{param, {{"type", "string"}}}};
  return {{"name", name},
          {"description", description},
          {"input_schema", {{"type", "object"}, {"properties", props}, {"required", json::array{param}}}}};
}

// A sub-agent gets no delegate tool, so delegation cannot recurse.
json::array tools_for(bool sub) {
  json::array tools{tool("read_file", "Read a file of the workspace", "path"),
                    tool("bash", "Run a shell command in the workspace", "command")};
  if (!sub) tools.push_back(tool("delegate", "Give a self-contained task to a helper agent", "task"));
  return tools;
}

std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// ---- tools -------------------------------------------------------------------------

struct ChildResult {
  std::string out;
  int exit_code = -1;
};

// Runs argv as a child process, its stdout captured, stderr shared with ours.
ChildResult run_child(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  ChildResult result;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) result.out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  if (rc == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string self_path() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).string();
}

struct ToolResult {
  std::string text;
  bool is_error = false;
};

ToolResult read_file(const std::string& path) {
  fs::path p(path);
  bool inside = !path.empty() && p.is_relative() &&
                std::none_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
  if (!inside) return {"read_file: only paths inside the workspace", true};
  std::ifstream in(p, std::ios::binary);
  if (!in) return {"read_file: no such file: " + path, true};
  std::ostringstream s;
  s << in.rdbuf();
  return {s.str(), false};
}

ToolResult bash(const std::string& command) {
  ChildResult r = run_child({"/bin/sh", "-c", command});
  return {r.out, r.exit_code != 0};
}

ToolResult delegate(const Options& o, const std::string& task) {
  // The task first: it is what a listing of the child's command line should show.
  ChildResult r = run_child({self_path(), "--sub", "--task", task, o.url, "--cafile", o.cafile,
                             "--workspace", fs::current_path().string()});
  if (r.exit_code != 0) return {"the helper agent failed (exit " + std::to_string(r.exit_code) + ")", true};
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return {r.out, false};
}

ToolResult run_tool(const Options& o, const std::string& name, const json::object& input) {
  if (name == "read_file") return read_file(string_at(input, "path"));
  if (name == "bash") return bash(string_at(input, "command"));
  if (name == "delegate" && !o.sub) return delegate(o, string_at(input, "task"));
  return {"unknown tool " + name, true};
}

// ---- the model -----------------------------------------------------------------------

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

class Messages {
 public:
  explicit Messages(const Options& o) : curl_(curl_easy_init()), url_(o.url + "/v1/messages") {
    headers_ = curl_slist_append(headers_, "content-type: application/json");
    headers_ = curl_slist_append(headers_, "anthropic-version: 2023-06-01");
    headers_ = curl_slist_append(headers_, "x-api-key: demo-no-key-needed");
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_CAINFO, o.cafile.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");  // the stand-in is local: never a proxy
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 60L);
  }
  ~Messages() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  Messages(const Messages&) = delete;
  Messages& operator=(const Messages&) = delete;

  // One request; the response object, or an error message.
  std::optional<json::object> send(const json::object& request, std::string& error) {
    std::string body = json::serialize(request), response;
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
    CURLcode c = curl_easy_perform(curl_);
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    auto failed = [&](std::string why) {
      error = std::move(why);
      return std::nullopt;
    };
    if (c != CURLE_OK) return failed(curl_easy_strerror(c));
    if (status != 200) return failed("HTTP " + std::to_string(status) + ": " + response.substr(0, 300));
    boost::system::error_code ec;
    json::value v = json::parse(response, ec);
    if (ec || !v.is_object()) return failed("not a JSON object: " + response.substr(0, 300));
    return v.get_object();
  }

 private:
  CURL* curl_;
  std::string url_;
  curl_slist* headers_ = nullptr;
};

std::string system_prompt(bool sub) {
  return sub ? "You are a helper agent. Do the task you are given with the tools; answer in one sentence."
             : "You are a careful assistant working in a small workspace. Use the tools to look "
               "before you answer; hand self-contained sub-tasks to a helper with delegate.";
}

// The task, after the skill's text when there is one: loaded into the conversation as
// agents load skills, for the model to follow.
std::string first_message(const Options& o) {
  if (o.skill.empty()) return o.task;
  std::ifstream in(o.skill, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return "<skill path=\"" + o.skill + "\">\n" + text.str() + "</skill>\n\n" + o.task;
}

// The tool loop: ask, run the tools asked for, send their results, until a text answer.
int run_agent(const Options& o) {
  Messages api(o);
  json::array messages{{{"role", "user"}, {"content", first_message(o)}}};
  for (int turn = 0; turn < kMaxTurns; ++turn) {
    json::object request{{"model", kModel}, {"max_tokens", 1024}, {"system", system_prompt(o.sub)},
                         {"tools", tools_for(o.sub)}, {"messages", messages}};
    std::string error;
    auto reply = api.send(request, error);
    if (!reply) {
      std::fprintf(stderr, "clawtrace-demo-agent: %s\n", error.c_str());
      return 1;
    }
    const json::value* content = reply->if_contains("content");
    if (!content || !content->is_array()) {
      std::fprintf(stderr, "clawtrace-demo-agent: a reply without content\n");
      return 1;
    }
    messages.push_back({{"role", "assistant"}, {"content", *content}});
    json::array results;
    std::string answer;
    for (const json::value& block : content->get_array()) {
      const json::object* b = block.if_object();
      if (!b) continue;
      answer += string_at(*b, "text");
      const json::value* input = b->if_contains("input");
      if (string_at(*b, "type") != "tool_use" || !input || !input->is_object()) continue;
      ToolResult r = run_tool(o, string_at(*b, "name"), input->get_object());
      results.push_back({{"type", "tool_result"}, {"tool_use_id", string_at(*b, "id")}, {"content", r.text},
                         {"is_error", r.is_error}});
    }
    if (results.empty()) {
      std::printf("%s\n", answer.c_str());
      return 0;
    }
    messages.push_back({{"role", "user"}, {"content", results}});
  }
  std::fprintf(stderr, "clawtrace-demo-agent: no answer after %d turns\n", kMaxTurns);
  return 1;
}

// A fresh workspace with the notes the task is about; removed when the agent ends.
class Workspace {
 public:
  Workspace() {
    std::string tmpl = (fs::temp_directory_path() / "clawtrace-demo-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return;
    dir_ = tmpl;
    std::ofstream(dir_ / "notes.md") << kNotes;
  }
  ~Workspace() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_args(argc, argv);
  if (!options) {
    std::fprintf(stderr, "usage: clawtrace-demo-agent URL --cafile PEM [--task TEXT] [--workspace DIR] [--skill SKILL.md] [--sub]\n");
    return 2;
  }
  std::optional<Workspace> own;
  fs::path dir = options->workspace;
  if (dir.empty()) dir = own.emplace().dir();
  std::error_code ec;
  fs::current_path(dir, ec);
  if (dir.empty() || ec) {
    std::fprintf(stderr, "clawtrace-demo-agent: no workspace directory\n");
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = run_agent(*options);
  curl_global_cleanup();
  return rc;
}
