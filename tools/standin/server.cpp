// Listeners, connections (one thread each) and the exchange: request → script → format →
// wire, with one log line per exchange.
#include "standin.h"

#include "exchange_log.h"
#include "formats.h"
#include "response.h"
#include "script.h"
#include "tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>

namespace clawtrace::standin {

namespace {

int g_wake_fd = -1;  // the write end of the self-pipe, for the signal handler

extern "C" void on_stop_signal(int) {
  char c = 's';
  ssize_t ignored = ::write(g_wake_fd, &c, 1);
  (void)ignored;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

struct Listener {
  int fd = -1;
  int port = -1;
  bool tls = false;
};

Result<Listener> listen_on(int port, bool tls) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return fail("listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
  return Listener{fd, ntohs(addr.sin_port), tls};
}

void tune_connection(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // pieces leave when written
  timeval idle{120, 0};  // an idle keep-alive connection does not hold its thread forever
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
}

Result<void> write_ready_file(const std::string& path, const json::object& ready) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return fail("cannot write " + tmp + ": " + std::strerror(errno));
  std::string text = json::serialize(ready) + "\n";
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot write " + path);
  return {};
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Rendered json_reply(int status, const json::value& body) {
  Rendered out;
  out.status = status;
  out.content_type = std::string(kJsonType);
  out.pieces.push_back(json::serialize(body));
  return out;
}

// Both the OpenAI and the Anthropic list shapes in one object, so either SDK can read it.
Rendered models_list() {
  json::array data;
  auto add = [&](std::string_view id, std::string_view name, std::string_view owner) {
    data.push_back(json::object{{"id", id}, {"object", "model"}, {"type", "model"}, {"display_name", name},
                                {"created", 1759104000}, {"created_at", "2025-09-29T00:00:00Z"}, {"owned_by", owner}});
  };
  add("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5 (stand-in)", "anthropic");
  add("gpt-4o-mini-2024-07-18", "GPT-4o mini (stand-in)", "openai");
  add("gemini-2.5-flash", "Gemini 2.5 Flash (stand-in)", "google");
  return json_reply(200, json::object{{"object", "list"}, {"data", data}, {"has_more", false},
                                      {"first_id", data.front().at("id")}, {"last_id", data.back().at("id")}});
}

Rendered ollama_tags() {
  json::object model{{"name", "llama3.2:latest"}, {"model", "llama3.2:latest"}, {"size", 2019393189},
                     {"digest", "standin"}, {"modified_at", "2025-09-29T00:00:00Z"}};
  return json_reply(200, json::object{{"models", json::array{model}}});
}

Rendered not_found(const HttpRequest& req) {
  std::string message = "the stand-in has no route for " + req.method + " " + req.path();
  return json_reply(404, json::object{{"type", "error"}, {"error", {{"type", "not_found_error"}, {"message", message}}}});
}

struct Prepared {
  Rendered rendered;
  Reply reply;
  bool stream = false;
};

struct Connection {
  std::uint64_t id = 0;
  bool tls = false;
  std::uint64_t exchanges = 0;
  bool cut = false;  // a scripted drop: end without a TLS close_notify
};

class Server {
 public:
  Server(const Options& options, Script script, std::unique_ptr<TlsServer> tls, std::unique_ptr<ExchangeLog> log)
      : options_(options), scripter_(std::move(script)), tls_(std::move(tls)), log_(std::move(log)) {}

  Result<void> start(int wake_read, int wake_write);
  void accept_loop();
  // True when every connection thread has ended.
  bool stop_and_wait();

 private:
  void spawn(int fd, bool tls);
  void serve(int fd, bool tls, std::uint64_t id);
  void serve_requests(Transport& transport, Connection& conn);
  bool exchange(Transport& transport, Connection& conn, const HttpRequest& req);
  void reject(Transport& transport, Connection& conn, const HttpRequest& req, ReadOutcome why,
              const std::string& error);
  Prepared prepare(const HttpRequest& req, std::uint64_t seq, json::object& log);
  Prepared llm_exchange(const HttpRequest& req, std::string_view api, std::uint64_t seq, json::object& log);
  Prepared special(const HttpRequest& req, const std::string& path, json::object& log);
  json::object request_log(const HttpRequest& req, const Connection& conn, std::uint64_t seq) const;
  // Whether the connection can carry another exchange afterwards.
  bool deliver(Transport& transport, const HttpRequest& req, const Prepared& prepared, json::object& log);
  void count_exchange();
  bool pause(int ms);
  bool stopping() const { return stopping_.load(); }
  void forget(int fd);

  Options options_;
  Scripter scripter_;
  std::unique_ptr<TlsServer> tls_;
  std::unique_ptr<ExchangeLog> log_;
  std::vector<Listener> listeners_;
  int wake_read_ = -1;
  int wake_write_ = -1;

  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> tool_serial_{0};
  std::atomic<std::uint64_t> conn_ids_{0};
  std::atomic<std::uint64_t> completed_{0};

  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;

  std::mutex conns_mu_;
  std::condition_variable conns_cv_;
  std::set<int> open_fds_;
  int active_ = 0;
};

Result<void> Server::start(int wake_read, int wake_write) {
  wake_read_ = wake_read;
  wake_write_ = wake_write;
  json::object ready{{"http", nullptr}, {"https", nullptr}, {"cert", nullptr}, {"pid", ::getpid()}};
  for (auto [port, tls] : {std::pair{options_.http_port, false}, std::pair{options_.https_port, true}}) {
    if (port < 0) continue;
    Result<Listener> l = listen_on(port, tls);
    if (!l) return fail(l.error());
    listeners_.push_back(*l);
    ready[tls ? "https" : "http"] = l->port;
  }
  if (tls_) ready["cert"] = tls_->cert_path();
  ready["log"] = options_.log_path.empty() ? json::value(nullptr) : json::value(options_.log_path);
  if (options_.ready_path.empty()) return {};
  return write_ready_file(options_.ready_path, ready);
}

void Server::accept_loop() {
  std::vector<pollfd> fds;
  for (const Listener& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
  fds.push_back({wake_read_, POLLIN, 0});
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds.back().revents) return;
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      int fd = ::accept4(listeners_[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) spawn(fd, listeners_[i].tls);
    }
  }
}

bool Server::stop_and_wait() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  for (const Listener& l : listeners_) ::close(l.fd);
  std::unique_lock lock(conns_mu_);
  for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  return conns_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return active_ == 0; });
}

