#include "http.h"

#include "codec.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>

namespace clawtrace::standin {

namespace {

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}
  ~PlainTransport() override { close(true); }

  long read_some(char* buf, std::size_t n) override {
    for (;;) {
      ssize_t got = ::recv(fd_, buf, n, 0);
      if (got >= 0 || errno != EINTR) return static_cast<long>(got);
    }
  }

  bool write_all(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t put = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (put < 0 && errno == EINTR) continue;
      if (put <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(put));
    }
    return true;
  }

  void close(bool clean) override {
    if (fd_ < 0) return;
    if (clean) ::shutdown(fd_, SHUT_WR);
    ::close(fd_);
    fd_ = -1;
  }

  int fd() const override { return fd_; }

 private:
  int fd_;
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool icontains(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return lower(a) == lower(b); });
  return it != hay.end();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits the head into lines, tolerating bare LF endings.
std::vector<std::string_view> head_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    std::size_t nl = head.find('\n');
    std::string_view line = head.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    head.remove_prefix(nl + 1);
  }
  return lines;
}

bool parse_request_line(std::string_view line, HttpRequest& req) {
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(trim(line.substr(sp1 + 1, sp2 - sp1 - 1)));
  req.version = std::string(line.substr(sp2 + 1));
  return !req.method.empty() && !req.target.empty() && req.version.starts_with("HTTP/1.");
}

bool parse_header_line(std::string_view line, HeaderList& headers) {
  std::size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  if (name.find_first_of(" \t") != std::string_view::npos) return false;
  headers.emplace_back(std::string(name), std::string(trim(line.substr(colon + 1))));
  return true;
}

bool parse_size(std::string_view text, int base, std::size_t& out) {
  text = trim(text);
  if (text.empty() || text.size() > 15) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

// The last transfer coding must be chunked for a request body framed by the connection.
bool is_chunked(const std::string& transfer_encoding) {
  std::string_view te = trim(transfer_encoding);
  std::size_t comma = te.rfind(',');
  std::string_view last = trim(comma == std::string_view::npos ? te : te.substr(comma + 1));
  return iequals(last, "chunked");
}

}  // namespace

std::unique_ptr<Transport> make_plain_transport(int fd) {
  return std::make_unique<PlainTransport>(fd);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return &value;
  return nullptr;
}

bool HttpRequest::wants_close() const {
  const std::string* connection = header("connection");
  if (version == "HTTP/1.0") return !connection || !icontains(*connection, "keep-alive");
  return connection && icontains(*connection, "close");
}

bool HttpRequest::accepts_gzip() const {
  const std::string* accept = header("accept-encoding");
  return accept && icontains(*accept, "gzip");
}

std::string HttpRequest::path() const { return target.substr(0, target.find('?')); }

std::string HttpRequest::query() const {
  std::size_t q = target.find('?');
  return q == std::string::npos ? std::string() : target.substr(q + 1);
}

bool RequestReader::fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  char tmp[16384];
  long got = transport_.read_some(tmp, sizeof tmp);
  if (got <= 0) return false;
  buf_.append(tmp, static_cast<std::size_t>(got));
  return true;
}

ReadOutcome RequestReader::read_head(std::string& head) {
  for (;;) {
    while (pos_ < buf_.size() && (buf_[pos_] == '\r' || buf_[pos_] == '\n')) ++pos_;
    std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    std::size_t end = rest.find("\r\n\r\n");
    std::size_t skip = 4;
    if (end == std::string_view::npos) {
      end = rest.find("\n\n");
      skip = 2;
    }
    if (end != std::string_view::npos) {
      head.assign(rest.substr(0, end));
      pos_ += end + skip;
      return ReadOutcome::request;
    }
    if (rest.size() > kMaxHeadBytes) return ReadOutcome::too_large;
    bool had_bytes = !rest.empty();
    if (!fill()) return had_bytes ? ReadOutcome::bad_request : ReadOutcome::closed;
  }
}

ReadOutcome RequestReader::read_exact(std::size_t n, std::string& out) {
  while (buf_.size() - pos_ < n) {
    std::size_t have = buf_.size() - pos_;
    out.append(buf_, pos_, have);
    n -= have;
    pos_ = buf_.size();
    if (!fill()) return ReadOutcome::bad_request;
  }
  out.append(buf_, pos_, n);
  pos_ += n;
  return ReadOutcome::request;
}

