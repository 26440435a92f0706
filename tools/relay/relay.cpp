#include "relay.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "recorder.h"
#include "text.h"

namespace clawtrace::relay {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kHeaderLimit = 64 * 1024;

// Headers that describe one hop, not the request: each side of the relay sets its own.
bool hop_by_hop(std::string_view name) {
  static const char* const kNames[] = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te",
                                       "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect"};
  const std::string n = text::lower(name);
  return std::any_of(std::begin(kNames), std::end(kNames), [&](const char* k) { return n == k; });
}

struct Upstream {
  std::string origin;     // scheme://host[:port]
  std::string host;       // host[:port], as a Host header names it
  std::string base_path;  // without a trailing '/'
};

Result<Upstream> parse_upstream(const std::string& url) {
  CURLU* u = curl_url();
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> guard(u, curl_url_cleanup);
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return fail("not a URL: '" + url + "'");
  auto part = [&](CURLUPart p) {
    char* v = nullptr;
    std::string s;
    if (curl_url_get(u, p, &v, 0) == CURLUE_OK && v) s = v;
    curl_free(v);
    return s;
  };
  const std::string scheme = part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https") return fail("upstream must be http:// or https://, got '" + url + "'");
  if (!part(CURLUPART_QUERY).empty()) return fail("upstream URL cannot have a query: '" + url + "'");
  Upstream up;
  up.host = part(CURLUPART_HOST);
  if (const std::string port = part(CURLUPART_PORT); !port.empty()) up.host += ":" + port;
  up.origin = scheme + "://" + up.host;
  up.base_path = part(CURLUPART_PATH);
  while (!up.base_path.empty() && up.base_path.back() == '/') up.base_path.pop_back();
  return up;
}

struct Route {
  Upstream upstream;
  std::string path;  // upstream path and query
};

// The longest mount prefix that the target starts with, at a path-segment boundary.
std::optional<Route> route(const std::vector<std::pair<std::string, Upstream>>& mounts, std::string_view target) {
  const std::pair<std::string, Upstream>* best = nullptr;
  for (const auto& m : mounts) {
    const std::string& p = m.first;
    if (!target.starts_with(p)) continue;
    if (target.size() > p.size() && !p.empty() && target[p.size()] != '/' && target[p.size()] != '?') continue;
    if (!best || p.size() > best->first.size()) best = &m;
  }
  if (!best) return std::nullopt;
  std::string rest(target.substr(best->first.size()));
  Route r{best->second, best->second.base_path + rest};
  if (r.path.empty() || r.path[0] == '?') r.path = "/" + r.path;
  return r;
}

std::string json_error(std::string_view type, std::string_view message) {
  boost::json::object e{{"type", type}, {"message", message}};
  return boost::json::serialize(boost::json::object{{"error", e}});
}

// The target without its /TOKEN prefix, or nullopt when the token is missing or wrong.
std::optional<std::string_view> strip_token(std::string_view target, const std::string& token) {
  if (token.empty()) return target;
  if (target.size() < 1 || target[0] != '/') return std::nullopt;
  const size_t end = std::min(target.find_first_of("/?", 1), target.size());
  if (!text::constant_time_equal(target.substr(1, end - 1), token)) return std::nullopt;
  return target.substr(end);
}

bool respond_error(tcp::socket& socket, http::status status, std::string_view type, const std::string& message,
                   bool keep_alive) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = json_error(type, "clawtrace relay: " + message);
  res.prepare_payload();
  beast::error_code ec;
  http::write(socket, res, ec);
  return !ec && keep_alive;
}

// One exchange forwarded with libcurl; the callbacks write to the client as data arrives.
class Forward {
 public:
  Forward(tcp::socket& client, RecordedExchange* record, const std::atomic<bool>& stopping,
          const http::request<http::string_body>& req)
      : client_(client),
        record_(record),
        stopping_(stopping),
        head_only_(req.method() == http::verb::head),
        http10_(req.version() < 11),
        keep_alive_(req.keep_alive() && !http10_) {}