void Server::spawn(int fd, bool tls) {
  {
    std::lock_guard lock(conns_mu_);
    open_fds_.insert(fd);
    ++active_;
  }
  try {
    std::thread([this, fd, tls, id = ++conn_ids_] {
      serve(fd, tls, id);
      TlsServer::thread_done();
      std::lock_guard lock(conns_mu_);
      --active_;
      conns_cv_.notify_all();
    }).detach();
  } catch (const std::system_error&) {
    forget(fd);
    ::close(fd);
    std::lock_guard lock(conns_mu_);
    --active_;
  }
}

// Called before a socket is closed, so stop_and_wait never touches a reused descriptor.
void Server::forget(int fd) {
  std::lock_guard lock(conns_mu_);
  open_fds_.erase(fd);
}

void Server::serve(int fd, bool tls, std::uint64_t id) {
  tune_connection(fd);
  std::unique_ptr<Transport> transport;
  if (tls) {
    Result<std::unique_ptr<Transport>> accepted = tls_->accept(fd);
    if (!accepted) {
      forget(fd);
      ::close(fd);
      return;
    }
    transport = std::move(*accepted);
  } else {
    transport = make_plain_transport(fd);
  }
  Connection conn{id, tls, 0, false};
  serve_requests(*transport, conn);
  forget(fd);
  transport->close(!conn.cut);
}

void Server::serve_requests(Transport& transport, Connection& conn) {
  RequestReader reader(transport);
  while (!stopping()) {
    HttpRequest req;
    std::string error;
    ReadOutcome got = reader.next(req, error);
    if (got == ReadOutcome::closed || stopping()) return;
    if (got != ReadOutcome::request) return reject(transport, conn, req, got, error);
    if (!exchange(transport, conn, req)) return;
  }
}

