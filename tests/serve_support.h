// Helpers of the `clawtrace serve` tests: a small HTTP client (libcurl) and a running server.
#pragma once

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "subprocess.h"

namespace clawtrace::serve_test {
namespace json = boost::json;
namespace fs = std::filesystem;

struct Reply {
  long status = 0;
  std::string body, content_type, set_cookie;
  json::value json() const {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    return ec ? json::value() : v;
  }
};

inline size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

inline size_t header_line(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  if (line.rfind("Set-Cookie:", 0) == 0 || line.rfind("set-cookie:", 0) == 0)
    *static_cast<std::string*>(out) = line.substr(11, line.find_last_not_of("\r\n") - 10);
  return size * n;
}

inline Reply http(const std::string& url, const std::vector<std::string>& headers = {}, const char* method = "GET") {
  Reply r;
  CURL* c = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.set_cookie);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (curl_easy_perform(c) == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char* type = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    if (type) r.content_type = type;
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  return r;
}

inline std::vector<std::string> test_env(const fs::path& home) {
  // No price override file of the user's: the server and `clawtrace card` price alike.
  return {"PATH=/usr/bin:/bin", "HOME=" + home.string(), "XDG_CONFIG_HOME=" + (home / "config").string()};
}

inline double relative_difference(double a, double b) {
  return std::fabs(a - b) / std::max({std::fabs(a), std::fabs(b), 1e-300});
}

// `clawtrace card ID`'s totals.cost_usd, as the user would read it (-1 when there is none).
inline double card_total(const fs::path& store, const fs::path& home, const std::string& id) {
  auto r = test::run_process({CT_CLAWTRACE, "--store", store.string(), "card", id}, test_env(home), 60);
  std::smatch m;
  if (!std::regex_search(r.out, m, std::regex("\ntotals:\n  cost_usd: ([-0-9.e+]+)"))) return -1;
  return std::stod(m[1]);
}

// A running `clawtrace serve`, stopped (SIGTERM) at scope end.
class Server {
 public:
  Server(const fs::path& store, const fs::path& home, std::vector<std::string> args) {
    std::vector<std::string> argv{CT_CLAWTRACE, "--store", store.string(), "serve", "--port", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    int out[2];
    if (pipe(out) != 0) return;
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    auto env = test_env(home);
    std::vector<char*> cenv;
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {  // dies with the test, even when the test crashes
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      execve(CT_CLAWTRACE, cargv.data(), cenv.data());
      _exit(127);
    }
    close(out[1]);
    read_banner(out[0]);
    close(out[0]);
  }
  ~Server() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  const std::string& banner() const { return banner_; }
  const std::string& token() const { return token_; }

 private:
  // "clawtrace: serving STORE on http://HOST:PORT/[?token=T]" then, with a token, its line.
  void read_banner(int fd) {
    std::string text;
    char buf[512];
    for (int waited = 0; waited < 200 && text.find("\n") == std::string::npos; ++waited) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    banner_ = text;
    std::smatch m;
    if (std::regex_search(text, m, std::regex(R"(:(\d+)/)"))) port_ = std::stoi(m[1]);
    if (std::regex_search(text, m, std::regex(R"(token=([0-9A-Za-z]+))"))) token_ = m[1];
  }

  pid_t pid_ = -1;
  int port_ = 0;
  std::string banner_, token_;
};

}  // namespace clawtrace::serve_test
