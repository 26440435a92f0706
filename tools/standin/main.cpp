// clawtrace-standin: see README.md beside this file.
#include "standin.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr const char* kUsage =
    "usage: clawtrace-standin [--http-port N] [--https-port N] [--cert-dir DIR] [--script FILE]\n"
    "                         [--log FILE] [--ready-file FILE] [--max-requests N]\n";

bool parse_number(std::string_view text, unsigned long long max, unsigned long long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

// Fills options from argv; an error message when the command line is wrong.
std::string parse_args(int argc, char** argv, clawtrace::standin::Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") return "help";
    if (i + 1 >= argc) return std::string(flag) + " needs a value";
    std::string_view value = argv[++i];
    unsigned long long n = 0;
    if (flag == "--http-port" || flag == "--https-port") {
      if (!parse_number(value, 65535, n)) return std::string(flag) + ": expected a port (0 = any)";
      (flag == "--http-port" ? o.http_port : o.https_port) = static_cast<int>(n);
    } else if (flag == "--max-requests") {
      if (!parse_number(value, ~0ull, n)) return "--max-requests: expected a count";
      o.max_requests = n;
    } else if (flag == "--cert-dir") {
      o.cert_dir = value;
    } else if (flag == "--script") {
      o.script_path = value;
    } else if (flag == "--log") {
      o.log_path = value;
    } else if (flag == "--ready-file") {
      o.ready_path = value;
    } else {
      return "unknown option " + std::string(flag);
    }
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  clawtrace::standin::Options options;
  std::string error = parse_args(argc, argv, options);
  if (error == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!error.empty()) {
    std::fprintf(stderr, "clawtrace-standin: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  clawtrace::Result<void> ran = clawtrace::standin::run(options);
  if (!ran) {
    std::fprintf(stderr, "clawtrace-standin: %s\n", ran.error().c_str());
    return 1;
  }
  return 0;
}