json::object Server::request_log(const HttpRequest& req, const Connection& conn, std::uint64_t seq) const {
  return {{"seq", seq},
          {"time", utc_now()},
          {"conn", conn.id},
          {"conn_exchange", conn.exchanges},
          {"tls", conn.tls},
          {"method", req.method},
          {"path", mask_query_secrets(req.target)},
          {"api", kOther},
          {"model", nullptr},
          {"stream", false},
          {"rule", nullptr},
          {"status", 0},
          {"model_returned", nullptr},
          {"text", ""},
          {"thinking", ""},
          {"tool_calls", json::array{}},
          {"usage", nullptr},
          {"stop_reason", nullptr},
          {"request_headers", header_names(req.headers)},
          {"request_body_bytes", req.body.size()},
          {"request_body_wire_bytes", req.body_wire_bytes},
          {"request_content_encoding", req.content_encoding.empty() ? "identity" : req.content_encoding},
          {"request_chunked", req.chunked},
          {"continue_sent", req.continue_sent},
          {"credentials", carries_credentials(req)}};
}

// Returns whether the connection stays open for another request.
bool Server::exchange(Transport& transport, Connection& conn, const HttpRequest& req) {
  ++conn.exchanges;
  std::uint64_t seq = ++seq_;
  json::object log = request_log(req, conn, seq);
  Prepared prepared = prepare(req, seq, log);
  conn.cut = prepared.reply.drop_after_bytes.has_value();
  bool reusable = deliver(transport, req, prepared, log);
  count_exchange();
  return reusable;
}

void Server::reject(Transport& transport, Connection& conn, const HttpRequest& req, ReadOutcome why,
                    const std::string& error) {
  ++conn.exchanges;
  std::uint64_t seq = ++seq_;
  json::object log = request_log(req, conn, seq);
  int status = why == ReadOutcome::too_large ? 413 : 400;
  Prepared prepared{json_reply(status, json::object{{"type", "error"},
                                                     {"error", {{"type", "invalid_request_error"}, {"message", error}}}}),
                    Reply{}, false};
  prepared.reply.transfer = "close";
  log["error"] = error;
  deliver(transport, req, prepared, log);
  count_exchange();
}

Prepared Server::prepare(const HttpRequest& req, std::uint64_t seq, json::object& log) {
  std::string path = req.path();
  std::string_view api = detect_api(req.method, path);
  if (api == kOther) return special(req, path, log);
  log["api"] = api;
  return llm_exchange(req, api, seq, log);
}

Prepared Server::special(const HttpRequest& req, const std::string& path, json::object& log) {
  if (req.method == "GET" && path.ends_with("/models")) return {models_list(), Reply{}, false};
  if (req.method == "GET" && path == "/api/tags") return {ollama_tags(), Reply{}, false};
  if (req.method == "POST" && path.ends_with("/messages/count_tokens")) {
    json::object usage{{"input_tokens", std::max<std::size_t>(1, req.body.size() / 4)}};
    log["usage"] = usage;
    return {json_reply(200, usage), Reply{}, false};
  }
  log["error"] = "no route";
  return {not_found(req), Reply{}, false};
}

Prepared Server::llm_exchange(const HttpRequest& req, std::string_view api, std::uint64_t seq, json::object& log) {
  const Format* format = format_for(api);
  Resolved res;
  res.serial = seq;
  res.created = unix_now();
  boost::system::error_code ec;
  json::value body = parse_json(req.body, ec);
  if (ec || !body.is_object()) {
    log["error"] = "request body is not a JSON object";
    return {format->error(400, "request body is not a JSON object", res), Reply{}, false};
  }
  RequestInfo info = format->inspect(body, req.target);
  log["model"] = info.model;
  log["stream"] = info.stream;
  Choice choice = scripter_.choose(info, req.path());
  log["rule"] = choice.rule;
  Prepared prepared{{}, std::move(choice.reply), info.stream};
  const Reply& reply = prepared.reply;
  if (reply.status >= 300) {
    std::string message = reply.error_message.empty() ? "stand-in scripted error " + std::to_string(reply.status)
                                                      : reply.error_message;
    log["error"] = message;
    prepared.rendered = format->error(reply.status, message, res);
    prepared.stream = false;
    return prepared;
  }
  res.model = reply.model.empty() ? default_model(api, info.model) : reply.model;
  res.usage = reply.usage ? *reply.usage : derive_usage(req.body.size(), reply);
  for (std::size_t i = 0; i < reply.tool_calls.size(); ++i) res.tool_serials.push_back(++tool_serial_);
  prepared.rendered = format->render(info, reply, res);
  prepared.rendered.status = reply.status;
  return prepared;
}

