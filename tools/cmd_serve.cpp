// `clawtrace serve`: the dashboard (SPEC §7), a local web page and JSON API over the store.
#include <cstdio>

#include "cli.h"
#include "serve/api.h"
#include "serve/server.h"

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace serve [--bind ADDRESS] [--port N] [--token TOKEN] [--prices FILE]

Serves the dashboard: the sessions with their cost, tokens and outcome (filter by tag,
status, time, text), one session's execution path (span tree with cost per span, payloads,
sub-agents nested) and its Gantt timeline, plus the JSON API under /api/ (docs/dashboard.md).
Read-only over the store, safe while agents are being traced. Stops on Ctrl-C.
--bind A    address to listen on (default 127.0.0.1). Any other than a loopback address
            requires a token: --token's, or a random one printed at start
--port N    port (default 8377; 0 picks a free one; the address is printed)
--token T   ask every request for T: header Authorization: Bearer T, or ?token=T (the page
            opened with ?token=T keeps it in a cookie)
--prices F  prices that win over the bundled table (as in clawtrace card)
)";

}  // namespace

int cmd_serve(const Globals& g, const std::vector<std::string>& args) {
  serve::ServerOptions options;
  std::optional<std::string> token;
  std::optional<std::filesystem::path> prices_file;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (a != "--bind" && a != "--port" && a != "--token" && a != "--prices")
      return usage_error("serve", (a.empty() || a[0] != '-' ? "unexpected argument '" : "unknown option '") + a + "'");
    if (i + 1 >= args.size()) return usage_error("serve", a + " needs a value");
    const std::string& v = args[++i];
    if (a == "--bind") {
      options.bind = v;
    } else if (a == "--token") {
      if (v.empty()) return usage_error("serve", "--token needs a non-empty value");
      token = v;
    } else if (a == "--prices") {
      prices_file = v;
    } else {
      char* end = nullptr;
      const unsigned long port = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || port > 65535) return usage_error("serve", "--port needs a number from 0 to 65535, not '" + v + "'");
      options.port = static_cast<uint16_t>(port);
    }
  }
  const bool loopback = serve::is_loopback(options.bind);
  if (!loopback && !token) token = random_token();
  auto prices = pricing::load_prices(prices_file);
  if (!prices) return error(prices.error());
  {
    auto store = open_for_reading(g);  // fails clearly without a store; ingests what is pending
    if (!store) return error(store.error());
  }
  serve::Api api({g.store_dir, token.value_or("")}, std::move(*prices));
  auto served = serve::run_server(api, options, [&](uint16_t port) {
    const std::string host = options.bind.find(':') != std::string::npos ? "[" + options.bind + "]" : options.bind;
    const std::string url = "http://" + host + ":" + std::to_string(port) + "/";
    std::printf("clawtrace: serving %s on %s%s\n", g.store_dir.c_str(), url.c_str(),
                token ? ("?token=" + *token).c_str() : "");
    if (token) std::printf("clawtrace: token %s (header Authorization: Bearer TOKEN, or ?token=TOKEN)\n", token->c_str());
    std::fflush(stdout);
  });
  if (!served) return error(served.error());
  return 0;
}

}  // namespace clawtrace::cli