  // Returns whether the client connection can carry another request.
  bool run(CURL* curl, const http::request<http::string_body>& req, const Route& r, const RelayOptions& opt);

 private:
  static size_t on_header(char* data, size_t size, size_t n, void* self);
  static size_t on_body(char* data, size_t size, size_t n, void* self);
  static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
  bool send_head();
  bool send(std::string_view framing, std::string_view data, std::string_view trailer);
  // HTTP/1.0 clients get the body delimited by the connection's end: they know no chunks.
  bool chunked() const { return !head_only_ && !http10_ && status_ != 204 && status_ != 304; }

  tcp::socket& client_;
  RecordedExchange* record_;
  const std::atomic<bool>& stopping_;
  bool head_only_;
  bool http10_;
  bool keep_alive_;
  int status_ = 0;
  std::vector<std::string> headers_;  // "Name: value" of the final response
  bool head_sent_ = false;
  bool client_gone_ = false;
};

size_t Forward::on_header(char* data, size_t size, size_t n, void* self) {
  auto& f = *static_cast<Forward*>(self);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {  // a new response (after a 1xx, or the first)
    f.status_ = 0;
    f.headers_.clear();
    const size_t sp = line.find(' ');
    if (sp != std::string_view::npos) f.status_ = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
  } else if (line.empty()) {
    if (f.status_ >= 200 && !f.send_head()) return 0;
  } else if (!hop_by_hop(line.substr(0, line.find(':')))) {
    f.headers_.emplace_back(line);
  }
  return size * n;
}

size_t Forward::on_body(char* data, size_t size, size_t n, void* self) {
  auto& f = *static_cast<Forward*>(self);
  const size_t len = size * n;
  if (len == 0) return 0;
  if (!f.head_sent_ && !f.send_head()) return 0;
  if (!f.chunked()) return f.send({}, std::string_view(data, len), {}) ? len : 0;
  char size_line[32];
  const int k = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
  return f.send(std::string_view(size_line, static_cast<size_t>(k)), std::string_view(data, len), "\r\n") ? len : 0;
}

int Forward::on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Forward*>(self)->stopping_.load(std::memory_order_relaxed) ? 1 : 0;
}

bool Forward::send_head() {
  if (head_sent_) return true;
  head_sent_ = true;
  std::string head = "HTTP/1.1 " + std::to_string(status_) + " " +
                     std::string(http::obsolete_reason(static_cast<http::status>(status_))) + "\r\n";
  for (const auto& h : headers_) head += h + "\r\n";
  if (chunked()) head += "Transfer-Encoding: chunked\r\n";
  if (!keep_alive_) head += "Connection: close\r\n";
  head += "\r\n";
  return send(head, {}, {});
}

// Writes to the client, then records the same bytes.
bool Forward::send(std::string_view framing, std::string_view data, std::string_view trailer) {
  if (client_gone_) return false;
  const std::array<asio::const_buffer, 3> bufs{asio::buffer(framing), asio::buffer(data), asio::buffer(trailer)};
  beast::error_code ec;
  asio::write(client_, bufs, ec);
  if (ec) {
    client_gone_ = true;
    return false;
  }
  if (record_) {  // one record for the piece, not three
    std::string piece;
    piece.reserve(framing.size() + data.size() + trailer.size());
    piece.append(framing).append(data).append(trailer);
    record_->received(piece);
  }
  return true;
}

void set_request(CURL* curl, const http::request<http::string_body>& req, curl_slist* headers) {
  const std::string method(req.method_string());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (req.method() == http::verb::head) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method() == http::verb::get && req.body().empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body().data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body().size()));
    if (req.method() != http::verb::post) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
}