WirePlan wire_plan(const HttpRequest& req, const Prepared& prepared) {
  const Reply& reply = prepared.reply;
  WirePlan plan;
  plan.gzip = reply.gzip && req.accepts_gzip();
  plan.chunk_size = reply.chunk_size;
  plan.delay_ms = reply.delay_ms;
  plan.drop_after = reply.drop_after_bytes;
  plan.transfer = !reply.transfer.empty() ? reply.transfer : prepared.stream ? "chunked" : "length";
  if (req.version == "HTTP/1.0" && plan.transfer == "chunked") plan.transfer = "close";
  plan.close_after = req.wants_close();
  plan.head_only = req.method == "HEAD";
  return plan;
}

HeaderList extra_headers(const Prepared& prepared) {
  const Reply& reply = prepared.reply;
  HeaderList headers{{"Server", "clawtrace-standin"}};
  headers.insert(headers.end(), prepared.rendered.headers.begin(), prepared.rendered.headers.end());
  if (prepared.stream) headers.emplace_back("Cache-Control", "no-cache");
  if (reply.retry_after) headers.emplace_back("retry-after", std::to_string(*reply.retry_after));
  if (reply.should_retry) headers.emplace_back("x-should-retry", *reply.should_retry ? "true" : "false");
  return headers;
}

void log_wire(json::object& log, const Rendered& rendered, const WirePlan& plan, const Outgoing& out) {
  for (const auto& kv : rendered.log) log[kv.key()] = kv.value();
  log["status"] = rendered.status;
  log["content_type"] = rendered.content_type;
  log["content_encoding"] = plan.gzip ? "gzip" : "identity";
  log["transfer"] = plan.transfer;
  log["chunk_size"] = plan.chunk_size;
  log["delay_ms"] = plan.delay_ms;
  log["response_bytes"] = out.sent_bytes();
  log["body_bytes"] = out.entity_bytes;
  log["decoded_body_bytes"] = out.decoded_bytes;
  log["dropped_after_bytes"] = plan.drop_after ? json::value(*plan.drop_after) : json::value(nullptr);
}

bool Server::deliver(Transport& transport, const HttpRequest& req, const Prepared& prepared, json::object& log) {
  WirePlan plan = wire_plan(req, prepared);
  Outgoing out = build_outgoing(prepared.rendered, plan, extra_headers(prepared));
  log_wire(log, prepared.rendered, plan, out);
  bool logged = false;
  auto write_log = [&] {
    log_->write(log);
    logged = true;
  };
  bool sent = send_outgoing(transport, out, write_log, [this](int ms) { return pause(ms); });
  if (!logged) {  // the client left (or the server is stopping) before the last piece
    log["write_failed"] = true;
    log_->write(log);
  }
  return sent && !plan.close_after && plan.transfer != "close";
}

void Server::count_exchange() {
  if (options_.max_requests == 0 || ++completed_ != options_.max_requests) return;
  char c = 'm';
  ssize_t ignored = ::write(wake_write_, &c, 1);
  (void)ignored;
}

bool Server::pause(int ms) {
  std::unique_lock lock(stop_mu_);
  return !stop_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
}

}  // namespace

Result<void> run(const Options& options) {
  Options opts = options;
  if (opts.http_port < 0 && opts.https_port < 0) opts.http_port = 0;
  Script script;
  if (!opts.script_path.empty()) {
    Result<Script> loaded = load_script(opts.script_path);
    if (!loaded) return fail(loaded.error());
    script = std::move(*loaded);
  }
  std::unique_ptr<TlsServer> tls;
  if (opts.https_port >= 0) {
    Result<std::unique_ptr<TlsServer>> made = TlsServer::create(opts.cert_dir);
    if (!made) return fail(made.error());
    tls = std::move(*made);
  }
  Result<std::unique_ptr<ExchangeLog>> log = ExchangeLog::open(opts.log_path);
  if (!log) return fail(log.error());
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return fail(std::string("pipe: ") + std::strerror(errno));
  g_wake_fd = wake[1];
  install_signal_handlers();
  auto server = std::make_unique<Server>(opts, std::move(script), std::move(tls), std::move(*log));
  if (Result<void> started = server->start(wake[0], wake[1]); !started) return started;
  server->accept_loop();
  if (!server->stop_and_wait()) (void)server.release();  // threads still running keep it alive
  return {};
}

}  // namespace clawtrace::standin