ReadOutcome RequestReader::read_line(std::string& line) {
  for (;;) {
    std::size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line.assign(buf_, pos_, nl - pos_);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      pos_ = nl + 1;
      return ReadOutcome::request;
    }
    if (buf_.size() - pos_ > 4096) return ReadOutcome::bad_request;
    if (!fill()) return ReadOutcome::bad_request;
  }
}

ReadOutcome RequestReader::read_chunked(std::string& out, std::string& error) {
  for (;;) {
    std::string line;
    if (read_line(line) != ReadOutcome::request) return error = "bad chunk header", ReadOutcome::bad_request;
    std::size_t size = 0;
    if (!parse_size(line.substr(0, line.find(';')), 16, size))
      return error = "bad chunk size", ReadOutcome::bad_request;
    if (size == 0) break;
    if (out.size() + size > kMaxBodyBytes) return error = "body too large", ReadOutcome::too_large;
    if (read_exact(size, out) != ReadOutcome::request || read_line(line) != ReadOutcome::request ||
        !line.empty())
      return error = "truncated chunk", ReadOutcome::bad_request;
  }
  for (int trailers = 0; trailers < 64; ++trailers) {  // trailers end with an empty line
    std::string line;
    if (read_line(line) != ReadOutcome::request) return error = "bad trailer", ReadOutcome::bad_request;
    if (line.empty()) return ReadOutcome::request;
  }
  return error = "too many trailers", ReadOutcome::bad_request;
}

ReadOutcome RequestReader::read_body(HttpRequest& req, std::string& error) {
  const std::string* te = req.header("transfer-encoding");
  const std::string* cl = req.header("content-length");
  std::size_t length = 0;
  if (te && !is_chunked(*te)) return error = "unsupported transfer-encoding", ReadOutcome::bad_request;
  if (!te && cl && !parse_size(*cl, 10, length)) return error = "bad content-length", ReadOutcome::bad_request;
  if (length > kMaxBodyBytes) return error = "body too large", ReadOutcome::too_large;
  req.chunked = te != nullptr;
  const std::string* expect = req.header("expect");
  if (expect && iequals(*expect, "100-continue") && req.version == "HTTP/1.1" &&
      (req.chunked || length > 0)) {
    if (!transport_.write_all("HTTP/1.1 100 Continue\r\n\r\n")) return ReadOutcome::closed;
    req.continue_sent = true;
  }
  ReadOutcome got = req.chunked ? read_chunked(req.body, error) : read_exact(length, req.body);
  if (got != ReadOutcome::request && error.empty()) error = "truncated body";
  req.body_wire_bytes = req.body.size();
  return got;
}

ReadOutcome RequestReader::next(HttpRequest& out, std::string& error) {
  out = HttpRequest{};
  std::string head;
  ReadOutcome got = read_head(head);
  if (got == ReadOutcome::too_large) error = "request head too large";
  if (got == ReadOutcome::bad_request) error = "truncated request head";
  if (got != ReadOutcome::request) return got;
  std::vector<std::string_view> lines = head_lines(head);
  if (lines.empty() || !parse_request_line(lines[0], out))
    return error = "bad request line", ReadOutcome::bad_request;
  for (std::size_t i = 1; i < lines.size(); ++i)
    if (!parse_header_line(lines[i], out.headers)) return error = "bad header line", ReadOutcome::bad_request;
  got = read_body(out, error);
  if (got != ReadOutcome::request) return got;
  const std::string* encoding = out.header("content-encoding");
  if (!encoding || iequals(*encoding, "identity")) return ReadOutcome::request;
  out.content_encoding = *encoding;
  if (!iequals(*encoding, "gzip") && !iequals(*encoding, "x-gzip") && !iequals(*encoding, "deflate"))
    return error = "unsupported content-encoding " + *encoding, ReadOutcome::bad_request;
  Result<std::string> plain = gunzip(out.body, kMaxBodyBytes);
  if (!plain) return error = plain.error(), ReadOutcome::bad_request;
  out.body = std::move(*plain);
  return ReadOutcome::request;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Site Overloaded";
    default: return status < 400 ? "OK" : "Error";
  }
}

std::string format_head(int status, const HeaderList& headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  head += "\r\n";
  return head;
}

std::string chunk_frame(std::string_view data) {
  char size[32];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string frame(size, static_cast<std::size_t>(n));
  frame.append(data);
  frame += "\r\n";
  return frame;
}

}  // namespace clawtrace::standin