// The request as it goes upstream, in HTTP/1.1 form: what ingestion reads.
std::string request_bytes(const http::request<http::string_body>& req, const Route& r,
                          const std::vector<std::string>& forwarded) {
  std::string out = std::string(req.method_string()) + " " + r.path + " HTTP/1.1\r\nHost: " + r.upstream.host + "\r\n";
  for (const auto& h : forwarded) out += h + "\r\n";
  if (!req.body().empty() || req.method() == http::verb::post)
    out += "Content-Length: " + std::to_string(req.body().size()) + "\r\n";
  out += "\r\n";
  out += req.body();
  return out;
}

bool Forward::run(CURL* curl, const http::request<http::string_body>& req, const Route& r, const RelayOptions& opt) {
  std::vector<std::string> forwarded;
  bool has_accept = false;
  for (const auto& field : req) {
    if (hop_by_hop(field.name_string())) continue;
    if (text::lower(field.name_string()) == "accept") has_accept = true;
    forwarded.push_back(std::string(field.name_string()) + ": " + std::string(field.value()));
  }
  curl_slist* headers = nullptr;
  for (const auto& h : forwarded) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (!has_accept) headers = curl_slist_append(headers, "Accept:");  // nor curl's default
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> free_headers(headers, curl_slist_free_all);

  const std::string url = r.upstream.origin + r.path;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  set_request(curl, req, headers);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, opt.connect_timeout_s);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // a stalled upstream, not a slow one
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 600L);
  if (!opt.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, opt.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Forward::on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Forward::on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Forward::on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);

  if (record_) record_->sent(request_bytes(req, r, forwarded));
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    if (!send_head()) return false;
    return (!chunked() || send("0\r\n\r\n", {}, {})) && keep_alive_;
  }
  if (head_sent_ || client_gone_) return false;  // cut mid-response: the client sees it cut too
  // Nothing came back: the client gets a gateway error naming the cause, never silence.
  return respond_error(client_, http::status::bad_gateway, "relay_upstream_error",
                       url + ": " + (*error ? error : curl_easy_strerror(rc)), keep_alive_);
}

}  // namespace

Result<Mount> default_mount(const std::string& url) {
  if (auto up = parse_upstream(url); !up) return fail(up.error());
  return Mount{"", url};
}

Result<Mount> parse_mount(const std::string& name_eq_url) {
  const size_t eq = name_eq_url.find('=');
  if (eq == 0 || eq == std::string::npos) return fail("expected NAME=URL, got '" + name_eq_url + "'");
  const std::string name = name_eq_url.substr(0, eq);
  if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
    return fail("a mount name is lower-case letters, digits, '-' and '_', got '" + name + "'");
  const std::string url = name_eq_url.substr(eq + 1);
  if (auto up = parse_upstream(url); !up) return fail(up.error());
  return Mount{"/" + name, url};
}

struct RelayServer::Impl {
  RelayOptions options;
  Recorder* recorder = nullptr;
  std::vector<std::pair<std::string, Upstream>> mounts;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable idle;
  std::map<uint64_t, tcp::socket*> clients;  // open connections, to end them on stop
  uint64_t next_client = 0;

  void accept_loop();
  void serve(tcp::socket socket, uint64_t id);
  bool handle(tcp::socket& socket, CURL* curl, const http::request<http::string_body>& req);
};

