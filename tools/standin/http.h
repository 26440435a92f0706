// HTTP/1.1 server side: a byte transport (plain or TLS), a bounded request reader that
// handles keep-alive, Content-Length, chunked bodies, 100-continue and gzip'ed bodies, and
// helpers to frame responses.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clawtrace::standin {

class Transport {
 public:
  virtual ~Transport() = default;
  // Up to n bytes; 0 on orderly close, negative on error or timeout.
  virtual long read_some(char* buf, std::size_t n) = 0;
  virtual bool write_all(std::string_view bytes) = 0;
  // Ends the connection; `clean` sends the TLS close_notify, otherwise it is cut short.
  virtual void close(bool clean) = 0;
  virtual int fd() const = 0;
};

// Takes ownership of a connected socket.
std::unique_ptr<Transport> make_plain_transport(int fd);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string version;
  HeaderList headers;  // names as received
  std::string body;    // after de-chunking and content decoding
  std::size_t body_wire_bytes = 0;  // after de-chunking, before content decoding
  std::string content_encoding;
  bool chunked = false;
  bool continue_sent = false;

  // Value of the first header with this name (any case), or nullptr.
  const std::string* header(std::string_view name) const;
  bool has_header(std::string_view name) const { return header(name) != nullptr; }
  bool wants_close() const;
  bool accepts_gzip() const;
  std::string path() const;   // target without the query
  std::string query() const;  // after '?', or empty
};

enum class ReadOutcome { request, closed, bad_request, too_large };

inline constexpr std::size_t kMaxHeadBytes = 64 * 1024;
inline constexpr std::size_t kMaxBodyBytes = 64 * 1024 * 1024;

class RequestReader {
 public:
  explicit RequestReader(Transport& transport) : transport_(transport) {}
  // Reads the next request of the connection; `error` explains a bad_request/too_large.
  ReadOutcome next(HttpRequest& out, std::string& error);

 private:
  bool fill();
  ReadOutcome read_head(std::string& head);
  ReadOutcome read_body(HttpRequest& req, std::string& error);
  ReadOutcome read_exact(std::size_t n, std::string& out);
  ReadOutcome read_line(std::string& line);
  ReadOutcome read_chunked(std::string& out, std::string& error);

  Transport& transport_;
  std::string buf_;
  std::size_t pos_ = 0;
};

std::string_view reason_phrase(int status);
std::string format_head(int status, const HeaderList& headers);
std::string chunk_frame(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

bool iequals(std::string_view a, std::string_view b);

}  // namespace clawtrace::standin
