// `clawtrace relay`: a local provider endpoint for agents the preload cannot see into
// (static binaries, runtimes with their own TLS). It forwards and records (relay/).
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "cli.h"
#include "event.h"
#include "ingest.h"
#include "relay/session.h"
#include "serve/server.h"
#include "sys.h"

namespace fs = std::filesystem;

namespace clawtrace::cli {
namespace {

constexpr const char* kHelp = R"(usage: clawtrace relay --upstream URL [--upstream-for NAME=URL]... [--listen ADDRESS:PORT]
                       [--cacert FILE] [--token T] [--name N] [--tag K=V]... [--ready-file FILE]

Listens for an agent's provider calls (use http://ADDRESS:PORT as its base URL), forwards
each to the upstream through libcurl (TLS, HTTP/2 where offered, proxies from the
environment) and passes the response back as it arrives, SSE streams included. Every
exchange is recorded into the store as the preload would record it, in a session of the
relay's own. Stops on Ctrl-C; the last line on stderr is `clawtrace: session ID`.

--upstream URL           where requests go (e.g. https://api.anthropic.com)
--upstream-for NAME=URL  requests under /NAME/ go to URL instead (e.g.
                         openai=https://api.openai.com/v1: base URL http://ADDRESS:PORT/openai)
--listen ADDRESS:PORT    default 127.0.0.1:8378 (port 0 picks a free one). Any address other
                         than loopback requires a token
--cacert FILE            trust FILE's certificates for the upstream (default: $CURL_CA_BUNDLE,
                         $SSL_CERT_FILE, else the system's)
--token T                every request path must begin with /T (base URL http://A:P/T/…);
                         generated and printed when binding off loopback without one
--name N, --tag K=V      the session's name and tags, as for `clawtrace run`
--ready-file FILE        written once listening: {"url": …, "port": …, "session": …}
)";

struct RelayArgs {
  relay::RelayOptions options;
  relay::SessionSpec session;
  std::string ready_file;
};

Result<void> parse_listen(const std::string& v, relay::RelayOptions& o) {
  const size_t colon = v.rfind(':');
  if (colon == std::string::npos) return fail("--listen needs ADDRESS:PORT, got '" + v + "'");
  std::string host = v.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  const std::string port = v.substr(colon + 1);
  const unsigned long p = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end || p > 65535) return fail("--listen needs a port from 0 to 65535, got '" + port + "'");
  o.bind = host.empty() ? "127.0.0.1" : host;
  o.port = static_cast<uint16_t>(p);
  return {};
}

Result<RelayArgs> parse(const std::vector<std::string>& args) {
  RelayArgs r;
  r.options.port = 8378;
  r.session.argv = {"clawtrace", "relay"};
  r.session.argv.insert(r.session.argv.end(), args.begin(), args.end());
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    static const char* const kWithValue[] = {"--upstream", "--upstream-for", "--listen", "--cacert",
                                             "--token",    "--name",         "--tag",    "--ready-file"};
    if (std::find(std::begin(kWithValue), std::end(kWithValue), a) == std::end(kWithValue))
      return fail((a.empty() || a[0] != '-' ? "unexpected argument '" : "unknown option '") + a + "'");
    if (i + 1 >= args.size()) return fail(a + " needs a value");
    const std::string& v = args[++i];
    Result<void> ok;
    if (a == "--upstream" || a == "--upstream-for") {
      auto m = a == "--upstream" ? relay::default_mount(v) : relay::parse_mount(v);
      if (!m) return fail(a + ": " + m.error());
      r.options.mounts.push_back(*m);
    } else if (a == "--listen") {
      ok = parse_listen(v, r.options);
    } else if (a == "--cacert") {
      r.options.ca_file = v;
    } else if (a == "--token") {
      if (v.empty()) return fail("--token needs a non-empty value");
      r.options.token = v;
    } else if (a == "--name") {
      r.session.name = v;
    } else if (a == "--tag") {
      if (v.find('=') == 0 || v.find('=') == std::string::npos || v.find(',') != std::string::npos)
        return fail("--tag takes K=V (no commas), got '" + v + "'");
      r.session.tags += (r.session.tags.empty() ? "" : ",") + v;
    } else {
      r.ready_file = v;
    }
    if (!ok) return fail(ok.error());
  }
  if (r.options.mounts.empty()) return fail("--upstream or --upstream-for is required");
  if (r.session.name.empty()) r.session.name = "relay";
  if (r.options.ca_file.empty()) r.options.ca_file = relay::ca_file_from_environment();
  return r;
}

void write_ready_file(const std::string& path, const std::string& url, uint16_t port, const std::string& session) {
  if (path.empty()) return;
  const boost::json::object o{{"url", url}, {"port", port}, {"session", session}, {"pid", getpid()}};
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << boost::json::serialize(o) << "\n";
  std::error_code ec;
  fs::rename(tmp, path, ec);
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return set;
}

// Until SIGINT/SIGTERM/SIGHUP: ingests what the relay recorded, so the store follows the
// traffic live — on this thread only, at nice 10 (Linux nice values are per thread), and
// busy at most a tenth of the time, as `clawtrace run` does: forwarding comes first.
void serve_until_signal(Store& store) {
  (void)setpriority(PRIO_PROCESS, 0, 10);  // failing only means ingestion competes as before
  const sigset_t set = stop_signals();
  using clock = std::chrono::steady_clock;
  constexpr auto kPeriod = std::chrono::seconds(1);
  constexpr int kDutyFactor = 10;
  for (;;) {
    const auto start = clock::now();
    (void)ingest_pending(store);  // errors surface at the final pass
    const auto pause = std::max<clock::duration>(kPeriod, (clock::now() - start) * kDutyFactor);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(pause).count();
    const timespec wait{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    if (sigtimedwait(&set, nullptr, &wait) >= 0) return;
  }
}

}  // namespace

int cmd_relay(const Globals& g, const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  auto parsed = parse(args);
  if (!parsed) return usage_error("relay", parsed.error());
  RelayArgs& a = *parsed;
  const bool minted = !serve::is_loopback(a.options.bind) && a.options.token.empty();
  if (minted) a.options.token = random_token();

  // Serving never waits on the store: only its directories before, LMDB once forwarding runs
  // (another process may hold its write lock for a while).
  std::error_code ec;
  const fs::path store_dir = fs::absolute(g.store_dir, ec);
  if (auto made = Store::create_dirs(store_dir); !made) return error("cannot use the trace store: " + made.error());
  a.session.spool_dir = Store::spool_dir_of(store_dir);
  a.session.trace_hi = sys::random_id();
  a.session.trace_lo = sys::random_id();
  // Signals are taken by sigtimedwait below; blocked before any thread starts, so every
  // thread inherits the mask and none is interrupted by them.
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto relay = relay::start_relay_session(a.options, a.session);
  if (!relay) return error(relay.error());
  const std::string session = hex_id(relay->recorder->session());
  const uint16_t port = relay->server->port();
  const std::string host = a.options.bind.find(':') != std::string::npos ? "[" + a.options.bind + "]" : a.options.bind;
  const std::string url = "http://" + host + ":" + std::to_string(port) + (a.options.token.empty() ? "" : "/" + a.options.token);
  std::fprintf(stderr, "clawtrace relay: listening on %s (session %s)\n", url.c_str(), session.c_str());
  for (const auto& m : a.options.mounts)
    std::fprintf(stderr, "  %s%s/ -> %s\n", url.c_str(), m.prefix.c_str(), m.upstream.c_str());
  if (minted) std::fprintf(stderr, "clawtrace relay: token %s (generated: binding off loopback)\n", a.options.token.c_str());
  write_ready_file(a.ready_file, url, port, session);

  auto store = Store::open(store_dir);
  if (store) {
    serve_until_signal(**store);
  } else {
    error("cannot open the trace store: " + store.error() + "; recording into its spool only");
    int sig = 0;
    sigwait(&set, &sig);  // the stop signals, blocked above
  }
  relay->server.reset();    // every exchange finished or cut
  relay->recorder.reset();  // the session's end
  if (store)
    if (auto done = ingest_pending(**store); !done) error("ingesting: " + done.error());
  std::fprintf(stderr, "clawtrace: session %s\n", session.c_str());
  return 0;
}

}  // namespace clawtrace::cli