void RelayServer::Impl::accept_loop() {
  while (!stopping.load()) {
    tcp::socket socket(io);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) {
      if (stopping.load()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // EMFILE and the like
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::lock_guard lock(mu);
    const uint64_t id = next_client++;
    std::thread([this, id, s = std::move(socket)]() mutable { serve(std::move(s), id); }).detach();
    clients[id] = nullptr;  // registered before the thread can unregister it
  }
}

void RelayServer::Impl::serve(tcp::socket socket, uint64_t id) {
  {
    std::lock_guard lock(mu);
    clients[id] = &socket;
  }
  CURL* curl = curl_easy_init();
  beast::flat_buffer buffer;
  buffer.reserve(64 * 1024);  // Beast reads up to the free capacity: 512-byte reads otherwise
  while (curl && !stopping.load()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options.max_body_bytes);
    beast::error_code ec;
    http::read(socket, buffer, parser, ec);
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset) break;
    if (ec) {
      const bool too_big = ec == http::error::body_limit || ec == http::error::header_limit;
      respond_error(socket, too_big ? http::status::payload_too_large : http::status::bad_request, "relay_bad_request",
                    ec.message(), false);
      break;
    }
    if (!handle(socket, curl, parser.get())) break;
  }
  if (curl) curl_easy_cleanup(curl);
  // OpenSSL's state for this thread (random generators) goes now, not at the thread's exit,
  // which may come after the process's: LeakSanitizer reported it in the stand-in.
  OPENSSL_thread_stop();
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  std::lock_guard lock(mu);
  clients.erase(id);
  socket.close(ignored);
  if (clients.empty()) idle.notify_all();
}

bool RelayServer::Impl::handle(tcp::socket& socket, CURL* curl, const http::request<http::string_body>& req) {
  const std::string_view raw(req.target().data(), req.target().size());
  // Origin form only: the path is appended to the upstream URL, so "@host/…" or an absolute
  // URL must never reach it (it would name another host).
  if (raw.empty() || raw[0] != '/')
    return respond_error(socket, http::status::bad_request, "relay_bad_request",
                         "the request target must be a path beginning with '/'", false);
  auto target = strip_token(raw, options.token);
  if (!target) return respond_error(socket, http::status::unauthorized, "relay_unauthorized",
                                    "this relay needs its token as the first path segment", false);
  auto r = route(mounts, *target);
  if (!r) {
    std::string names;
    for (const auto& m : mounts) names += (names.empty() ? "" : ", ") + m.first + "/";
    return respond_error(socket, http::status::not_found, "relay_no_upstream",
                         "no upstream for " + std::string(*target) + " (paths served: " + names + ")", req.keep_alive());
  }
  std::optional<RecordedExchange> record;
  if (recorder) record.emplace(*recorder, r->upstream.host);
  Forward f(socket, record ? &*record : nullptr, stopping, req);
  return f.run(curl, req, *r, options);
}

RelayServer::RelayServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RelayServer::~RelayServer() { stop(); }

Result<std::unique_ptr<RelayServer>> RelayServer::start(const RelayOptions& options, Recorder* recorder) {
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);  // once, before any thread uses curl
  if (global != CURLE_OK) return fail(std::string("libcurl: ") + curl_easy_strerror(global));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->recorder = recorder;
  for (const auto& m : options.mounts) {
    auto up = parse_upstream(m.upstream);
    if (!up) return fail(up.error());
    impl->mounts.emplace_back(m.prefix, *up);
  }
  if (impl->mounts.empty()) return fail("no upstream given");
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.bind, ec);
  if (ec) return fail("not an IP address: '" + options.bind + "'");
  const tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on " + options.bind + ":" + std::to_string(options.port) + ": " + ec.message());
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->accept_loop(); });
  return std::unique_ptr<RelayServer>(new RelayServer(std::move(impl)));
}

uint16_t RelayServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void RelayServer::stop() {
  Impl& i = *impl_;
  if (i.stopping.exchange(true)) return;
  ::shutdown(i.acceptor.native_handle(), SHUT_RDWR);  // wakes the blocked accept
  if (i.accept_thread.joinable()) i.accept_thread.join();
  std::unique_lock lock(i.mu);
  for (auto& [id, s] : i.clients)
    if (s) ::shutdown(s->native_handle(), SHUT_RDWR);  // blocked reads and writes return
  i.idle.wait(lock, [&] { return i.clients.empty(); });
  beast::error_code ignored;
  i.acceptor.close(ignored);
}

}  // namespace clawtrace::relay
