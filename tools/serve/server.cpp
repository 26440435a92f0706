#include "server.h"

#include <array>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>

namespace clawtrace::serve {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(30);
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kMaxRequestBytes = 64 * 1024;  // GET only: headers and a query
constexpr size_t kMaxTargetBytes = 8 * 1024;    // the longest filter query is far shorter

http::response<http::string_body> to_beast(const http::request<http::string_body>& req, Response r) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
  res.set(http::field::server, "clawtrace");
  res.set(http::field::content_type, r.content_type);
  res.set("X-Content-Type-Options", "nosniff");
  for (auto& [k, v] : r.headers) res.insert(k, v);
  res.keep_alive(req.keep_alive());
  if (req.method() == http::verb::head) {
    res.content_length(r.body.size());
  } else {
    res.body() = std::move(r.body);
    res.prepare_payload();
  }
  return res;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Api& api) : stream_(std::move(socket)), api_(api) {}
  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestBytes);
    parser_->body_limit(kMaxRequestBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::header_limit)
      return request_line_too_long() ? refuse(http::status::uri_too_long, "the address is too long")
                                     : refuse(http::status::request_header_fields_too_large, "the request's headers are too large");
    if (ec == http::error::body_limit) return refuse(http::status::payload_too_large, "the request's body is too large");
    if (ec) return;  // timeout, reset, malformed request: drop the connection
    const auto& req = parser_->get();
    if (req.target().size() > kMaxTargetBytes) return refuse(http::status::uri_too_long, "the address is too long");
    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    if (auto it = req.find(http::field::authorization); it != req.end()) r.authorization = std::string(it->value());
    if (auto it = req.find(http::field::cookie); it != req.end()) r.cookie = std::string(it->value());
    if (auto it = req.find(http::field::host); it != req.end()) r.host = std::string(it->value());
    response_ = std::make_shared<http::response<http::string_body>>(to_beast(req, api_.handle(r)));
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::on_write, shared_from_this(), response_->keep_alive()));
  }

  void on_write(bool keep_alive, beast::error_code ec, size_t) {
    if (ec) return;
    if (!keep_alive) return close();
    response_.reset();
    read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // After header_limit: either the request line was read (its target is known), or it
  // was not (it is still at the start of the buffer, too long to end within the limit).
  bool request_line_too_long() const {
    if (const auto target = parser_->get().target(); !target.empty()) return target.size() > kMaxTargetBytes;
    const auto data = buffer_.cdata();
    const std::string_view head(static_cast<const char*>(data.data()), std::min(data.size(), kMaxTargetBytes + 64));
    const size_t eol = head.find('\n');
    return eol == std::string_view::npos || eol > kMaxTargetBytes;
  }

  // Answers an oversized request with its status, then closes without resetting: what the
  // client is still sending is read and dropped for a short while, so it gets the answer.
  void refuse(http::status status, const std::string& why) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "clawtrace");
    res->set(http::field::content_type, "application/json");
    res->keep_alive(false);
    res->body() = boost::json::serialize(boost::json::object{{"error", why}});
    res->prepare_payload();
    response_ = res;
    http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code, size_t) {
      self->close();
      self->stream_.expires_after(kLingerTimeout);
      self->drain();
    });
  }

  void drain() {
    stream_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->drain();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::array<char, 4096> discard_;
  Api& api_;
};

void accept(tcp::acceptor& acceptor, Api& api) {
  acceptor.async_accept([&acceptor, &api](beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket), api)->start();
    if (acceptor.is_open()) accept(acceptor, api);
  });
}

}  // namespace

bool is_loopback(const std::string& address) {
  if (address == "localhost") return true;
  beast::error_code ec;
  const auto a = asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

Result<void> run_server(Api& api, const ServerOptions& options, const std::function<void(uint16_t)>& on_listening) {
  asio::io_context io;
  beast::error_code ec;
  const std::string host = options.bind == "localhost" ? "127.0.0.1" : options.bind;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return fail("cannot bind '" + options.bind + "': not an IP address");
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("cannot listen on " + options.bind + ":" + std::to_string(options.port) + ": " + ec.message());
  on_listening(acceptor.local_endpoint().port());
  accept(acceptor, api);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    beast::error_code ignored;
    acceptor.close(ignored);
    io.stop();
  });
  io.run();
  return {};
}

}  // namespace clawtrace::serve
